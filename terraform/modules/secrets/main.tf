data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

data "aws_iam_policy_document" "key" {
  # A key policy's "*" resource is the key itself; the account root keeps kms:* so the key can never become
  # unmanageable (AWS's default key policy). Access for workloads is granted by IAM roles, not here.
  #checkov:skip=CKV_AWS_109:key policy: "*" is this key; root administration is AWS's default key policy
  #checkov:skip=CKV_AWS_111:key policy: "*" is this key; root administration is AWS's default key policy
  #checkov:skip=CKV_AWS_356:key policy: "*" is this key; root administration is AWS's default key policy
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
}

resource "aws_kms_key" "this" {
  description         = "${var.name}: Secrets Manager entries of the app"
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.key.json
  tags                = var.tags
}

# One JSON entry with the keys the chart's ExternalSecret maps into the app's Secret: DATABASE_URL,
# BOOTSTRAP_ADMIN_API_KEY, PII_HASH_KEY, AUDIT_HMAC_KEY and WEBHOOK_SECRET. Values are put by the operator
# (README, "Deploy to EKS"), so no secret ever lands in the state file.
resource "aws_secretsmanager_secret" "control_plane" {
  #checkov:skip=CKV2_AWS_57:operator-held keys (the PII hash key cannot rotate without re-hashing stored data); the RDS master password is rotated by RDS
  name                    = "${var.name}/control-plane"
  description             = "Secrets of the churn control plane (JSON: DATABASE_URL, BOOTSTRAP_ADMIN_API_KEY, PII_HASH_KEY, AUDIT_HMAC_KEY, WEBHOOK_SECRET)"
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = var.recovery_window_days
  tags                    = var.tags
}

# MLflow's backend store URI and its basic-auth admin password.
resource "aws_secretsmanager_secret" "mlflow" {
  #checkov:skip=CKV2_AWS_57:operator-held keys (the PII hash key cannot rotate without re-hashing stored data); the RDS master password is rotated by RDS
  name                    = "${var.name}/mlflow"
  description             = "Secrets of the MLflow tracking server (JSON: MLFLOW_BACKEND_STORE_URI, MLFLOW_AUTH_ADMIN_PASSWORD)"
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = var.recovery_window_days
  tags                    = var.tags
}
