output "role_arns" {
  description = "Role ARN of each workload: app, trainer, mlflow, external_secrets, and backup unless app_runs_backups."
  value       = { for k, r in aws_iam_role.this : k => r.arn }
}

output "policy_documents" {
  description = "The inline policy of each role, as JSON (asserted by the tests)."
  value       = local.roles
}
