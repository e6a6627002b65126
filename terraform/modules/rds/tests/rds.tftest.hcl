# Plan-only tests with mocked AWS providers: no credentials, no network.
mock_provider "aws" {
  mock_resource "aws_db_instance" {
    defaults = {
      arn                = "arn:aws:rds:eu-west-1:111122223333:db:churn-test-app"
      master_user_secret = [{ secret_arn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:rds-master", kms_key_id = "k", secret_status = "active" }]
    }
  }
  mock_resource "aws_kms_key" {
    defaults = {
      arn = "arn:aws:kms:eu-west-1:111122223333:key/00000000-0000-0000-0000-000000000001"
    }
  }
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
}

mock_provider "aws" {
  alias = "backup_region"
  mock_resource "aws_kms_key" {
    defaults = {
      arn = "arn:aws:kms:eu-central-1:111122223333:key/00000000-0000-0000-0000-000000000002"
    }
  }
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
}

variables {
  name                      = "churn-test-app"
  database_name             = "churn"
  vpc_id                    = "vpc-0123456789abcdef0"
  subnet_ids                = ["subnet-a", "subnet-b", "subnet-c"]
  client_security_group_ids = ["sg-0123456789abcdef0"]
}

run "safe_defaults" {
  command = plan

  assert {
    condition     = aws_db_instance.this.multi_az
    error_message = "The database must be Multi-AZ by default."
  }
  assert {
    condition     = aws_db_instance.this.deletion_protection
    error_message = "Deletion protection must be on by default."
  }
  assert {
    condition     = aws_db_instance.this.storage_encrypted && aws_db_instance.this.kms_key_id == module.key.arn
    error_message = "Storage must be encrypted with the module's KMS key."
  }
  assert {
    condition     = aws_db_instance.this.backup_retention_period == 35 && !aws_db_instance.this.delete_automated_backups
    error_message = "35 days of PITR, and the automated backups kept when the instance is deleted."
  }
  assert {
    condition     = aws_db_instance.this.manage_master_user_password && aws_db_instance.this.password == null
    error_message = "The master password must be managed by RDS in Secrets Manager, never given in configuration."
  }
  assert {
    condition     = !aws_db_instance.this.publicly_accessible && !aws_db_instance.this.skip_final_snapshot
    error_message = "The database must not be public, and deleting it must take a final snapshot."
  }
  assert {
    condition     = startswith(aws_db_instance.this.engine_version, "15.") && aws_db_parameter_group.this.family == "postgres15"
    error_message = "PostgreSQL 15 with a postgres15 parameter group."
  }
  assert {
    condition     = contains([for p in aws_db_parameter_group.this.parameter : "${p.name}=${p.value}"], "rds.force_ssl=1")
    error_message = "The parameter group must force TLS."
  }
  assert {
    condition     = aws_db_instance_automated_backups_replication.this.retention_period == 35 && aws_db_instance_automated_backups_replication.this.kms_key_id == module.backup_copy_key.arn
    error_message = "The automated backups must be copied to the backup region for 35 days, encrypted there."
  }
}

run "refuses_other_major_versions" {
  command = plan
  variables {
    engine_version = "16.4"
  }
  expect_failures = [var.engine_version]
}

run "refuses_retention_above_rds_maximum" {
  command = plan
  variables {
    backup_retention_days = 36
  }
  expect_failures = [var.backup_retention_days]
}
