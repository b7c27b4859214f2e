terraform {
  # The spec asks for Terraform v1.5+. This configuration needs 1.11: the cache AUTH token is written with a
  # write-only argument (secret_string_wo, Terraform 1.11) and the primary/DR CIDR overlap rule is a validation that
  # refers to another variable (Terraform 1.9).
  required_version = ">= 1.11.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "= 5.100.0"
    }
  }

  # Production state: S3 + DynamoDB lock (created by terraform/bootstrap). The values are written in so the spec's
  # plain `cd terraform/aws && terraform init` works for an operator with AWS credentials. Other environments
  # re-point it explicitly:  terraform init -reconfigure -backend-config=backend/<env>.hcl
  backend "s3" {
    bucket         = "nexus-platform-production-tfstate"
    key            = "nexus/production/terraform.tfstate"
    region         = "us-east-1"
    dynamodb_table = "nexus-platform-tfstate-lock"
    encrypt        = true
  }
}
