output "artifacts_bucket_name" {
  description = "Bucket of MLflow's artifacts (models, ONNX files, sidecars)."
  value       = aws_s3_bucket.this["artifacts"].id
}

output "artifacts_bucket_arn" {
  description = "ARN of the artifacts bucket."
  value       = aws_s3_bucket.this["artifacts"].arn
}

output "backups_bucket_name" {
  description = "Bucket of the off-site backups (the app's BACKUP_S3_BUCKET)."
  value       = aws_s3_bucket.this["backups"].id
}

output "backups_bucket_arn" {
  description = "ARN of the backups bucket."
  value       = aws_s3_bucket.this["backups"].arn
}

output "backup_prefix" {
  description = "Key prefix of every backup object (the app's BACKUP_S3_PREFIX)."
  value       = var.backup_prefix
}

output "kms_key_arn" {
  description = "KMS key of both buckets (the app's BACKUP_S3_KMS_KEY_ID)."
  value       = module.key.arn
}
