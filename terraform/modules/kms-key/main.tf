data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_arn = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}"
  log_arn     = "arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}"
}

# A key policy's "*" resource is the key itself; the account root keeps kms:* so the key can never become
# unmanageable (AWS's default key policy). Access for workloads is granted by IAM roles, not here.
data "aws_iam_policy_document" "this" {
  #checkov:skip=CKV_AWS_109:key policy: "*" is this key; root administration is AWS's default key policy
  #checkov:skip=CKV_AWS_111:key policy: "*" is this key; root administration is AWS's default key policy
  #checkov:skip=CKV_AWS_356:key policy: "*" is this key; root administration is AWS's default key policy
  source_policy_documents = data.aws_iam_policy_document.cloudwatch_logs[*].json
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["${local.account_arn}:root"]
    }
  }
}

# CloudWatch Logs encrypts the named log groups with the key, and no other. A document of its own (not a
# dynamic block) so that checkov reads the statement.
data "aws_iam_policy_document" "cloudwatch_logs" {
  #checkov:skip=CKV_AWS_109:key policy: "*" is this key; CloudWatch Logs may use it for the named log groups only
  #checkov:skip=CKV_AWS_111:key policy: "*" is this key; CloudWatch Logs may use it for the named log groups only
  #checkov:skip=CKV_AWS_356:key policy: "*" is this key; CloudWatch Logs may use it for the named log groups only
  count = length(var.log_group_names) > 0 ? 1 : 0
  statement {
    sid       = "CloudWatchLogsUsesKeyForItsLogGroups"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${data.aws_region.current.region}.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = [for group in var.log_group_names : "${local.log_arn}:log-group:${group}"]
    }
  }
}

resource "aws_kms_key" "this" {
  description         = var.description
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.this.json
  tags                = var.tags
}
