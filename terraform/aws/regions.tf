# The two regional stacks: the same module (modules/region) instantiated once per region, never copy-pasted.
#
#   primary  serves all traffic; owns the writable PostgreSQL instance and the primary Redis replication group.
#   dr       warm standby; its PostgreSQL instance is a cross-region read replica of the primary (encrypted with the
#            DR region's own KMS key), its Redis group is the secondary member of the global datastore, and its EKS
#            node groups run smaller until a failover scales them up.

module "primary" {
  source = "../modules/region"

  name               = local.regions.primary.name
  role               = "primary"
  environment        = var.environment
  vpc_cidr           = local.regions.primary.vpc_cidr
  availability_zones = local.regions.primary.availability_zones
  kubernetes_version = var.kubernetes_version
  support_type       = var.eks_support_type
  node_groups        = var.primary_node_groups

  # Delivery (delivery.tf): Argo CD runs in this cluster and uses its private endpoint; operators may be listed.
  public_access_cidrs = var.eks_public_access_cidrs
  cluster_admins      = local.cluster_admins

  db = local.db_settings

  cache            = var.cache
  cache_auth_token = local.cache_auth_token

  # Workload identity (modules/region workload_identity.tf): the nexus-api IRSA role may read exactly these secrets,
  # External Secrets everything under <platform_prefix>/.
  platform_prefix        = local.name_prefix
  nexus_api_secret_names = local.nexus_api_secret_names
  alert_topic_arns       = values(local.alerts_topics)
  alert_kms_key_arns     = local.ops_key_arns

  certificate_arn         = aws_acm_certificate_validation.alb_primary.certificate_arn
  waf_rate_limit          = var.waf_rate_limit
  origin_verify_secret    = local.origin_verify_secret
  log_retention_days      = var.log_retention_days
  alb_deletion_protection = var.deletion_protection
}

module "dr" {
  source = "../modules/region"
  providers = {
    aws = aws.dr
  }

  name               = local.regions.dr.name
  role               = "dr"
  environment        = var.environment
  vpc_cidr           = local.regions.dr.vpc_cidr
  availability_zones = local.regions.dr.availability_zones
  kubernetes_version = var.kubernetes_version
  support_type       = var.eks_support_type
  node_groups        = var.dr_node_groups

  # Delivery (delivery.tf): Argo CD reaches this cluster's public endpoint from the primary region's NAT addresses.
  public_access_cidrs = distinct(concat([for ip in module.primary.nat_public_ips : "${ip}/32"], var.eks_public_access_cidrs))
  cluster_admins      = local.cluster_admins

  # Cross-region read replica of the primary database (see database.tf).
  db                      = local.dr_db_settings
  db_replicate_source_arn = local.db_replica_source_arn

  # Secondary member of the Redis global datastore (see cache.tf); the AUTH token is the same in both regions.
  cache                             = var.cache
  cache_auth_token                  = local.cache_auth_token
  cache_global_replication_group_id = aws_elasticache_global_replication_group.this.global_replication_group_id

  # Workload identity as in the primary; the secrets read here are the DR replicas (same names).
  platform_prefix        = local.name_prefix
  nexus_api_secret_names = local.nexus_api_secret_names
  alert_topic_arns       = values(local.alerts_topics)
  alert_kms_key_arns     = local.ops_key_arns

  certificate_arn         = aws_acm_certificate_validation.alb_dr.certificate_arn
  waf_rate_limit          = var.waf_rate_limit
  origin_verify_secret    = local.origin_verify_secret
  log_retention_days      = var.log_retention_days
  alb_deletion_protection = var.deletion_protection
}

# The DR region is a warm standby: smaller in normal operation, able to grow to the primary's size on failover.
# A warning, not an error: after a failover the DR region may legitimately be the bigger one.
check "dr_is_warm_standby" {
  assert {
    condition     = sum([for g in var.dr_node_groups : g.desired_size]) <= sum([for g in var.primary_node_groups : g.desired_size])
    error_message = "The DR node groups want more nodes than the primary's: is the DR region still the warm standby?"
  }

  assert {
    condition     = alltrue([for k, g in var.primary_node_groups : contains(keys(var.dr_node_groups), k) && try(var.dr_node_groups[k].max_size >= g.desired_size, false)])
    error_message = "Every primary node group needs a DR counterpart that can scale to the primary's desired size, or a failover cannot take the full load."
  }
}
