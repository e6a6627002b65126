# The S3 backend's key of the staging state (tofu init -backend-config=../envs/staging/backend.hcl); the bucket and
# its region are given at init as well (terraform/README.md, "Deploying").
key = "churn/staging/terraform.tfstate"
