# What staging sets; the stack is terraform/stack. Everything that protects data (Multi-AZ, deletion
# protection, encryption, 35-day PITR with a cross-region copy) is fixed in the modules, as in production.
environment = "staging"
# One NAT gateway instead of three, and smaller instances.
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
