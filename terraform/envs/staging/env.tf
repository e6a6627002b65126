locals {
  environment = "staging"
  settings = {
    # One NAT gateway instead of three; everything that protects data stays as in production.
    single_nat_gateway       = true
    app_db_instance_class    = "db.t4g.medium"
    mlflow_db_instance_class = "db.t4g.small"
    node_groups = {
      general = {
        instance_types = ["m6i.large"]
        min_size       = 2
        desired_size   = 2
        max_size       = 4
      }
    }
  }
}
