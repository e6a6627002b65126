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
  mock_resource "aws_kms_key" {
    defaults = {
      arn = "arn:aws:kms:eu-west-1:111122223333:key/00000000-0000-0000-0000-000000000004"
    }
  }
}

variables {
  name               = "churn-test"
  availability_zones = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
}

run "three_zones_private_subnets_and_endpoints" {
  command = plan

  assert {
    condition     = length(aws_subnet.private) == 3 && length(distinct([for s in aws_subnet.private : s.availability_zone])) == 3
    error_message = "One private subnet in each of three zones."
  }
  assert {
    condition     = alltrue([for s in aws_subnet.public : !s.map_public_ip_on_launch])
    error_message = "Nothing gets a public IP by default."
  }
  assert {
    condition     = aws_vpc_endpoint.s3.vpc_endpoint_type == "Gateway" && toset(keys(aws_vpc_endpoint.interface)) == toset(["ecr.api", "ecr.dkr", "sts", "logs"])
    error_message = "VPC endpoints for S3 (gateway), ECR, STS and CloudWatch Logs."
  }
  assert {
    condition     = alltrue([for e in aws_vpc_endpoint.interface : e.private_dns_enabled])
    error_message = "Interface endpoints must answer on the services' usual names."
  }
  assert {
    condition     = length(aws_nat_gateway.this) == 3
    error_message = "One NAT gateway per zone by default."
  }
  assert {
    condition     = aws_flow_log.this.traffic_type == "ALL" && aws_cloudwatch_log_group.flow_logs.kms_key_id == module.flow_logs_key.arn
    error_message = "All traffic is flow-logged into an encrypted log group."
  }
}

run "single_nat_gateway_for_staging" {
  command = plan
  variables {
    single_nat_gateway = true
  }
  assert {
    condition     = length(aws_nat_gateway.this) == 1 && length(aws_route.private_nat) == 3
    error_message = "One NAT gateway serving the three private route tables."
  }
}

run "refuses_two_zones" {
  command = plan
  variables {
    availability_zones = ["eu-west-1a", "eu-west-1b"]
  }
  expect_failures = [var.availability_zones]
}
