output "control_plane_secret_arn" {
  description = "ARN of the app's entry (the chart's secrets.externalSecret.remoteKey is its name)."
  value       = aws_secretsmanager_secret.control_plane.arn
}

output "control_plane_secret_name" {
  description = "Name of the app's entry."
  value       = aws_secretsmanager_secret.control_plane.name
}

output "mlflow_secret_arn" {
  description = "ARN of MLflow's entry."
  value       = aws_secretsmanager_secret.mlflow.arn
}

output "kms_key_arn" {
  description = "KMS key of the entries."
  value       = module.key.arn
}
