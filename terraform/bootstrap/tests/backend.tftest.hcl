# Plan-level tests of the state backend bootstrap (mocked AWS provider).

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012", arn = "arn:aws:iam::123456789012:user/terraform-test", user_id = "AIDAMOCK" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws", dns_suffix = "amazonaws.com", reverse_dns_prefix = "com.amazonaws" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

override_resource {
  target          = aws_kms_key.state
  override_during = plan
  values          = { arn = "arn:aws:kms:us-east-1:123456789012:key/state" }
}

run "production_backend" {
  command = plan

  assert {
    condition = (
      aws_s3_bucket_versioning.state.versioning_configuration[0].status == "Enabled" &&
      one(aws_s3_bucket_server_side_encryption_configuration.state.rule).apply_server_side_encryption_by_default[0].sse_algorithm == "aws:kms" &&
      one(aws_s3_bucket_server_side_encryption_configuration.state.rule).apply_server_side_encryption_by_default[0].kms_master_key_id == "arn:aws:kms:us-east-1:123456789012:key/state"
    )
    error_message = "The state bucket must be versioned and SSE-KMS encrypted."
  }

  assert {
    condition = (
      aws_s3_bucket_public_access_block.state.block_public_acls && aws_s3_bucket_public_access_block.state.block_public_policy &&
      aws_s3_bucket_public_access_block.state.ignore_public_acls && aws_s3_bucket_public_access_block.state.restrict_public_buckets
    )
    error_message = "The state bucket must block all public access."
  }

  assert {
    condition     = anytrue([for s in data.aws_iam_policy_document.state_bucket.statement : s.effect == "Deny" && anytrue([for c in s.condition : c.variable == "aws:SecureTransport"])])
    error_message = "The state bucket policy must deny non-TLS requests."
  }

  assert {
    condition = (
      aws_dynamodb_table.lock.billing_mode == "PAY_PER_REQUEST" && aws_dynamodb_table.lock.hash_key == "LockID" &&
      aws_dynamodb_table.lock.server_side_encryption[0].enabled &&
      aws_dynamodb_table.lock.server_side_encryption[0].kms_key_arn == "arn:aws:kms:us-east-1:123456789012:key/state" &&
      aws_dynamodb_table.lock.point_in_time_recovery[0].enabled && aws_dynamodb_table.lock.deletion_protection_enabled
    )
    error_message = "The lock table must be on-demand, keyed by LockID, KMS-encrypted, with PITR and deletion protection."
  }

  # The defaults are what terraform/aws/versions.tf and backend/production.hcl point at.
  assert {
    condition = alltrue([
      for f in ["../aws/backend/production.hcl", "../aws/versions.tf"] :
      can(regex(format("bucket\\s*=\\s*\"%s\"", aws_s3_bucket.state.bucket), file(f))) &&
      can(regex(format("dynamodb_table\\s*=\\s*\"%s\"", aws_dynamodb_table.lock.name), file(f))) &&
      can(regex(format("region\\s*=\\s*\"%s\"", var.region), file(f)))
    ])
    error_message = "Bootstrap defaults and the production backend configuration disagree."
  }
}

run "sandbox_backend" {
  command = plan

  variables {
    state_bucket_name   = "nexus-platform-sandbox-tfstate"
    lock_table_name     = "nexus-platform-sandbox-tfstate-lock"
    environment         = "sandbox"
    deletion_protection = false
    aws_endpoint_url    = "https://127.0.0.1:4566"
  }

  assert {
    condition = (
      can(regex(format("bucket\\s*=\\s*\"%s\"", aws_s3_bucket.state.bucket), file("../aws/backend/sandbox.hcl"))) &&
      can(regex(format("dynamodb_table\\s*=\\s*\"%s\"", aws_dynamodb_table.lock.name), file("../aws/backend/sandbox.hcl")))
    )
    error_message = "Bootstrap sandbox values and backend/sandbox.hcl disagree."
  }

  assert {
    condition     = aws_s3_bucket.state.force_destroy && !aws_dynamodb_table.lock.deletion_protection_enabled
    error_message = "The sandbox backend must be removable."
  }
}

run "bad_bucket_name" {
  command = plan
  variables {
    state_bucket_name = "Nexus_State"
  }
  expect_failures = [var.state_bucket_name]
}
