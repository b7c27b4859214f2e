# State backend of the sandbox, created in the local AWS emulator (matches terraform/aws/backend/sandbox.hcl).
state_bucket_name   = "nexus-platform-sandbox-tfstate"
lock_table_name     = "nexus-platform-sandbox-tfstate-lock"
environment         = "sandbox"
deletion_protection = false
aws_endpoint_url    = "https://127.0.0.1:4566"
