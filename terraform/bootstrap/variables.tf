variable "region" {
  description = "Region of the state bucket and lock table (terraform/aws/backend/*.hcl say us-east-1)."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^(us|eu|ap|sa|ca|me|af|il|mx)-(gov-)?(north|south|east|west|central|northeast|northwest|southeast|southwest)-[1-9]$", var.region))
    error_message = "region must be an AWS region name such as us-east-1."
  }
}

variable "state_bucket_name" {
  description = "Name of the S3 bucket holding Terraform state (must match `bucket` in terraform/aws/backend/<env>.hcl)."
  type        = string
  default     = "nexus-platform-production-tfstate"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,51}[a-z0-9]$", var.state_bucket_name)) && !strcontains(var.state_bucket_name, "..")
    error_message = "state_bucket_name must be a valid S3 bucket name of 3-53 characters (the access-log bucket appends \"-logs\")."
  }
}

variable "lock_table_name" {
  description = "Name of the DynamoDB table used for state locking (must match `dynamodb_table` in terraform/aws/backend/<env>.hcl)."
  type        = string
  default     = "nexus-platform-tfstate-lock"

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.-]{3,255}$", var.lock_table_name))
    error_message = "lock_table_name must be 3-255 characters of letters, digits, '_', '-' and '.'."
  }
}

variable "environment" {
  description = "Environment these state resources serve (Environment tag)."
  type        = string
  default     = "production"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,11}$", var.environment))
    error_message = "environment must be 2-12 lower-case letters/digits, starting with a letter."
  }
}

variable "deletion_protection" {
  description = "Protect the state from deletion: lock table deletion protection on, bucket not force-destroyable. Only the sandbox turns it off."
  type        = bool
  default     = true
}

variable "aws_endpoint_url" {
  description = "Sandbox only: URL of the local AWS emulator to send every call to (null: real AWS)."
  type        = string
  default     = null

  validation {
    condition     = var.aws_endpoint_url == null || can(regex("^https?://[^/\\s]+/?$", var.aws_endpoint_url))
    error_message = "aws_endpoint_url must be null or a base URL such as https://127.0.0.1:4566."
  }
}
