terraform {
  required_version = ">= 1.8.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "6.62.0"
    }
    helm = {
      source  = "hashicorp/helm"
      version = "3.0.2"
    }
  }

  # Partial configuration: the state's key comes from envs/<environment>/backend.hcl, the bucket and its
  # region at init (terraform/README.md, "Deploying").
  backend "s3" {
    encrypt      = true
    use_lockfile = true
  }
}
