# Plan-only tests with a mocked AWS provider: no credentials, no network.
mock_provider "aws" {
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
  mock_resource "aws_kms_key" {
    defaults = {
      arn = "arn:aws:kms:eu-west-1:111122223333:key/00000000-0000-0000-0000-000000000003"
    }
  }
  mock_resource "aws_s3_bucket" {
    defaults = {
      arn = "arn:aws:s3:::mocked"
    }
  }
}

variables {
  name = "churn-test"
}

run "buckets_are_private_versioned_and_encrypted" {
  command = plan

  assert {
    condition     = alltrue([for b in aws_s3_bucket_public_access_block.this : b.block_public_acls && b.block_public_policy && b.ignore_public_acls && b.restrict_public_buckets])
    error_message = "Every bucket must block all public access."
  }
  assert {
    condition     = length(aws_s3_bucket_public_access_block.this) == length(aws_s3_bucket.this) && length(aws_s3_bucket.this) == 2
    error_message = "Both buckets (artifacts, backups) must have a public access block."
  }
  assert {
    condition     = alltrue([for o in aws_s3_bucket_ownership_controls.this : o.rule[0].object_ownership == "BucketOwnerEnforced"])
    error_message = "ACLs must be disabled (BucketOwnerEnforced)."
  }
  assert {
    condition     = alltrue([for v in aws_s3_bucket_versioning.this : v.versioning_configuration[0].status == "Enabled"])
    error_message = "Every bucket must be versioned."
  }
  assert {
    condition = alltrue([for e in aws_s3_bucket_server_side_encryption_configuration.this :
      one(e.rule).apply_server_side_encryption_by_default[0].sse_algorithm == "aws:kms" &&
    one(e.rule).apply_server_side_encryption_by_default[0].kms_master_key_id == module.key.arn])
    error_message = "Every bucket must default to SSE-KMS with the module's key."
  }
}

run "tls_is_enforced" {
  command = plan

  assert {
    condition = alltrue([for d in data.aws_iam_policy_document.bucket : anytrue([for s in d.statement :
      s.effect == "Deny" && contains(s.actions, "s3:*") &&
    anytrue([for c in s.condition : c.variable == "aws:SecureTransport" && contains(c.values, "false")])])])
    error_message = "Every bucket policy must deny requests without TLS."
  }
  assert {
    condition     = alltrue([for d in data.aws_iam_policy_document.bucket : alltrue([for s in d.statement : s.effect == "Deny"])])
    error_message = "The bucket policies only deny; access is granted by the IAM roles."
  }
}

run "backups_lifecycle_and_object_lock" {
  command = plan

  assert {
    condition     = aws_s3_bucket.this["backups"].object_lock_enabled && !aws_s3_bucket.this["artifacts"].object_lock_enabled
    error_message = "Object Lock on the backups bucket (its manifests must be immutable)."
  }
  assert {
    condition     = aws_s3_bucket_object_lock_configuration.backups.rule[0].default_retention[0].days == 90
    error_message = "Backup objects, manifests included, are locked for 90 days."
  }
  assert {
    condition     = anytrue([for r in aws_s3_bucket_lifecycle_configuration.backups.rule : r.status == "Enabled" && try(r.expiration[0].days, 0) == 90])
    error_message = "Backups must expire after 90 days."
  }
  assert {
    condition = alltrue([for lc in [aws_s3_bucket_lifecycle_configuration.backups, aws_s3_bucket_lifecycle_configuration.artifacts] :
    anytrue([for r in lc.rule : try(r.abort_incomplete_multipart_upload[0].days_after_initiation, 0) == 7])])
    error_message = "Both buckets must abort incomplete multipart uploads."
  }
}

run "refuses_backups_shorter_than_pitr" {
  command = plan
  variables {
    backup_retention_days = 30
  }
  expect_failures = [var.backup_retention_days]
}
