################################################################################
# RDS PostgreSQL: primary, or cross-region read replica of the primary region's instance
################################################################################

locals {
  db_identifier   = "${var.name}-postgres"
  db_major_engine = split(".", var.db.engine_version)[0]
  db_log_exports  = ["postgresql", "upgrade"]
}

resource "aws_db_subnet_group" "this" {
  name        = "${var.name}-postgres"
  description = "Private subnets of ${var.name} for RDS PostgreSQL"
  subnet_ids  = [for az in var.availability_zones : aws_subnet.private[az].id]

  tags = local.tags
}

resource "aws_db_parameter_group" "this" {
  # A major upgrade needs a new family: a prefix lets the new group exist before the old one goes.
  name_prefix = "${var.name}-postgres${local.db_major_engine}-"
  family      = "postgres${local.db_major_engine}"
  description = "PostgreSQL ${local.db_major_engine} for ${var.name}: TLS only, statement and connection logging"

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  # DDL plus anything slower than 1 s: enough for audits and tuning without logging every query.
  parameter {
    name  = "log_statement"
    value = "ddl"
  }

  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }

  parameter {
    name  = "log_connections"
    value = "1"
  }

  parameter {
    name  = "log_disconnections"
    value = "1"
  }

  parameter {
    name  = "log_lock_waits"
    value = "1"
  }

  tags = local.tags

  lifecycle {
    create_before_destroy = true
  }
}

# Pre-created so the exported logs are KMS-encrypted and expire, rather than RDS auto-creating
# unencrypted groups that are kept forever.
resource "aws_cloudwatch_log_group" "db" {
  for_each = toset(local.db_log_exports)

  name              = "/aws/rds/instance/${local.db_identifier}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn

  tags = local.tags
}

data "aws_iam_policy_document" "rds_monitoring_assume" {
  statement {
    sid     = "RdsEnhancedMonitoringAssume"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "rds_monitoring" {
  name               = "${var.name}-rds-monitoring"
  assume_role_policy = data.aws_iam_policy_document.rds_monitoring_assume.json

  tags = local.tags
}

resource "aws_iam_role_policy_attachment" "rds_monitoring" {
  role       = aws_iam_role.rds_monitoring.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

# One resource for both roles: promoting the DR replica is then an in-place change (drop
# db_replicate_source_arn) instead of a destroy/create of the database.
resource "aws_db_instance" "this" {
  identifier = local.db_identifier

  # Replica: engine, version, credentials and database name are inherited from the source and
  # the API rejects them (or a final snapshot) for a read replica.
  replicate_source_db           = var.db_replicate_source_arn
  engine                        = local.db_is_replica ? null : "postgres"
  engine_version                = local.db_is_replica ? null : var.db.engine_version
  db_name                       = local.db_is_replica ? null : "nexus"
  username                      = local.db_is_replica ? null : "nexus_admin"
  manage_master_user_password   = local.db_is_replica ? null : true
  master_user_secret_kms_key_id = local.db_is_replica ? null : aws_kms_key.this.arn

  instance_class        = var.db.instance_class
  allocated_storage     = local.db_is_replica ? null : var.db.allocated_storage
  max_allocated_storage = var.db.max_allocated_storage
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = aws_kms_key.this.arn

  port                   = 5432
  db_subnet_group_name   = aws_db_subnet_group.this.name
  parameter_group_name   = aws_db_parameter_group.this.name
  vpc_security_group_ids = [aws_security_group.db.id]
  publicly_accessible    = false
  multi_az               = var.db.multi_az

  iam_database_authentication_enabled = true
  auto_minor_version_upgrade          = true
  allow_major_version_upgrade         = false

  # Backups stay on for the replica so that, once promoted, it is immediately protected.
  backup_retention_period   = var.db.backup_retention_days
  backup_window             = "03:00-04:00"
  maintenance_window        = "sun:04:30-sun:05:30"
  copy_tags_to_snapshot     = true
  delete_automated_backups  = false
  deletion_protection       = var.db.deletion_protection
  skip_final_snapshot       = local.db_is_replica
  final_snapshot_identifier = local.db_is_replica ? null : "${local.db_identifier}-final"

  enabled_cloudwatch_logs_exports = local.db_log_exports
  monitoring_interval             = 60
  monitoring_role_arn             = aws_iam_role.rds_monitoring.arn

  performance_insights_enabled          = var.db.performance_insights
  performance_insights_kms_key_id       = var.db.performance_insights ? aws_kms_key.this.arn : null
  performance_insights_retention_period = var.db.performance_insights ? 7 : null

  tags = merge(local.tags, { Name = local.db_identifier })

  depends_on = [
    aws_cloudwatch_log_group.db,
    aws_iam_role_policy_attachment.rds_monitoring,
  ]
}
