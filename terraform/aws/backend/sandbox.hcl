# Sandbox state backend: the same S3 + DynamoDB backend, served by the local AWS emulator.
#   terraform init -reconfigure -backend-config=backend/sandbox.hcl
# Create the bucket and the table first with terraform/bootstrap (-var-file=sandbox.tfvars there).
bucket         = "nexus-platform-sandbox-tfstate"
key            = "nexus/sandbox/terraform.tfstate"
region         = "us-east-1"
dynamodb_table = "nexus-platform-sandbox-tfstate-lock"
encrypt        = true

endpoints = {
  s3       = "https://127.0.0.1:4566"
  dynamodb = "https://127.0.0.1:4566"
  sts      = "https://127.0.0.1:4566"
  iam      = "https://127.0.0.1:4566"
}
use_path_style              = true
skip_credentials_validation = true
skip_region_validation      = true
skip_metadata_api_check     = true
