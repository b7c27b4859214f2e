# Bootstrap of the Terraform state backend of terraform/aws: the S3 state bucket and the DynamoDB lock table.
# Applied once per account/environment with LOCAL state (it cannot store its state in the bucket it creates):
#   cd terraform/bootstrap && terraform init && terraform apply                       # production (defaults)
#   cd terraform/bootstrap && terraform init && terraform apply -var-file=sandbox.tfvars   # local emulator
terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "= 5.100.0"
    }
  }
}
