# Object storage.
#
#   app-state  (primary region)  versioned, SSE-KMS with the primary region's key, replicated to ->
#   app-state  (DR region)       versioned, SSE-KMS with the DR region's key, replicating back (two-way, with
#                                replica-modification sync) so writes made in the DR region after a failover are
#                                already in the primary bucket at failback.
#   logs       (each region)     S3 server access logs of that region's buckets (+ CloudFront access logs in the
#                                primary region's). SSE-S3: S3 server access logging cannot write to SSE-KMS buckets.
#
# Every bucket: public access blocked, TLS-only bucket policy, lifecycle (expire noncurrent versions, abort
# incomplete multipart uploads). S3 replication time control (15 min SLA) + replication metrics on both directions.

locals {
  app_state_bucket_name = {
    primary = "${local.name_prefix}-app-state-${local.account_id}-${var.primary_region}"
    dr      = "${local.name_prefix}-app-state-${local.account_id}-${var.dr_region}"
  }
  logs_bucket_name = {
    primary = "${local.name_prefix}-logs-${local.account_id}-${var.primary_region}"
    dr      = "${local.name_prefix}-logs-${local.account_id}-${var.dr_region}"
  }

  # Buckets holding data may only be emptied by Terraform when deletion protection is off (the sandbox).
  bucket_force_destroy = !var.deletion_protection

  noncurrent_version_days = 90
}

# =================================================================================================================
# access-log buckets
# =================================================================================================================

resource "aws_s3_bucket" "logs" {
  #checkov:skip=CKV_AWS_18:This is the access-log target bucket of the region; logging it into itself would loop.
  #checkov:skip=CKV_AWS_144:Access logs are per-region audit records; the DR region has its own log bucket, replicating logs adds nothing to recovery.
  #checkov:skip=CKV_AWS_145:S3 server access log delivery only supports SSE-S3 on the target bucket (SSE-KMS is not supported), so this bucket uses SSE-S3 (AES-256).
  #checkov:skip=CKV2_AWS_62:Nothing consumes object events of a log bucket.
  bucket        = local.logs_bucket_name.primary
  force_destroy = local.bucket_force_destroy
}

resource "aws_s3_bucket" "logs_dr" {
  provider = aws.dr

  #checkov:skip=CKV_AWS_18:This is the access-log target bucket of the region; logging it into itself would loop.
  #checkov:skip=CKV_AWS_144:Access logs are per-region audit records; replicating them back to the primary region adds nothing to recovery.
  #checkov:skip=CKV_AWS_145:S3 server access log delivery only supports SSE-S3 on the target bucket (SSE-KMS is not supported), so this bucket uses SSE-S3 (AES-256).
  #checkov:skip=CKV2_AWS_62:Nothing consumes object events of a log bucket.
  bucket        = local.logs_bucket_name.dr
  force_destroy = local.bucket_force_destroy
}

# CloudFront standard logging writes through an ACL grant, so the primary log bucket keeps ACLs enabled
# (BucketOwnerPreferred: objects written by the log-delivery account still belong to this account).
resource "aws_s3_bucket_ownership_controls" "logs" {
  #checkov:skip=CKV2_AWS_65:CloudFront standard (legacy) access logging requires ACLs on its target bucket; object ownership stays with the bucket owner and public ACLs are blocked.
  bucket = aws_s3_bucket.logs.id
  rule {
    object_ownership = "BucketOwnerPreferred"
  }
}

