# Plan-only tests with a mocked AWS provider: the policy documents' statements are configuration, so their
# actions, resources and conditions are asserted as written. local.policies holds each role's statement
# documents (one statement each); the role's policy is merged from exactly those.
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

  # The whole table, so that a change to any role's statements is a change to this test as well.
  assert {
    condition = jsonencode({ for role, docs in local.policies : role => [for s in flatten(docs[*].statement) :
      [s.sid, sort(s.actions), sort(s.resources), [for c in s.condition : [c.test, c.variable, c.values]]]] }) == jsonencode({
      app = [
        ["ReadArtifacts", ["s3:GetObject"], ["arn:aws:s3:::churn-test-artifacts/mlflow-artifacts/*"], []],
        ["ListArtifacts", ["s3:ListBucket"], ["arn:aws:s3:::churn-test-artifacts"], [["StringLike", "s3:prefix", ["mlflow-artifacts/*"]]]],
        ["DecryptThroughS3", ["kms:Decrypt"], ["arn:aws:kms:eu-west-1:111122223333:key/storage"], [["StringEquals", "kms:ViaService", ["s3.eu-west-1.amazonaws.com"]]]],
      ]
      trainer = [
        ["ReadWriteArtifacts", ["s3:GetObject", "s3:PutObject"], ["arn:aws:s3:::churn-test-artifacts/mlflow-artifacts/*"], []],
        ["ListArtifacts", ["s3:ListBucket"], ["arn:aws:s3:::churn-test-artifacts"], [["StringLike", "s3:prefix", ["mlflow-artifacts/*"]]]],
        ["EncryptDecryptThroughS3", ["kms:Decrypt", "kms:GenerateDataKey"], ["arn:aws:kms:eu-west-1:111122223333:key/storage"], [["StringEquals", "kms:ViaService", ["s3.eu-west-1.amazonaws.com"]]]],
      ]
      backup = [
        ["WriteBackups", ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"], ["arn:aws:s3:::churn-test-backups/churn-control-plane/*"], []],
        ["ListBackups", ["s3:ListBucket"], ["arn:aws:s3:::churn-test-backups"], [["StringLike", "s3:prefix", ["churn-control-plane/*"]]]],
        ["ReadArtifacts", ["s3:GetObject"], ["arn:aws:s3:::churn-test-artifacts/mlflow-artifacts/*"], []],
        ["ListArtifacts", ["s3:ListBucket"], ["arn:aws:s3:::churn-test-artifacts"], [["StringLike", "s3:prefix", ["mlflow-artifacts/*"]]]],
        ["EncryptDecryptThroughS3", ["kms:Decrypt", "kms:GenerateDataKey"], ["arn:aws:kms:eu-west-1:111122223333:key/storage"], [["StringEquals", "kms:ViaService", ["s3.eu-west-1.amazonaws.com"]]]],
      ]
      mlflow = [
        ["ManageArtifacts", ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"], ["arn:aws:s3:::churn-test-artifacts/mlflow-artifacts/*"], []],
        ["ListArtifacts", ["s3:ListBucket"], ["arn:aws:s3:::churn-test-artifacts"], [["StringLike", "s3:prefix", ["mlflow-artifacts/*"]]]],
        ["EncryptDecryptThroughS3", ["kms:Decrypt", "kms:GenerateDataKey"], ["arn:aws:kms:eu-west-1:111122223333:key/storage"], [["StringEquals", "kms:ViaService", ["s3.eu-west-1.amazonaws.com"]]]],
      ]
      external_secrets = [
        ["ReadAppSecrets", ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"], ["arn:aws:secretsmanager:eu-west-1:111122223333:secret:churn/test/control-plane"], []],
        ["DecryptThroughSecretsManager", ["kms:Decrypt"], ["arn:aws:kms:eu-west-1:111122223333:key/secrets"], [["StringEquals", "kms:ViaService", ["secretsmanager.eu-west-1.amazonaws.com"]]]],
      ]
    })
    error_message = "Each role holds exactly its statements: these actions on these buckets, prefixes, entries and keys, under these conditions."
  }
  assert {
    condition     = alltrue([for role, docs in local.policies : data.aws_iam_policy_document.role[role].source_policy_documents == tolist(docs[*].json)])
    error_message = "Each role's policy is merged from its statement documents and nothing else."
  }
  assert {
    condition = alltrue([for d in flatten(values(local.policies)) :
    length(d.statement) == 1 && !anytrue([for a in one(d.statement).actions : strcontains(a, "*")]) && !contains(one(d.statement).resources, "*")])
    error_message = "Every statement document holds one statement, with no wildcard action and no \"*\" resource."
  }
  assert {
    condition     = alltrue([for s in flatten(local.policies.app[*].statement) : alltrue([for a in s.actions : contains(["s3:GetObject", "s3:ListBucket", "kms:Decrypt"], a)])])
    error_message = "The app only reads artifacts."
  }
  assert {
    condition = alltrue([for s in flatten([for role in ["app", "trainer", "mlflow"] : local.policies[role][*].statement]) :
    s.resources == toset(["arn:aws:s3:::churn-test-artifacts/mlflow-artifacts/*"]) if contains(s.actions, "s3:GetObject")])
    error_message = "Artifact object access is limited to the artifacts prefix."
  }
  assert {
    condition     = alltrue([for s in flatten([for role in ["app", "trainer", "backup", "mlflow"] : local.policies[role][*].statement]) : length(s.condition) == 1 && one(s.condition).variable == "s3:prefix" if contains(s.actions, "s3:ListBucket")])
    error_message = "Every ListBucket is limited by an s3:prefix condition."
  }
  assert {
    condition     = alltrue([for s in flatten([for role in ["app", "trainer", "backup", "mlflow"] : local.policies[role][*].statement]) : one(s.condition).variable == "kms:ViaService" if anytrue([for a in s.actions : startswith(a, "kms:")])])
    error_message = "KMS use is only through S3."
  }
  assert {
    condition     = !anytrue([for s in flatten(local.policies.trainer[*].statement) : contains(s.actions, "s3:DeleteObject")])
    error_message = "Training Jobs never delete artifacts."
  }
  assert {
    condition = anytrue([for s in flatten(local.policies.backup[*].statement) :
    s.resources == toset(["arn:aws:s3:::churn-test-backups/churn-control-plane/*"]) && contains(s.actions, "s3:PutObject")])
    error_message = "Backups write under their prefix of the backups bucket only."
  }
  assert {
    condition = !anytrue([for s in flatten([for d in flatten(values(local.policies)) : d.statement]) :
    contains(s.actions, "s3:PutObjectRetention") || contains(s.actions, "s3:BypassGovernanceRetention")])
    error_message = "No role may shorten or bypass Object Lock."
  }
  assert {
    condition     = one([for s in flatten(local.policies.external_secrets[*].statement) : s.resources if contains(s.actions, "secretsmanager:GetSecretValue")]) == toset(var.app_secret_arns)
    error_message = "The External Secrets Operator reads the app's entries and nothing else."
  }
  assert {
    condition     = toset(keys(aws_eks_pod_identity_association.this)) == toset(["app", "trainer", "mlflow", "external_secrets"]) && alltrue([for a in aws_eks_pod_identity_association.this : a.cluster_name == "churn-test"])
    error_message = "Each role is bound to exactly one service account through EKS Pod Identity."
  }
  assert {
    condition     = length(aws_iam_role_policy.app_backups) == 1 && aws_eks_pod_identity_association.this["app"].service_account == "churn-churn-control-plane" && aws_iam_role_policy.app_backups[0].policy == data.aws_iam_policy_document.role["backup"].json
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
