# What production sets; the stack is terraform/stack. Everything that protects data (Multi-AZ, deletion
# protection, encryption, 35-day PITR with a cross-region copy) is fixed in the modules, not set here.
environment              = "production"
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
