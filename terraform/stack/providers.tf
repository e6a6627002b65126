provider "aws" {
  region = var.region
  default_tags {
    tags = local.tags
  }
}

# Where the cross-region copy of the RDS automated backups lives.
provider "aws" {
  alias  = "backup_region"
  region = var.backup_region
  default_tags {
    tags = local.tags
  }
}

# The API endpoint is private: run the apply that installs the chart from inside the VPC (a runner there, or
# through a VPN), or set deploy_chart = false and install the chart with helm (README, "Deploy to EKS").
provider "helm" {
  kubernetes = {
    host                   = module.eks.cluster_endpoint
    cluster_ca_certificate = base64decode(module.eks.cluster_certificate_authority_data)
    exec = {
      api_version = "client.authentication.k8s.io/v1beta1"
      command     = "aws"
      args        = ["eks", "get-token", "--cluster-name", module.eks.cluster_name, "--region", var.region]
    }
  }
}
