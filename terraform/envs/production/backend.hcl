# The S3 backend's key of the production state (tofu init -backend-config=../envs/production/backend.hcl); the bucket and
# its region are given at init as well (terraform/README.md, "Deploying").
key = "churn/production/terraform.tfstate"
