# AWS Backup: a vault in each region (encrypted with that region's KMS key), one plan in the primary region.
#
#   daily       snapshot at 03:00 UTC, kept var.backup_retention_days (30), copied to the DR region's vault and kept
#               there just as long - restorable in the DR region even if the primary region is lost.
#   continuous  point-in-time recovery (RDS: to any second within the window; S3: likewise), same retention
#               (continuous backups allow at most 35 days, hence the variable's upper bound).
#
# Selection: the primary PostgreSQL instance and the app-state bucket. (The DR replica is not selected: it is a copy
# of the same data, and a read replica cannot be backed up by AWS Backup until it is promoted.)
# Vault Lock (governance mode) keeps anyone below the backup administrators from deleting recovery points early.

resource "aws_backup_vault" "primary" {
  name        = "${local.regions.primary.name}-vault"
  kms_key_arn = module.primary.kms_key_arn
}

resource "aws_backup_vault" "dr" {
  provider = aws.dr

  name        = "${local.regions.dr.name}-vault"
  kms_key_arn = module.dr.kms_key_arn
}

resource "aws_backup_vault_lock_configuration" "primary" {
  count = var.backup_vault_lock ? 1 : 0

  backup_vault_name  = aws_backup_vault.primary.name
  min_retention_days = var.backup_retention_days
}

resource "aws_backup_vault_lock_configuration" "dr" {
  provider = aws.dr
  count    = var.backup_vault_lock ? 1 : 0

  backup_vault_name  = aws_backup_vault.dr.name
  min_retention_days = var.backup_retention_days
}

data "aws_iam_policy_document" "backup_assume" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["backup.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "backup" {
  name               = "${local.name_prefix}-backup"
  description        = "AWS Backup service role of ${local.name_prefix} (RDS + S3 backups and restores)"
  assume_role_policy = data.aws_iam_policy_document.backup_assume.json
}

locals {
  backup_managed_policies = {
    backup     = "arn:${local.partition}:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"
    restores   = "arn:${local.partition}:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores"
    s3_backup  = "arn:${local.partition}:iam::aws:policy/AWSBackupServiceRolePolicyForS3Backup"
    s3_restore = "arn:${local.partition}:iam::aws:policy/AWSBackupServiceRolePolicyForS3Restore"
  }
}

resource "aws_iam_role_policy_attachment" "backup" {
  for_each = local.backup_managed_policies

  role       = aws_iam_role.backup.name
  policy_arn = each.value
}

resource "aws_backup_plan" "this" {
  name = "${local.name_prefix}-backup"

  rule {
    rule_name         = "daily"
    target_vault_name = aws_backup_vault.primary.name
    schedule          = "cron(0 3 * * ? *)"
    start_window      = 60
    completion_window = 480

    lifecycle {
      delete_after = var.backup_retention_days
    }

    copy_action {
      destination_vault_arn = aws_backup_vault.dr.arn

      lifecycle {
        delete_after = var.backup_retention_days
      }
    }

    recovery_point_tags = {
      Project     = var.project
      Environment = var.environment
      BackupRule  = "daily"
    }
  }

  rule {
    rule_name                = "continuous"
    target_vault_name        = aws_backup_vault.primary.name
    schedule                 = "cron(0 5 * * ? *)"
    enable_continuous_backup = true
    start_window             = 60
    completion_window        = 480

    lifecycle {
      delete_after = var.backup_retention_days
    }

    recovery_point_tags = {
      Project     = var.project
      Environment = var.environment
      BackupRule  = "continuous"
    }
  }
}

resource "aws_backup_selection" "this" {
  name         = "${local.name_prefix}-data"
  plan_id      = aws_backup_plan.this.id
  iam_role_arn = aws_iam_role.backup.arn

  resources = [
    module.primary.db_instance_arn,
    aws_s3_bucket.app_state.arn,
  ]

  depends_on = [aws_iam_role_policy_attachment.backup]
}
