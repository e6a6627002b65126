module "key" {
  source      = "../kms-key"
  description = "${var.name}: Secrets Manager entries of the app"
  tags        = var.tags
}

moved {
  from = aws_kms_key.this
  to   = module.key.aws_kms_key.this
}

# One JSON entry with the keys the chart's ExternalSecret maps into the app's Secret: DATABASE_URL,
# BOOTSTRAP_ADMIN_API_KEY, PII_HASH_KEY, AUDIT_HMAC_KEY and WEBHOOK_SECRET. Values are put by the operator
# (README, "Deploy to EKS"), so no secret ever lands in the state file.
resource "aws_secretsmanager_secret" "control_plane" {
  #checkov:skip=CKV2_AWS_57:operator-held keys (the PII hash key cannot rotate without re-hashing stored data); the RDS master password is rotated by RDS
  name                    = "${var.name}/control-plane"
  description             = "Secrets of the churn control plane (JSON: DATABASE_URL, BOOTSTRAP_ADMIN_API_KEY, PII_HASH_KEY, AUDIT_HMAC_KEY, WEBHOOK_SECRET)"
  kms_key_id              = module.key.arn
  recovery_window_in_days = var.recovery_window_days
  tags                    = var.tags
}

# MLflow's backend store URI and its basic-auth admin password.
resource "aws_secretsmanager_secret" "mlflow" {
  #checkov:skip=CKV2_AWS_57:operator-held keys (the PII hash key cannot rotate without re-hashing stored data); the RDS master password is rotated by RDS
  name                    = "${var.name}/mlflow"
  description             = "Secrets of the MLflow tracking server (JSON: MLFLOW_BACKEND_STORE_URI, MLFLOW_AUTH_ADMIN_PASSWORD)"
  kms_key_id              = module.key.arn
  recovery_window_in_days = var.recovery_window_days
  tags                    = var.tags
}
