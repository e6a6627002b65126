output "release_name" {
  description = "Name of the Helm release."
  value       = helm_release.this.name
}

output "namespace" {
  description = "Namespace of the release."
  value       = helm_release.this.namespace
}

output "chart_version" {
  description = "Version of the chart that was installed."
  value       = helm_release.this.metadata.version
}
