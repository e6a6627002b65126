variable "release_name" {
  description = "Helm release name."
  type        = string
  default     = "churn"
}

variable "namespace" {
  description = "Kubernetes namespace of the release (the IAM module's Pod Identity associations use the same)."
  type        = string
  default     = "churn"
}

variable "chart_path" {
  description = "Path of the chart; defaults to this repository's helm/churn-control-plane, or give a packaged chart's path."
  type        = string
  default     = null
}

variable "image_tag" {
  description = "Control plane image tag; empty takes the chart's appVersion."
  type        = string
  default     = ""
}

variable "host" {
  description = "Host name of the ingress."
  type        = string
}

variable "ingress_class_name" {
  description = "IngressClass that serves the host."
  type        = string
  default     = "nginx"
}

variable "ingress_tls" {
  description = "In-cluster TLS of the ingress (the chart serves TLS only): a cert-manager ClusterIssuer, or an existing TLS Secret; the ACM certificate sits on the load balancer in front."
  type = object({
    cluster_issuer  = optional(string, "")
    existing_secret = optional(string, "")
  })

  validation {
    condition     = (var.ingress_tls.cluster_issuer == "") != (var.ingress_tls.existing_secret == "")
    error_message = "Set exactly one of ingress_tls.cluster_issuer and ingress_tls.existing_secret."
  }
}

variable "secret_name" {
  description = "Secrets Manager entry the chart's ExternalSecret reads (the secrets module's control_plane_secret_name)."
  type        = string
}

variable "postgres_cidrs" {
  description = "Address ranges of the database, for the chart's NetworkPolicy egress rule (the VPC's CIDR)."
  type        = list(string)
}

variable "extra_values" {
  description = "Further values files' contents (YAML strings), applied after the ones this module sets."
  type        = list(string)
  default     = []
}

variable "timeout_seconds" {
  description = "How long Helm waits for the release (migrations hook included) to become ready."
  type        = number
  default     = 900
}
