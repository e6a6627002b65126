# The whole stack, the same for every environment; envs/<environment>/ holds only what differs (README.md).
locals {
  name = "churn-${var.environment}"
  tags = {
    Project     = "churn-control-plane"
    Environment = var.environment
    ManagedBy   = "opentofu"
  }
}

# The state remembers which environment it holds, so that one environment's values planned against another's
# state (a working directory initialised for the other) stop the plan instead of renaming everything.
resource "terraform_data" "environment" {
  input = var.environment
  lifecycle {
    ignore_changes = [input]
  }
}

module "network" {
  source             = "../modules/network"
  name               = local.name
  cidr_block         = var.vpc_cidr
  availability_zones = var.availability_zones
  single_nat_gateway = var.single_nat_gateway
}

module "eks" {
  source                       = "../modules/eks"
  name                         = local.name
  kubernetes_version           = var.kubernetes_version
  subnet_ids                   = module.network.private_subnet_ids
  endpoint_public_access       = var.endpoint_public_access
  endpoint_public_access_cidrs = var.endpoint_public_access_cidrs
  admin_role_arns              = var.admin_role_arns
  node_groups                  = var.node_groups
}

module "storage" {
  source                = "../modules/storage"
  name                  = local.name
  backup_retention_days = 90
}

module "rds_app" {
  source                    = "../modules/rds"
  providers                 = { aws = aws, aws.backup_region = aws.backup_region }
  name                      = "${local.name}-app"
  database_name             = "churn"
  instance_class            = var.app_db_instance_class
  vpc_id                    = module.network.vpc_id
  subnet_ids                = module.network.private_subnet_ids
  client_security_group_ids = [module.eks.cluster_security_group_id]
}

# MLflow's backend store on its own instance: the registry's load and failures stay apart from the app's.
module "rds_mlflow" {
  source                    = "../modules/rds"
  providers                 = { aws = aws, aws.backup_region = aws.backup_region }
  name                      = "${local.name}-mlflow"
  database_name             = "mlflow"
  instance_class            = var.mlflow_db_instance_class
  allocated_storage_gb      = 20
  vpc_id                    = module.network.vpc_id
  subnet_ids                = module.network.private_subnet_ids
  client_security_group_ids = [module.eks.cluster_security_group_id]
}

module "secrets" {
  source = "../modules/secrets"
  name   = "churn/${var.environment}"
}

module "iam" {
  source               = "../modules/iam"
  name                 = local.name
  cluster_name         = module.eks.cluster_name
  artifacts_bucket_arn = module.storage.artifacts_bucket_arn
  backups_bucket_arn   = module.storage.backups_bucket_arn
  backup_prefix        = module.storage.backup_prefix
  storage_kms_key_arn  = module.storage.kms_key_arn
  app_secret_arns = [
    module.secrets.control_plane_secret_arn,
    module.secrets.mlflow_secret_arn,
  ]
  secret_kms_key_arns = [module.secrets.kms_key_arn]
}

module "dns" {
  source    = "../modules/dns"
  zone_name = var.zone_name
  host      = var.host
}

module "app" {
  source         = "../modules/app"
  count          = var.deploy_chart ? 1 : 0
  host           = var.host
  image_tag      = var.image_tag
  ingress_tls    = { cluster_issuer = var.ingress_tls_cluster_issuer }
  secret_name    = module.secrets.control_plane_secret_name
  postgres_cidrs = [module.network.vpc_cidr_block]
  extra_values   = var.chart_extra_values

  depends_on = [module.eks, module.iam]
}
