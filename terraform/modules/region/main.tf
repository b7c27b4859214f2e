data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  dns_suffix = data.aws_partition.current.dns_suffix

  # Keyed by AZ name so that appending an AZ never re-indexes (and replaces) the existing subnets.
  azs = { for index, az in var.availability_zones : az => index }

  cluster_name = var.name

  # ALB/target group names are capped at 32 characters and ElastiCache IDs at 40; a trailing
  # hyphen left by truncation is rejected by those APIs.
  short_name = trimsuffix(substr(var.name, 0, 26), "-")

  db_is_replica    = var.db_replicate_source_arn != null
  cache_is_replica = var.cache_global_replication_group_id != null

  tags = merge(var.tags, {
    "nexus:region-role" = var.role
    "nexus:environment" = var.environment
    "nexus:module"      = "region"
  })
}
