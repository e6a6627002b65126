output "environment" {
  description = "The environment this state holds."
  value       = terraform_data.environment.output

  precondition {
    condition     = terraform_data.environment.output == var.environment
    error_message = "This state holds ${terraform_data.environment.output}, but the values given are ${var.environment}'s: nothing was changed. To work on ${var.environment}, use its own working directory (export TF_DATA_DIR=../envs/${var.environment}/.terraform, and tofu init -backend-config=../envs/${var.environment}/backend.hcl), as terraform/README.md shows."
  }
}

output "cluster_name" {
  description = "EKS cluster (aws eks update-kubeconfig --name <this>)."
  value       = module.eks.cluster_name
}

output "app_database_address" {
  description = "Host of the control plane's database."
  value       = module.rds_app.address
}

output "app_database_master_secret_arn" {
  description = "Secrets Manager entry of the app database's managed master password."
  value       = module.rds_app.master_user_secret_arn
}

output "mlflow_database_address" {
  description = "Host of MLflow's backend store."
  value       = module.rds_mlflow.address
}

output "artifacts_bucket" {
  description = "MLflow artifacts bucket."
  value       = module.storage.artifacts_bucket_name
}

output "backups_bucket" {
  description = "The app's BACKUP_S3_BUCKET."
  value       = module.storage.backups_bucket_name
}

output "storage_kms_key_arn" {
  description = "The app's BACKUP_S3_KMS_KEY_ID."
  value       = module.storage.kms_key_arn
}

output "control_plane_secret_name" {
  description = "Secrets Manager entry to fill before the first install (README, \"Deploy to EKS\")."
  value       = module.secrets.control_plane_secret_name
}

output "role_arns" {
  description = "IAM role of each workload, bound by EKS Pod Identity."
  value       = module.iam.role_arns
}

output "certificate_arn" {
  description = "ACM certificate of the host, for the ingress controller's load balancer."
  value       = module.dns.certificate_arn
}
