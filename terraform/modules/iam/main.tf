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

  # What each workload needs, and nothing more: the statements (below) its policy is made of.
  policies = {
    # The control plane loads the Production model's ONNX file and sidecars: read only, artifacts prefix only.
    app = [
      data.aws_iam_policy_document.read_artifacts,
      data.aws_iam_policy_document.list_artifacts,
      data.aws_iam_policy_document.decrypt_through_s3,
    ]
    # Training Jobs log new model versions: read and write artifacts, never delete them.
    trainer = [
      data.aws_iam_policy_document.read_write_artifacts,
      data.aws_iam_policy_document.list_artifacts,
      data.aws_iam_policy_document.encrypt_decrypt_through_s3,
    ]
    # Backups write dumps, WAL and manifests under the backup prefix (pgBackRest expires its own files), and read
    # the artifacts they snapshot. Object Lock retention cannot be shortened: no PutObjectRetention, no bypass.
    backup = [
      data.aws_iam_policy_document.write_backups,
      data.aws_iam_policy_document.list_backups,
      data.aws_iam_policy_document.read_artifacts,
      data.aws_iam_policy_document.list_artifacts,
      data.aws_iam_policy_document.encrypt_decrypt_through_s3,
    ]
    # MLflow with --serve-artifacts proxies every artifact upload, download and deletion.
    mlflow = [
      data.aws_iam_policy_document.manage_artifacts,
      data.aws_iam_policy_document.list_artifacts,
      data.aws_iam_policy_document.encrypt_decrypt_through_s3,
    ]
    # The External Secrets Operator copies the app's secrets into a Kubernetes Secret: read those entries only.
    external_secrets = [
      data.aws_iam_policy_document.read_app_secrets,
      data.aws_iam_policy_document.decrypt_through_secrets_manager,
    ]
  }
  roles = { for k, doc in data.aws_iam_policy_document.role : k => doc.json if !(k == "backup" && var.app_runs_backups) }
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

# Every statement a role may hold, each written once, as a document of its own: the only actions it allows, on
# which bucket and prefix, entries or key. Static blocks, so that checkov reads each statement (it cannot see
# through for_each or dynamic blocks); the roles' policies are merged from them.
data "aws_iam_policy_document" "read_artifacts" {
  statement {
    sid       = "ReadArtifacts"
    actions   = ["s3:GetObject"]
    resources = [local.artifacts_objects]
  }
}

data "aws_iam_policy_document" "read_write_artifacts" {
  statement {
    sid       = "ReadWriteArtifacts"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = [local.artifacts_objects]
  }
}

data "aws_iam_policy_document" "manage_artifacts" {
  statement {
    sid       = "ManageArtifacts"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = [local.artifacts_objects]
  }
}

data "aws_iam_policy_document" "list_artifacts" {
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
}

data "aws_iam_policy_document" "write_backups" {
  statement {
    sid       = "WriteBackups"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = [local.backups_objects]
  }
}

data "aws_iam_policy_document" "list_backups" {
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
}

data "aws_iam_policy_document" "decrypt_through_s3" {
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

data "aws_iam_policy_document" "encrypt_decrypt_through_s3" {
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

data "aws_iam_policy_document" "read_app_secrets" {
  statement {
    sid       = "ReadAppSecrets"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = var.app_secret_arns
  }
}

data "aws_iam_policy_document" "decrypt_through_secrets_manager" {
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

data "aws_iam_policy_document" "role" {
  for_each                = local.policies
  source_policy_documents = [for statement in each.value : statement.json]
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
  policy = data.aws_iam_policy_document.role["backup"].json
}

resource "aws_eks_pod_identity_association" "this" {
  for_each        = local.roles
  cluster_name    = var.cluster_name
  namespace       = local.namespaces[each.key]
  service_account = var.service_accounts[each.key]
  role_arn        = aws_iam_role.this[each.key].arn
  tags            = var.tags
}
