data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  artifacts_objects = "${var.artifacts_bucket_arn}/${var.artifacts_prefix}/*"
  backups_objects   = "${var.backups_bucket_arn}/${var.backup_prefix}/*"
  s3_via            = "s3.${data.aws_region.current.region}.amazonaws.com"
  namespaces = {
    app              = var.namespace
    trainer          = var.namespace
    backup           = var.namespace
    mlflow           = var.namespace
    external_secrets = var.external_secrets_namespace
  }
  all_roles = {
    app              = data.aws_iam_policy_document.app.json
    trainer          = data.aws_iam_policy_document.trainer.json
    backup           = data.aws_iam_policy_document.backup.json
    mlflow           = data.aws_iam_policy_document.mlflow.json
    external_secrets = data.aws_iam_policy_document.external_secrets.json
  }
  roles = { for k, v in local.all_roles : k => v if !(k == "backup" && var.app_runs_backups) }
}

# EKS Pod Identity: the agent assumes the role for the associated service account only.
data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole", "sts:TagSession"]
    principals {
      type        = "Service"
      identifiers = ["pods.eks.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

# The control plane loads the Production model's ONNX file and sidecars: read only, artifacts prefix only.
data "aws_iam_policy_document" "app" {
  statement {
    sid       = "ReadModelArtifacts"
    actions   = ["s3:GetObject"]
    resources = [local.artifacts_objects]
  }
  statement {
    sid       = "ListModelArtifacts"
    actions   = ["s3:ListBucket"]
    resources = [var.artifacts_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.artifacts_prefix}/*"]
    }
  }
  statement {
    sid       = "DecryptThroughS3"
    actions   = ["kms:Decrypt"]
    resources = [var.storage_kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.s3_via]
    }
  }
}

# Training Jobs log new model versions: read and write artifacts, never delete them.
data "aws_iam_policy_document" "trainer" {
  statement {
    sid       = "ReadWriteModelArtifacts"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = [local.artifacts_objects]
  }
  statement {
    sid       = "ListModelArtifacts"
    actions   = ["s3:ListBucket"]
    resources = [var.artifacts_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.artifacts_prefix}/*"]
    }
  }
  statement {
    sid       = "EncryptDecryptThroughS3"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.storage_kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.s3_via]
    }
  }
}

# Backups write dumps, WAL and manifests under the backup prefix (pgBackRest expires its own files), and read
# the artifacts they snapshot. Object Lock retention cannot be shortened: no PutObjectRetention, no bypass.
data "aws_iam_policy_document" "backup" {
  statement {
    sid       = "WriteBackups"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = [local.backups_objects]
  }
  statement {
    sid       = "ListBackups"
    actions   = ["s3:ListBucket"]
    resources = [var.backups_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.backup_prefix}/*"]
    }
  }
  statement {
    sid       = "SnapshotArtifacts"
    actions   = ["s3:GetObject"]
    resources = [local.artifacts_objects]
  }
  statement {
    sid       = "ListArtifacts"
    actions   = ["s3:ListBucket"]
    resources = [var.artifacts_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.artifacts_prefix}/*"]
    }
  }
  statement {
    sid       = "EncryptDecryptThroughS3"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.storage_kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.s3_via]
    }
  }
}

# MLflow with --serve-artifacts proxies every artifact upload, download and deletion.
data "aws_iam_policy_document" "mlflow" {
  statement {
    sid       = "ManageArtifacts"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = [local.artifacts_objects]
  }
  statement {
    sid       = "ListArtifacts"
    actions   = ["s3:ListBucket"]
    resources = [var.artifacts_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.artifacts_prefix}/*"]
    }
  }
  statement {
    sid       = "EncryptDecryptThroughS3"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.storage_kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.s3_via]
    }
  }
}

# The External Secrets Operator copies the app's secrets into a Kubernetes Secret: read those entries only.
data "aws_iam_policy_document" "external_secrets" {
  statement {
    sid       = "ReadAppSecrets"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = var.app_secret_arns
  }
  statement {
    sid       = "DecryptThroughSecretsManager"
    actions   = ["kms:Decrypt"]
    resources = var.secret_kms_key_arns
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${data.aws_region.current.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  for_each           = local.roles
  name               = "${var.name}-${replace(each.key, "_", "-")}"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "this" {
  for_each = local.roles
  name     = "least-privilege"
  role     = aws_iam_role.this[each.key].id
  policy   = each.value
}

# In-process backups: the same least-privilege backup statements, as a second policy of the app's role.
resource "aws_iam_role_policy" "app_backups" {
  count  = var.app_runs_backups ? 1 : 0
  name   = "backups"
  role   = aws_iam_role.this["app"].id
  policy = data.aws_iam_policy_document.backup.json
}

resource "aws_eks_pod_identity_association" "this" {
  for_each        = local.roles
  cluster_name    = var.cluster_name
  namespace       = local.namespaces[each.key]
  service_account = var.service_accounts[each.key]
  role_arn        = aws_iam_role.this[each.key].arn
  tags            = var.tags
}
