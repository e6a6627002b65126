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

  # Partial configuration: give the state bucket and its region at init,
  #   tofu init -backend-config="bucket=<state bucket>" -backend-config="region=<region>"
  backend "s3" {
    key          = "churn/production/terraform.tfstate"
    encrypt      = true
    use_lockfile = true
  }
}
