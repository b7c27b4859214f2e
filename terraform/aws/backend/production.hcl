# Production state backend (the same values versions.tf carries, spelled out for explicitness):
#   terraform init -reconfigure -backend-config=backend/production.hcl
# The bucket and the lock table are created once by terraform/bootstrap.
bucket         = "nexus-platform-production-tfstate"
key            = "nexus/production/terraform.tfstate"
region         = "us-east-1"
dynamodb_table = "nexus-platform-tfstate-lock"
encrypt        = true
