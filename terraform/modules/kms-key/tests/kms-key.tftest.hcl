# Plan-only tests with a mocked AWS provider: the key policy's statements are configuration, so they are
# asserted as written.
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
  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
}

variables {
  description = "churn-test: tests"
}

run "rotating_key_administered_by_the_account_only" {
  command = plan

  assert {
    condition     = aws_kms_key.this.enable_key_rotation && aws_kms_key.this.policy == data.aws_iam_policy_document.this.json
    error_message = "The key rotates and carries the module's key policy."
  }
  assert {
    condition = length(data.aws_iam_policy_document.this.statement) == 1 && alltrue([for s in data.aws_iam_policy_document.this.statement :
    alltrue([for p in s.principals : p.type == "AWS" && toset(p.identifiers) == toset(["arn:aws:iam::111122223333:root"])])])
    error_message = "The key policy's own statement names only the account root."
  }
  assert {
    condition     = length(data.aws_iam_policy_document.cloudwatch_logs) == 0
    error_message = "Without log groups CloudWatch Logs gets nothing."
  }
}

run "cloudwatch_logs_for_the_named_groups_only" {
  command = plan
  variables {
    log_group_names = ["/vpc/churn-test/flow-logs"]
  }

  assert {
    condition     = data.aws_iam_policy_document.this.source_policy_documents == tolist([data.aws_iam_policy_document.cloudwatch_logs[0].json])
    error_message = "The key policy takes in the CloudWatch Logs statement."
  }
  assert {
    condition = alltrue([for s in data.aws_iam_policy_document.cloudwatch_logs[0].statement :
      length(s.condition) == 1 && alltrue([for c in s.condition : c.test == "ArnEquals" && c.variable == "kms:EncryptionContext:aws:logs:arn" &&
    toset(c.values) == toset(["arn:aws:logs:eu-west-1:111122223333:log-group:/vpc/churn-test/flow-logs"])])])
    error_message = "CloudWatch Logs may use the key only for the named log groups."
  }
  assert {
    condition = length(data.aws_iam_policy_document.cloudwatch_logs[0].statement) == 1 && alltrue([for s in data.aws_iam_policy_document.cloudwatch_logs[0].statement :
    alltrue([for p in s.principals : p.type == "Service" && toset(p.identifiers) == toset(["logs.eu-west-1.amazonaws.com"])])])
    error_message = "The grant is to the CloudWatch Logs service of the key's region."
  }
}
