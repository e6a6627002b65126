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
  mock_resource "aws_eks_cluster" {
    defaults = {
      certificate_authority = [{ data = "Y2E=" }]
      identity              = [{ oidc = [{ issuer = "https://oidc.eks.eu-west-1.amazonaws.com/id/TEST" }] }]
    }
  }
}

variables {
  name       = "churn-test"
  subnet_ids = ["subnet-a", "subnet-b", "subnet-c"]
}

run "private_endpoint_encrypted_secrets_and_core_addons" {
  command = plan

  assert {
    condition     = aws_eks_cluster.this.vpc_config[0].endpoint_private_access && !aws_eks_cluster.this.vpc_config[0].endpoint_public_access
    error_message = "The API endpoint must be private by default."
  }
  assert {
    condition     = one(aws_eks_cluster.this.encryption_config).resources == toset(["secrets"])
    error_message = "Kubernetes secrets must be envelope-encrypted with KMS."
  }
  assert {
    condition     = toset(keys(aws_eks_addon.this)) == toset(["vpc-cni", "coredns", "kube-proxy", "eks-pod-identity-agent", "aws-ebs-csi-driver"])
    error_message = "The core add-ons and the Pod Identity agent are installed."
  }
  assert {
    condition     = alltrue([for t in aws_launch_template.node : t.metadata_options[0].http_tokens == "required" && t.metadata_options[0].http_put_response_hop_limit == 1])
    error_message = "Nodes require IMDSv2 with a hop limit of 1."
  }
  assert {
    condition     = alltrue([for t in aws_launch_template.node : t.block_device_mappings[0].ebs[0].encrypted == "true"])
    error_message = "Node volumes are encrypted."
  }
  assert {
    condition     = length(aws_iam_openid_connect_provider.this) == 0 && length(aws_eks_node_group.this) == 1
    error_message = "Pod Identity by default (no IRSA provider) and one managed node group."
  }
  assert {
    condition     = length(aws_eks_cluster.this.enabled_cluster_log_types) == 5
    error_message = "Every control plane log type is shipped."
  }
}

run "irsa_on_request" {
  command = plan
  variables {
    enable_irsa = true
  }
  assert {
    condition     = length(aws_iam_openid_connect_provider.this) == 1
    error_message = "enable_irsa creates the OIDC provider."
  }
}
