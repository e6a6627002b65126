variable "zone_name" {
  description = "Existing public Route53 hosted zone, e.g. example.com."
  type        = string
}

variable "host" {
  description = "Host name the control plane is served on, inside zone_name, e.g. churn.example.com."
  type        = string
}

variable "subject_alternative_names" {
  description = "Further names on the certificate (e.g. the MLflow host)."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
