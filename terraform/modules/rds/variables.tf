variable "name" {
  description = "Identifier of the DB instance, e.g. churn-production-app."
  type        = string
}

variable "database_name" {
  description = "Name of the database created in the instance (churn for the control plane, mlflow for MLflow's backend store)."
  type        = string
}

variable "master_username" {
  description = "Master user name; its password is generated and kept in Secrets Manager by RDS."
  type        = string
  default     = "churn_admin"
}

variable "engine_version" {
  description = "PostgreSQL version; the project pins major 15 so pg_dump/pg_restore match the app's backups."
  type        = string
  default     = "15.12"

  validation {
    condition     = startswith(var.engine_version, "15.")
    error_message = "The control plane runs on PostgreSQL 15 (its backups use pg_dump 15): give a 15.x version."
  }
}

variable "instance_class" {
  description = "DB instance class."
  type        = string
  default     = "db.m6g.large"
}

variable "allocated_storage_gb" {
  description = "Initial gp3 storage in GiB."
  type        = number
  default     = 50
}

variable "max_allocated_storage_gb" {
  description = "Storage autoscaling ceiling in GiB."
  type        = number
  default     = 500
}

variable "multi_az" {
  description = "Keep a synchronous standby in a second availability zone."
  type        = bool
  default     = true
}

variable "deletion_protection" {
  description = "Refuse to delete the instance until this is switched off."
  type        = bool
  default     = true
}

variable "backup_retention_days" {
  description = "Days of automated backups and point-in-time recovery (35 is the RDS maximum)."
  type        = number
  default     = 35

  validation {
    condition     = var.backup_retention_days >= 7 && var.backup_retention_days <= 35
    error_message = "backup_retention_days must be between 7 and 35."
  }
}

variable "backup_copy_retention_days" {
  description = "Days the cross-region copy of the automated backups is kept."
  type        = number
  default     = 35
}

variable "vpc_id" {
  description = "VPC of the instance."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the DB subnet group (one per availability zone)."
  type        = list(string)
}

variable "client_security_group_ids" {
  description = "Security groups allowed to connect on 5432 (the EKS nodes' or pods' groups)."
  type        = list(string)
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
