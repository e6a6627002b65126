output "arn" {
  description = "ARN of the key."
  value       = aws_kms_key.this.arn
}

output "key_id" {
  description = "ID of the key (for aliases)."
  value       = aws_kms_key.this.key_id
}
