variable "name" {
  description = "Name prefix of the roles, e.g. churn-production."
  type        = string
}

variable "cluster_name" {
  description = "EKS cluster whose service accounts get the roles through EKS Pod Identity."
  type        = string
}

variable "namespace" {
  description = "Kubernetes namespace of the release."
  type        = string
  default     = "churn"
}

variable "service_accounts" {
  description = "Kubernetes service account of each role; the defaults are the chart's names for the release \"churn\" (<release>-churn-control-plane[-trainer|-mlflow])."
  type = object({
    app              = optional(string, "churn-churn-control-plane")
    trainer          = optional(string, "churn-churn-control-plane-trainer")
    backup           = optional(string, "churn-churn-control-plane-backup")
    mlflow           = optional(string, "churn-churn-control-plane-mlflow")
    external_secrets = optional(string, "external-secrets")
  })
  default = {}
}

variable "app_runs_backups" {
  description = "The control plane takes the backups in-process (its backup module): the backup policy is attached to the app's role and no separate backup role is made. False makes a backup role for service_accounts.backup."
  type        = bool
  default     = true
}

variable "external_secrets_namespace" {
  description = "Namespace of the External Secrets Operator."
  type        = string
  default     = "external-secrets"
}

variable "artifacts_bucket_arn" {
  description = "ARN of the MLflow artifacts bucket."
  type        = string
}

variable "artifacts_prefix" {
  description = "Key prefix of MLflow's artifacts in the artifacts bucket (MLflow's --artifacts-destination path)."
  type        = string
  default     = "mlflow-artifacts"
}

variable "backups_bucket_arn" {
  description = "ARN of the backups bucket."
  type        = string
}

variable "backup_prefix" {
  description = "Key prefix of every backup object (the app's BACKUP_S3_PREFIX)."
  type        = string
  default     = "churn-control-plane"
}

variable "storage_kms_key_arn" {
  description = "KMS key of both buckets."
  type        = string
}

variable "app_secret_arns" {
  description = "Secrets Manager entries the External Secrets Operator may read (the app's secret and the RDS master secrets)."
  type        = list(string)
}

variable "secret_kms_key_arns" {
  description = "KMS keys of those secrets."
  type        = list(string)
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
