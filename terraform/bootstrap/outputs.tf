output "state_bucket" {
  description = "Name of the Terraform state bucket (terraform/aws/backend/<env>.hcl: bucket)."
  value       = aws_s3_bucket.state.bucket
}

output "lock_table" {
  description = "Name of the DynamoDB lock table (terraform/aws/backend/<env>.hcl: dynamodb_table)."
  value       = aws_dynamodb_table.lock.name
}

output "state_kms_key_arn" {
  description = "KMS key encrypting the state objects and the lock table."
  value       = aws_kms_key.state.arn
}

output "region" {
  description = "Region of the backend (terraform/aws/backend/<env>.hcl: region)."
  value       = var.region
}
