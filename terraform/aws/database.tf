# PostgreSQL across the two regions.
#
#   primary region  aws_db_instance (Multi-AZ, KMS key of the primary region, 30-day automated backups, force_ssl)
#        |  asynchronous streaming replication over the AWS backbone (RPO target < 5 min; alarm at 60 s lag,
#        v  see monitoring.tf)
#   DR region       aws_db_instance replicate_source_db = <primary ARN>, encrypted with the DR region's KMS key,
#                   backups on so it can be promoted (`nexus dr failover` promotes it; failback re-seeds the old
#                   primary as the new replica).
#
# The instances live in modules/region; this file holds the wiring between them and the DB-wide pieces: the shared
# settings, the replica's source, and RDS event notifications (failover, failure, low storage, ...) of both
# instances to each region's alert topic.

locals {
  # Settings both instances get (the replica must keep up with the primary's write load).
  db_settings = {
    engine_version        = var.db.engine_version
    instance_class        = var.db.instance_class
    allocated_storage     = var.db.allocated_storage
    max_allocated_storage = var.db.max_allocated_storage
    backup_retention_days = var.backup_retention_days
    multi_az              = var.db.multi_az
    deletion_protection   = var.deletion_protection
    performance_insights  = var.db.performance_insights
  }

  # The DR replica: the same, but single-AZ unless dr_db_multi_az (see its description for the cost).
  dr_db_settings = merge(local.db_settings, { multi_az = var.dr_db_multi_az })

  # The DR instance is a cross-region read replica of this ARN (a cross-region source must be given by ARN).
  db_replica_source_arn = module.primary.db_instance_arn

  # What the outputs and the `nexus` CLI report about the database topology.
  database_topology = {
    engine                = "postgres"
    engine_version        = var.db.engine_version
    rpo_target_seconds    = 300
    replica_lag_alarm_s   = local.replica_lag_alarm_seconds
    backup_retention_days = var.backup_retention_days
    primary = {
      region     = var.primary_region
      identifier = module.primary.db_instance_identifier
      arn        = module.primary.db_instance_arn
      endpoint   = module.primary.db_endpoint
      kms_key    = module.primary.kms_key_arn
    }
    replica = {
      region            = var.dr_region
      identifier        = module.dr.db_instance_identifier
      arn               = module.dr.db_instance_arn
      endpoint          = module.dr.db_endpoint
      kms_key           = module.dr.kms_key_arn
      replicates_source = local.db_replica_source_arn
    }
  }

  # RDS event categories worth waking someone for (a replica that stops replicating shows up as "read replica").
  db_event_categories = ["availability", "deletion", "failover", "failure", "low storage", "maintenance", "read replica", "recovery"]
}

resource "aws_db_event_subscription" "primary" {
  name        = "${local.regions.primary.name}-db-events"
  sns_topic   = aws_sns_topic.alerts.arn
  source_type = "db-instance"
  source_ids  = [module.primary.db_instance_identifier]

  event_categories = local.db_event_categories
}

resource "aws_db_event_subscription" "dr" {
  provider = aws.dr

  name        = "${local.regions.dr.name}-db-events"
  sns_topic   = aws_sns_topic.alerts_dr.arn
  source_type = "db-instance"
  source_ids  = [module.dr.db_instance_identifier]

  event_categories = local.db_event_categories
}
