################################################################################
# ElastiCache Redis: standalone/primary group, or secondary of a global datastore
################################################################################

locals {
  cache_id           = "${local.short_name}-redis"
  cache_engine_major = split(".", var.cache.engine_version)[0]
  # Redis 6 parameter-group families carry a ".x" suffix; 7 and later do not.
  cache_family   = local.cache_engine_major == "6" ? "redis6.x" : "redis${local.cache_engine_major}"
  cache_log_type = toset(["slow-log", "engine-log"])
}

resource "aws_elasticache_subnet_group" "this" {
  name        = "${var.name}-redis"
  description = "Private subnets of ${var.name} for ElastiCache Redis"
  subnet_ids  = [for az in var.availability_zones : aws_subnet.private[az].id]

  tags = local.tags
}

# Created in every region, although a global-datastore secondary uses the datastore's group: the
# secondary's ID is only known after apply, so it cannot drive count, and the group is ready for
# the region if it ever leaves the datastore.
resource "aws_elasticache_parameter_group" "this" {
  name        = "${var.name}-${replace(local.cache_family, ".", "-")}"
  family      = local.cache_family
  description = "Redis ${local.cache_engine_major} for ${var.name}"

  # Only keys with a TTL are evicted under memory pressure, so data the application stores without
  # expiry is never dropped silently.
  parameter {
    name  = "maxmemory-policy"
    value = "volatile-lru"
  }

  tags = local.tags

  # The name carries the family, so an engine major upgrade creates the new group before the
  # replication group switches to it and the old one is deleted.
  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_cloudwatch_log_group" "cache" {
  for_each = local.cache_log_type

  name              = "/aws/elasticache/${var.name}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn

  tags = local.tags
}

resource "aws_elasticache_replication_group" "this" {
  #checkov:skip=CKV_AWS_29:at_rest_encryption_enabled is true for a standalone/primary group; a global-datastore secondary must omit it (provider ConflictsWith) and inherits encryption from the encrypted primary, with kms_key_id still set to this region's key.
  #checkov:skip=CKV_AWS_30:transit_encryption_enabled is true for a standalone/primary group; a global-datastore secondary must omit it (provider ConflictsWith) and inherits TLS from the primary; auth_token is set in both cases.
  replication_group_id = local.cache_id
  description          = "Redis for ${var.name} (${local.cache_is_replica ? "global datastore secondary" : "primary"})"

  # A secondary takes engine, version, node type, parameter group and the encryption flags from
  # the global datastore; the provider and the API reject them when global_replication_group_id is set.
  global_replication_group_id = var.cache_global_replication_group_id
  engine                      = local.cache_is_replica ? null : "redis"
  engine_version              = local.cache_is_replica ? null : var.cache.engine_version
  node_type                   = local.cache_is_replica ? null : var.cache.node_type
  parameter_group_name        = local.cache_is_replica ? null : aws_elasticache_parameter_group.this.name
  at_rest_encryption_enabled  = var.cache_global_replication_group_id == null ? true : null
  transit_encryption_enabled  = var.cache_global_replication_group_id == null ? true : null

  # Region-local key; the same AUTH token in both regions so clients fail over without a new secret.
  kms_key_id                 = aws_kms_key.this.arn
  auth_token                 = var.cache_auth_token
  auth_token_update_strategy = "ROTATE"

  num_cache_clusters         = var.cache.num_cache_clusters
  automatic_failover_enabled = true
  multi_az_enabled           = true
  port                       = 6379
  subnet_group_name          = aws_elasticache_subnet_group.this.name
  security_group_ids         = [aws_security_group.cache.id]

  auto_minor_version_upgrade = true
  snapshot_retention_limit   = 7
  snapshot_window            = "02:00-03:00"
  maintenance_window         = "sun:05:30-sun:06:30"
  final_snapshot_identifier  = local.cache_is_replica ? null : "${local.cache_id}-final"

  dynamic "log_delivery_configuration" {
    for_each = local.cache_log_type

    content {
      destination      = aws_cloudwatch_log_group.cache[log_delivery_configuration.key].name
      destination_type = "cloudwatch-logs"
      log_format       = "json"
      log_type         = log_delivery_configuration.key
    }
  }

  tags = merge(local.tags, { Name = local.cache_id })

  depends_on = [aws_cloudwatch_log_resource_policy.log_delivery]
}
