output "address" {
  description = "Host name of the instance (the primary; Multi-AZ fails over behind it)."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "PostgreSQL port."
  value       = aws_db_instance.this.port
}

output "database_name" {
  description = "Name of the database created in the instance."
  value       = aws_db_instance.this.db_name
}

output "instance_arn" {
  description = "ARN of the DB instance."
  value       = aws_db_instance.this.arn
}

output "master_user_secret_arn" {
  description = "Secrets Manager secret holding the managed master password (RDS rotates it)."
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
}

output "security_group_id" {
  description = "Security group of the instance."
  value       = aws_security_group.this.id
}

output "kms_key_arn" {
  description = "KMS key of the instance's storage and master password secret."
  value       = module.key.arn
}