resource "aws_s3_bucket_ownership_controls" "logs_dr" {
  provider = aws.dr

  bucket = aws_s3_bucket.logs_dr.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "logs" {
  bucket                  = aws_s3_bucket.logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_public_access_block" "logs_dr" {
  provider = aws.dr

  bucket                  = aws_s3_bucket.logs_dr.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "logs" {
  bucket = aws_s3_bucket.logs.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_versioning" "logs_dr" {
  provider = aws.dr

  bucket = aws_s3_bucket.logs_dr.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs_dr" {
  provider = aws.dr

  bucket = aws_s3_bucket.logs_dr.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id

  rule {
    id     = "expire-logs"
    status = "Enabled"
    filter {}
    expiration {
      days = var.log_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "logs_dr" {
  provider = aws.dr

  bucket = aws_s3_bucket.logs_dr.id

  rule {
    id     = "expire-logs"
    status = "Enabled"
    filter {}
    expiration {
      days = var.log_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

data "aws_iam_policy_document" "logs_bucket" {
  for_each = {
    primary = { arn = aws_s3_bucket.logs.arn, source = aws_s3_bucket.app_state.arn }
    dr      = { arn = aws_s3_bucket.logs_dr.arn, source = aws_s3_bucket.app_state_dr.arn }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [each.value.arn, "${each.value.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  statement {
    sid       = "S3ServerAccessLogDelivery"
    effect    = "Allow"
    actions   = ["s3:PutObject"]
    resources = ["${each.value.arn}/s3-access/*"]
    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [each.value.source]
    }
  }
}

resource "aws_s3_bucket_policy" "logs" {
  bucket = aws_s3_bucket.logs.id
  policy = data.aws_iam_policy_document.logs_bucket["primary"].json

  depends_on = [aws_s3_bucket_public_access_block.logs]
}

resource "aws_s3_bucket_policy" "logs_dr" {
  provider = aws.dr

  bucket = aws_s3_bucket.logs_dr.id
  policy = data.aws_iam_policy_document.logs_bucket["dr"].json

  depends_on = [aws_s3_bucket_public_access_block.logs_dr]
}

# =================================================================================================================
# application-state buckets
# =================================================================================================================

resource "aws_s3_bucket" "app_state" {
  #checkov:skip=CKV2_AWS_62:No consumer of object events: replication is configured directly and monitored through its CloudWatch replication metrics.
  bucket        = local.app_state_bucket_name.primary
  force_destroy = local.bucket_force_destroy
}

resource "aws_s3_bucket" "app_state_dr" {
  provider = aws.dr

  #checkov:skip=CKV2_AWS_62:No consumer of object events: replication is configured directly and monitored through its CloudWatch replication metrics.
  bucket        = local.app_state_bucket_name.dr
  force_destroy = local.bucket_force_destroy
}

resource "aws_s3_bucket_ownership_controls" "app_state" {
  bucket = aws_s3_bucket.app_state.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_ownership_controls" "app_state_dr" {
  provider = aws.dr

  bucket = aws_s3_bucket.app_state_dr.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "app_state" {
  bucket                  = aws_s3_bucket.app_state.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_public_access_block" "app_state_dr" {
  provider = aws.dr

  bucket                  = aws_s3_bucket.app_state_dr.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "app_state" {
  bucket = aws_s3_bucket.app_state.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_versioning" "app_state_dr" {
  provider = aws.dr

  bucket = aws_s3_bucket.app_state_dr.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "app_state" {
  bucket = aws_s3_bucket.app_state.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = module.primary.kms_key_arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "app_state_dr" {
  provider = aws.dr

  bucket = aws_s3_bucket.app_state_dr.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = module.dr.kms_key_arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "app_state" {
  bucket = aws_s3_bucket.app_state.id

  rule {
    id     = "noncurrent-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = local.noncurrent_version_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  # Lifecycle rules and replication both need versioning in place first.
  depends_on = [aws_s3_bucket_versioning.app_state]
}

resource "aws_s3_bucket_lifecycle_configuration" "app_state_dr" {
  provider = aws.dr

  bucket = aws_s3_bucket.app_state_dr.id

  rule {
    id     = "noncurrent-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = local.noncurrent_version_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.app_state_dr]
}

resource "aws_s3_bucket_logging" "app_state" {
  bucket        = aws_s3_bucket.app_state.id
  target_bucket = aws_s3_bucket.logs.id
  target_prefix = "s3-access/${aws_s3_bucket.app_state.id}/"

  # S3 checks that the target grants logging.s3.amazonaws.com when logging is switched on.
  depends_on = [aws_s3_bucket_policy.logs]
}

resource "aws_s3_bucket_logging" "app_state_dr" {
  provider = aws.dr

  bucket        = aws_s3_bucket.app_state_dr.id
  target_bucket = aws_s3_bucket.logs_dr.id
  target_prefix = "s3-access/${aws_s3_bucket.app_state_dr.id}/"

  depends_on = [aws_s3_bucket_policy.logs_dr]
}

data "aws_iam_policy_document" "app_state_bucket" {
  for_each = {
    primary = aws_s3_bucket.app_state.arn
    dr      = aws_s3_bucket.app_state_dr.arn
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [each.value, "${each.value}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "app_state" {
  bucket = aws_s3_bucket.app_state.id
  policy = data.aws_iam_policy_document.app_state_bucket["primary"].json

  depends_on = [aws_s3_bucket_public_access_block.app_state]
}

resource "aws_s3_bucket_policy" "app_state_dr" {
  provider = aws.dr

  bucket = aws_s3_bucket.app_state_dr.id
  policy = data.aws_iam_policy_document.app_state_bucket["dr"].json

  depends_on = [aws_s3_bucket_public_access_block.app_state_dr]
}

# =================================================================================================================
# replication (primary <-> DR)
# =================================================================================================================

data "aws_iam_policy_document" "s3_replication_assume" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "s3_replication" {
  name               = "${local.name_prefix}-s3-replication"
  description        = "S3 replication of the ${local.name_prefix} app-state buckets between ${var.primary_region} and ${var.dr_region}"
  assume_role_policy = data.aws_iam_policy_document.s3_replication_assume.json
}

# Least privilege: read replication sources / write replicas on exactly the two app-state buckets, and use each
# region's key only through S3 in that region, only for objects of that region's bucket.
data "aws_iam_policy_document" "s3_replication" {
  statement {
    sid       = "ReadReplicationConfiguration"
    effect    = "Allow"
    actions   = ["s3:GetReplicationConfiguration", "s3:ListBucket"]
    resources = [aws_s3_bucket.app_state.arn, aws_s3_bucket.app_state_dr.arn]
  }

  statement {
    sid       = "ReadSourceObjectVersions"
    effect    = "Allow"
    actions   = ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"]
    resources = ["${aws_s3_bucket.app_state.arn}/*", "${aws_s3_bucket.app_state_dr.arn}/*"]
  }

  statement {
    sid       = "WriteReplicas"
    effect    = "Allow"
    actions   = ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"]
    resources = ["${aws_s3_bucket.app_state.arn}/*", "${aws_s3_bucket.app_state_dr.arn}/*"]
  }

  statement {
    sid       = "UsePrimaryKeyThroughS3"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [module.primary.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${var.primary_region}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:s3:arn"
      values   = [aws_s3_bucket.app_state.arn, "${aws_s3_bucket.app_state.arn}/*"]
    }
  }

  statement {
    sid       = "UseDrKeyThroughS3"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [module.dr.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${var.dr_region}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:s3:arn"
      values   = [aws_s3_bucket.app_state_dr.arn, "${aws_s3_bucket.app_state_dr.arn}/*"]
    }
  }
}

resource "aws_iam_role_policy" "s3_replication" {
  name   = "replicate-app-state"
  role   = aws_iam_role.s3_replication.id
  policy = data.aws_iam_policy_document.s3_replication.json
}

resource "aws_s3_bucket_replication_configuration" "app_state_to_dr" {
  bucket = aws_s3_bucket.app_state.id
  role   = aws_iam_role.s3_replication.arn

  rule {
    id       = "to-${var.dr_region}"
    status   = "Enabled"
    priority = 1

    filter {}

    delete_marker_replication {
      status = "Enabled"
    }

    source_selection_criteria {
      sse_kms_encrypted_objects {
        status = "Enabled"
      }
      replica_modifications {
        status = "Enabled"
      }
    }

    destination {
      bucket        = aws_s3_bucket.app_state_dr.arn
      storage_class = "STANDARD"

      encryption_configuration {
        replica_kms_key_id = module.dr.kms_key_arn
      }

      replication_time {
        status = "Enabled"
        time {
          minutes = 15
        }
      }

      metrics {
        status = "Enabled"
        event_threshold {
          minutes = 15
        }
      }
    }
  }

  depends_on = [
    aws_s3_bucket_versioning.app_state,
    aws_s3_bucket_versioning.app_state_dr,
    aws_iam_role_policy.s3_replication,
  ]
}

resource "aws_s3_bucket_replication_configuration" "app_state_to_primary" {
  provider = aws.dr

  bucket = aws_s3_bucket.app_state_dr.id
  role   = aws_iam_role.s3_replication.arn

  rule {
    id       = "to-${var.primary_region}"
    status   = "Enabled"
    priority = 1

    filter {}

    delete_marker_replication {
      status = "Enabled"
    }

    source_selection_criteria {
      sse_kms_encrypted_objects {
        status = "Enabled"
      }
      replica_modifications {
        status = "Enabled"
      }
    }

    destination {
      bucket        = aws_s3_bucket.app_state.arn
      storage_class = "STANDARD"

      encryption_configuration {
        replica_kms_key_id = module.primary.kms_key_arn
      }

      replication_time {
        status = "Enabled"
        time {
          minutes = 15
        }
      }

      metrics {
        status = "Enabled"
        event_threshold {
          minutes = 15
        }
      }
    }
  }

  depends_on = [
    aws_s3_bucket_versioning.app_state,
    aws_s3_bucket_versioning.app_state_dr,
    aws_iam_role_policy.s3_replication,
  ]
}
