# Plan-only tests with a mocked AWS provider: the policy documents' statements are configuration, so their
# actions, resources and conditions are asserted as written.
mock_provider "aws" {
  mock_data "aws_region" {
    defaults = {
      region = "eu-west-1"
    }
  }
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "111122223333"
    }
  }
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
}

variables {
  name                 = "churn-test"
  cluster_name         = "churn-test"
  artifacts_bucket_arn = "arn:aws:s3:::churn-test-artifacts"
  backups_bucket_arn   = "arn:aws:s3:::churn-test-backups"
  storage_kms_key_arn  = "arn:aws:kms:eu-west-1:111122223333:key/storage"
  app_secret_arns      = ["arn:aws:secretsmanager:eu-west-1:111122223333:secret:churn/test/control-plane"]
  secret_kms_key_arns  = ["arn:aws:kms:eu-west-1:111122223333:key/secrets"]
}

run "least_privilege" {
  command = plan

  assert {
    condition = alltrue(flatten([for d in [data.aws_iam_policy_document.app, data.aws_iam_policy_document.trainer, data.aws_iam_policy_document.backup, data.aws_iam_policy_document.mlflow, data.aws_iam_policy_document.external_secrets] :
    [for s in d.statement : !anytrue([for a in s.actions : strcontains(a, "*")]) && !contains(s.resources, "*")]]))
    error_message = "No wildcard action and no \"*\" resource in any role."
  }
  assert {
    condition = alltrue([for s in data.aws_iam_policy_document.app.statement :
    alltrue([for a in s.actions : contains(["s3:GetObject", "s3:ListBucket", "kms:Decrypt"], a)])])
    error_message = "The app only reads artifacts."
  }
  assert {
    condition = alltrue(flatten([for d in [data.aws_iam_policy_document.app, data.aws_iam_policy_document.trainer, data.aws_iam_policy_document.mlflow] :
      [for s in d.statement : s.resources == toset(["arn:aws:s3:::churn-test-artifacts/mlflow-artifacts/*"])
    if contains(s.actions, "s3:GetObject")]]))
    error_message = "Artifact object access is limited to the artifacts prefix."
  }
  assert {
    condition = alltrue(flatten([for d in [data.aws_iam_policy_document.app, data.aws_iam_policy_document.trainer, data.aws_iam_policy_document.backup, data.aws_iam_policy_document.mlflow] :
      [for s in d.statement : length(s.condition) == 1 && one(s.condition).variable == "s3:prefix"
    if contains(s.actions, "s3:ListBucket")]]))
    error_message = "Every ListBucket is limited by an s3:prefix condition."
  }
  assert {
    condition = alltrue(flatten([for d in [data.aws_iam_policy_document.app, data.aws_iam_policy_document.trainer, data.aws_iam_policy_document.backup, data.aws_iam_policy_document.mlflow] :
      [for s in d.statement : one(s.condition).variable == "kms:ViaService"
    if anytrue([for a in s.actions : startswith(a, "kms:")])]]))
    error_message = "KMS use is only through S3."
  }
  assert {
    condition     = !anytrue([for s in data.aws_iam_policy_document.trainer.statement : contains(s.actions, "s3:DeleteObject")])
    error_message = "Training Jobs never delete artifacts."
  }
  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.backup.statement :
    s.resources == toset(["arn:aws:s3:::churn-test-backups/churn-control-plane/*"]) && contains(s.actions, "s3:PutObject")])
    error_message = "Backups write under their prefix of the backups bucket only."
  }
  assert {
    condition = !anytrue(flatten([for d in [data.aws_iam_policy_document.app, data.aws_iam_policy_document.trainer, data.aws_iam_policy_document.backup, data.aws_iam_policy_document.mlflow, data.aws_iam_policy_document.external_secrets] :
    [for s in d.statement : contains(s.actions, "s3:PutObjectRetention") || contains(s.actions, "s3:BypassGovernanceRetention")]]))
    error_message = "No role may shorten or bypass Object Lock."
  }
  assert {
    condition     = one([for s in data.aws_iam_policy_document.external_secrets.statement : s.resources if contains(s.actions, "secretsmanager:GetSecretValue")]) == toset(var.app_secret_arns)
    error_message = "The External Secrets Operator reads the app's entries and nothing else."
  }
  assert {
    condition     = toset(keys(aws_eks_pod_identity_association.this)) == toset(["app", "trainer", "mlflow", "external_secrets"]) && alltrue([for a in aws_eks_pod_identity_association.this : a.cluster_name == "churn-test"])
    error_message = "Each role is bound to exactly one service account through EKS Pod Identity."
  }
  assert {
    condition     = length(aws_iam_role_policy.app_backups) == 1 && aws_eks_pod_identity_association.this["app"].service_account == "churn-churn-control-plane"
    error_message = "In-process backups: the app's role (the chart's service account) carries the backup policy."
  }
}

run "separate_backup_role" {
  command = plan
  variables {
    app_runs_backups = false
  }
  assert {
    condition     = length(aws_iam_role_policy.app_backups) == 0 && aws_eks_pod_identity_association.this["backup"].service_account == "churn-churn-control-plane-backup"
    error_message = "A separate backup role, bound to the backup service account."
  }
}
