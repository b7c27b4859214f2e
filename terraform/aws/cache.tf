# Redis across the two regions: an ElastiCache global datastore whose primary member is the primary region's
# replication group and whose secondary (read-only, replicated asynchronously, typically < 1 s behind) is the DR
# region's group (module.dr joins it through cache_global_replication_group_id). On failover `nexus dr failover`
# promotes the DR member (FailoverGlobalReplicationGroup).
#
# Engine upgrades of a global datastore must go through the global group: engine_version is therefore set here,
# from the same var.cache the members are created with.

resource "aws_elasticache_global_replication_group" "this" {
  global_replication_group_id_suffix   = "${local.name_prefix}-cache"
  global_replication_group_description = "${local.name_prefix} Redis: ${var.primary_region} (primary) -> ${var.dr_region} (secondary)"
  primary_replication_group_id         = module.primary.cache_replication_group_id
  engine_version                       = var.cache.engine_version
}
