locals {
  environment = "production"
  settings = {
    single_nat_gateway       = false
    app_db_instance_class    = "db.m6g.large"
    mlflow_db_instance_class = "db.t4g.medium"
    node_groups = {
      general = {
        instance_types = ["m6i.large"]
        min_size       = 3
        desired_size   = 3
        max_size       = 9
      }
    }
  }
}
