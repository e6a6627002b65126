variable "description" {
  description = "What the key encrypts, e.g. \"churn-production: VPC flow logs\"."
  type        = string
}

variable "log_group_names" {
  description = "CloudWatch Logs groups (names, in the provider's region) that may be encrypted with the key; empty grants CloudWatch Logs nothing."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags added to the key."
  type        = map(string)
  default     = {}
}
