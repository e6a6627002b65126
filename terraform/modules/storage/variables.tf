variable "name" {
  description = "Name prefix of every resource, e.g. churn-production; the buckets are <name>-artifacts-<account id> and <name>-backups-<account id>."
  type        = string
}

variable "backup_retention_days" {
  description = "Days a backup object (dump, WAL, artifact snapshot, manifest) is kept; the app's BACKUP_S3_RETENTION_DAYS must match."
  type        = number
  default     = 90

  validation {
    condition     = var.backup_retention_days >= 35
    error_message = "Keep backups at least 35 days, as long as the database's point-in-time recovery window."
  }
}

variable "backup_prefix" {
  description = "Key prefix of every backup object (the app's BACKUP_S3_PREFIX); manifests live under <prefix>/manifests/."
  type        = string
  default     = "churn-control-plane"
}

variable "manifest_lock_days" {
  description = "Object Lock (governance mode) retention of each backup object version, in days; manifests cannot be overwritten or deleted for that long."
  type        = number
  default     = 90
}

variable "noncurrent_artifact_days" {
  description = "Days an overwritten or deleted MLflow artifact version is kept before it expires."
  type        = number
  default     = 30
}

variable "force_destroy" {
  description = "Let tofu destroy non-empty buckets. Keep false outside throwaway environments."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
