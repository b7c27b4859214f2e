# Plan-level tests of the production configuration (tests/terraform.tfvars is a link to ../production.tfvars, so
# every run below plans exactly the spec's production unless it overrides a variable).
#
# The AWS provider is mocked (no credentials, no network). Data sources get realistic mock values; a few computed
# identifiers (KMS key ARNs, health-check ids, ...) are overridden during plan so that "A is wired to B" can be
# asserted. Everything else asserted here is configuration, not provider output.
# mocks

mock_provider "aws" {
  source = "./tests/mocks"

  mock_data "aws_region" {
    defaults = { name = "us-east-1", id = "us-east-1", description = "mock region", endpoint = "ec2.us-east-1.amazonaws.com" }
  }
}

mock_provider "aws" {
  alias  = "dr"
  source = "./tests/mocks"

  mock_data "aws_region" {
    defaults = { name = "eu-west-1", id = "eu-west-1", description = "mock region", endpoint = "ec2.eu-west-1.amazonaws.com" }
  }
}

mock_provider "aws" {
  alias  = "global"
  source = "./tests/mocks"

  mock_data "aws_region" {
    defaults = { name = "us-east-1", id = "us-east-1", description = "mock region", endpoint = "ec2.us-east-1.amazonaws.com" }
  }
}

# --- identifiers made known at plan time ---------------------------------------------------------------------------

override_resource {
  target          = module.primary.aws_kms_key.this
  override_during = plan
  values          = { arn = "arn:aws:kms:us-east-1:123456789012:key/primary-data" }
}

override_resource {
  target          = module.dr.aws_kms_key.this
  override_during = plan
  values          = { arn = "arn:aws:kms:eu-west-1:123456789012:key/dr-data" }
}

override_resource {
  target          = module.primary.aws_db_instance.this
  override_during = plan
  values = {
    arn        = "arn:aws:rds:us-east-1:123456789012:db:nexus-production-primary"
    identifier = "nexus-production-primary"
  }
}

override_resource {
  target          = module.primary.aws_iam_role.nexus_api
  override_during = plan
  values          = { arn = "arn:aws:iam::123456789012:role/nexus-production-nexus-api-us-east-1" }
}

override_resource {
  target          = module.dr.aws_iam_role.nexus_api
  override_during = plan
  values          = { arn = "arn:aws:iam::123456789012:role/nexus-production-nexus-api-eu-west-1" }
}

override_resource {
  target          = aws_kms_key.ops_primary
  override_during = plan
  values          = { arn = "arn:aws:kms:us-east-1:123456789012:key/ops-primary" }
}

override_resource {
  target          = aws_kms_key.ops_dr
  override_during = plan
  values          = { arn = "arn:aws:kms:eu-west-1:123456789012:key/ops-dr" }
}

override_resource {
  target          = aws_kms_key.ops_global
  override_during = plan
  values          = { arn = "arn:aws:kms:us-east-1:123456789012:key/ops-global" }
}

override_resource {
  target          = aws_wafv2_web_acl.cloudfront
  override_during = plan
  values          = { arn = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/nexus-production-edge/mock" }
}

override_resource {
  target          = aws_route53_health_check.primary
  override_during = plan
  values          = { id = "hc-primary-mock" }
}

override_resource {
  target          = aws_route53_health_check.dr
  override_during = plan
  values          = { id = "hc-dr-mock" }
}

override_resource {
  target          = aws_backup_vault.dr
  override_during = plan
  values          = { arn = "arn:aws:backup:eu-west-1:123456789012:backup-vault:nexus-production-dr-vault" }
}

override_resource {
  target          = aws_s3_bucket.app_state
  override_during = plan
  values          = { arn = "arn:aws:s3:::nexus-production-app-state-123456789012-us-east-1" }
}

override_resource {
  target          = aws_s3_bucket.app_state_dr
  override_during = plan
  values          = { arn = "arn:aws:s3:::nexus-production-app-state-123456789012-eu-west-1" }
}

override_resource {
  target          = aws_sns_topic.alerts_dr
  override_during = plan
  values          = { arn = "arn:aws:sns:eu-west-1:123456789012:nexus-production-alerts" }
}

override_resource {
  target          = aws_sns_topic.alerts_global
  override_during = plan
  values          = { arn = "arn:aws:sns:us-east-1:123456789012:nexus-production-alerts-global" }
}

# =================================================================================================================

run "address_plan_two_regions_two_azs" {
  command = plan

  assert {
    condition     = var.primary_region == "us-east-1" && var.dr_region == "eu-west-1"
    error_message = "Production must run in us-east-1 with DR in eu-west-1 (the spec)."
  }

  assert {
    condition     = length(local.address_plan.primary.subnets) == 2 && length(local.address_plan.dr.subnets) == 2
    error_message = "Each region must use exactly the spec's two availability zones."
  }

  assert {
    condition     = local.address_plan.primary.subnets["us-east-1a"].public == "10.10.0.0/20" && local.address_plan.primary.subnets["us-east-1a"].private == "10.10.128.0/20"
    error_message = "Address plan: public subnet i = cidrsubnet(vpc, 4, i), private = cidrsubnet(vpc, 4, i + 8)."
  }

  assert {
    condition     = local.regions.dr.name == "nexus-production-dr" && local.regions.primary.name == "nexus-production-primary"
    error_message = "Regional stacks must be named <project>-<environment>-<role>."
  }
}

run "encryption_at_rest" {
  command = plan

  # S3: app-state buckets with each region's KMS key; log buckets SSE-S3 (what S3 access logging supports).
  assert {
    condition = (
      one(aws_s3_bucket_server_side_encryption_configuration.app_state.rule).apply_server_side_encryption_by_default[0].sse_algorithm == "aws:kms" &&
      one(aws_s3_bucket_server_side_encryption_configuration.app_state.rule).apply_server_side_encryption_by_default[0].kms_master_key_id == "arn:aws:kms:us-east-1:123456789012:key/primary-data"
    )
    error_message = "The primary app-state bucket must be SSE-KMS with the primary region's key."
  }

  assert {
    condition = (
      one(aws_s3_bucket_server_side_encryption_configuration.app_state_dr.rule).apply_server_side_encryption_by_default[0].sse_algorithm == "aws:kms" &&
      one(aws_s3_bucket_server_side_encryption_configuration.app_state_dr.rule).apply_server_side_encryption_by_default[0].kms_master_key_id == "arn:aws:kms:eu-west-1:123456789012:key/dr-data"
    )
    error_message = "The DR app-state bucket must be SSE-KMS with the DR region's key."
  }

  assert {
    condition = alltrue([
      for c in [aws_s3_bucket_server_side_encryption_configuration.logs, aws_s3_bucket_server_side_encryption_configuration.logs_dr] :
      contains(["AES256", "aws:kms"], one(c.rule).apply_server_side_encryption_by_default[0].sse_algorithm)
    ])
    error_message = "The log buckets must be encrypted at rest."
  }

  # Secrets Manager: primary key, DR replica under the DR key.
  assert {
    condition = alltrue([
      for s in [aws_secretsmanager_secret.cache_auth, aws_secretsmanager_secret.app_config, aws_secretsmanager_secret.db_app, aws_secretsmanager_secret.origin_verify] :
      s.kms_key_id == "arn:aws:kms:us-east-1:123456789012:key/primary-data" &&
      one(s.replica).region == "eu-west-1" &&
      one(s.replica).kms_key_id == "arn:aws:kms:eu-west-1:123456789012:key/dr-data"
    ])
    error_message = "Every secret (cache token, app config, app DB credentials) must be KMS-encrypted in the primary region and replicated to eu-west-1 under the DR key."
  }

  # ECR: KMS in both regions.
  assert {
    condition = (
      alltrue([
        for r in aws_ecr_repository.primary :
        r.encryption_configuration[0].encryption_type == "KMS" && r.encryption_configuration[0].kms_key == "arn:aws:kms:us-east-1:123456789012:key/primary-data"
      ]) &&
      aws_ecr_repository.nexus_api_dr.encryption_configuration[0].encryption_type == "KMS" &&
      aws_ecr_repository.nexus_api_dr.encryption_configuration[0].kms_key == "arn:aws:kms:eu-west-1:123456789012:key/dr-data"
    )
    error_message = "Every repository (nexus-api in both regions, ci/nexus-ci-tools) must be KMS-encrypted with its region's key."
  }

  # Root-level log groups (us-east-1) and alert topics.
  assert {
    condition = (
      aws_cloudwatch_log_group.waf_edge.kms_key_id == "arn:aws:kms:us-east-1:123456789012:key/ops-global" &&
      aws_cloudwatch_log_group.dns_queries.kms_key_id == "arn:aws:kms:us-east-1:123456789012:key/ops-global"
    )
    error_message = "The WAF and DNS query log groups must be KMS-encrypted."
  }

  assert {
    condition = alltrue([
      for t in [aws_sns_topic.alerts, aws_sns_topic.alerts_dr, aws_sns_topic.alerts_global] : startswith(t.kms_master_key_id, "arn:aws:kms:")
    ])
    error_message = "Every alert topic must be KMS-encrypted."
  }

  assert {
    condition     = aws_kms_key.ops_primary.enable_key_rotation && aws_kms_key.ops_dr.enable_key_rotation && aws_kms_key.ops_global.enable_key_rotation
    error_message = "Operations KMS keys must rotate."
  }

  # Backup vaults: each region's key.
  assert {
    condition = (
      aws_backup_vault.primary.kms_key_arn == "arn:aws:kms:us-east-1:123456789012:key/primary-data" &&
      aws_backup_vault.dr.kms_key_arn == "arn:aws:kms:eu-west-1:123456789012:key/dr-data"
    )
    error_message = "Backup vaults must be encrypted with their region's key."
  }
}

run "nothing_public" {
  command = plan

  assert {
    condition = alltrue([
      for b in [aws_s3_bucket_public_access_block.app_state, aws_s3_bucket_public_access_block.app_state_dr, aws_s3_bucket_public_access_block.logs, aws_s3_bucket_public_access_block.logs_dr] :
      b.block_public_acls && b.block_public_policy && b.ignore_public_acls && b.restrict_public_buckets
    ])
    error_message = "Every bucket must block all public access."
  }

  assert {
    condition = alltrue([
      for p in [data.aws_iam_policy_document.app_state_bucket["primary"], data.aws_iam_policy_document.app_state_bucket["dr"], data.aws_iam_policy_document.logs_bucket["primary"], data.aws_iam_policy_document.logs_bucket["dr"]] :
      anytrue([for s in p.statement : s.effect == "Deny" && anytrue([for c in s.condition : c.variable == "aws:SecureTransport" && contains(c.values, "false")])])
    ])
    error_message = "Every bucket policy must deny requests that do not use TLS."
  }
}

run "backups_30_days_copied_to_dr" {
  command = plan

  assert {
    condition     = var.backup_retention_days == 30 && local.db_settings.backup_retention_days == 30
    error_message = "Production keeps backups (AWS Backup and RDS automated backups) for 30 days."
  }

  assert {
    condition = alltrue([
      for r in aws_backup_plan.this.rule : r.lifecycle[0].delete_after == 30
    ])
    error_message = "Every backup rule must keep recovery points 30 days."
  }

  assert {
    condition = (
      one([for r in aws_backup_plan.this.rule : r.schedule if r.rule_name == "daily"]) == "cron(0 3 * * ? *)" &&
      one(one([for r in aws_backup_plan.this.rule : r.copy_action if r.rule_name == "daily"])).destination_vault_arn == "arn:aws:backup:eu-west-1:123456789012:backup-vault:nexus-production-dr-vault" &&
      one(one([for r in aws_backup_plan.this.rule : r.copy_action if r.rule_name == "daily"])).lifecycle[0].delete_after == 30
    )
    error_message = "The daily rule must run at 03:00 UTC and copy each recovery point to the DR vault, kept 30 days there."
  }

  assert {
    condition     = anytrue([for r in aws_backup_plan.this.rule : r.enable_continuous_backup == true])
    error_message = "A continuous (point-in-time) backup rule is required."
  }

  assert {
    condition = (
      contains(aws_backup_selection.this.resources, "arn:aws:rds:us-east-1:123456789012:db:nexus-production-primary") &&
      contains(aws_backup_selection.this.resources, "arn:aws:s3:::nexus-production-app-state-123456789012-us-east-1")
    )
    error_message = "The backup selection must cover the primary database and the app-state bucket."
  }

  assert {
    condition     = length(aws_backup_vault_lock_configuration.primary) == 1 && aws_backup_vault_lock_configuration.primary[0].min_retention_days == 30
    error_message = "The primary vault must be locked with a 30-day minimum retention."
  }
}

run "dr_replica_wiring" {
  command = plan

  assert {
    condition     = local.db_settings.multi_az && !local.dr_db_settings.multi_az && local.dr_db_settings.instance_class == local.db_settings.instance_class
    error_message = "The primary database is Multi-AZ; the DR replica (no writes) is single-AZ by default, same class."
  }

  assert {
    condition     = var.db.engine_version == "16"
    error_message = "Production pins PostgreSQL's major version only (RDS picks and upgrades the minor)."
  }

  assert {
    condition     = local.db_replica_source_arn == "arn:aws:rds:us-east-1:123456789012:db:nexus-production-primary"
    error_message = "The DR database must replicate the primary instance (by ARN)."
  }

  assert {
    condition     = output.database.replica.kms_key == "arn:aws:kms:eu-west-1:123456789012:key/dr-data" && output.database.replica.region == "eu-west-1"
    error_message = "The replica must live in the DR region under the DR region's KMS key."
  }

  assert {
    condition     = aws_elasticache_global_replication_group.this.engine_version == var.cache.engine_version
    error_message = "The Redis global datastore must manage the engine version of both members."
  }

  assert {
    condition     = sum([for g in var.dr_node_groups : g.desired_size]) < sum([for g in var.primary_node_groups : g.desired_size])
    error_message = "The DR cluster is a warm standby: fewer desired nodes than the primary."
  }

  assert {
    condition     = alltrue([for k, g in var.dr_node_groups : g.max_size >= var.primary_node_groups[k].desired_size])
    error_message = "Each DR node group must be able to scale to the primary's size."
  }
}

run "dns_failover_bound_to_health_checks" {
  command = plan

  assert {
    condition = (
      aws_route53_record.api_primary.failover_routing_policy[0].type == "PRIMARY" &&
      aws_route53_record.api_primary.health_check_id == "hc-primary-mock" &&
      aws_route53_record.api_primary.alias[0].evaluate_target_health
    )
    error_message = "api.<domain> PRIMARY must point at the primary ALB with the primary health check."
  }

  assert {
    condition = (
      aws_route53_record.api_dr.failover_routing_policy[0].type == "SECONDARY" &&
      aws_route53_record.api_dr.health_check_id == "hc-dr-mock" &&
      aws_route53_record.api_dr.alias[0].evaluate_target_health
    )
    error_message = "api.<domain> SECONDARY must point at the DR ALB with the DR health check."
  }

  assert {
    condition     = aws_route53_record.api_primary.name == "api.nexus-platform.example.com" && aws_route53_record.api_dr.name == aws_route53_record.api_primary.name
    error_message = "Both failover records must be api.<domain>."
  }

  assert {
    condition = alltrue([
      for hc in [aws_route53_health_check.primary, aws_route53_health_check.dr] :
      hc.type == "HTTPS" && hc.port == 443 && hc.resource_path == "/readyz" && hc.failure_threshold == 3 &&
      contains([10, 30], hc.request_interval) && hc.measure_latency && length(hc.regions) >= 3
    ])
    error_message = "Health checks must be HTTPS GET /readyz, threshold 3, 10/30 s interval, >= 3 checker regions, latency measured."
  }

  assert {
    condition = (
      aws_route53_health_check.primary.fqdn == "us-east-1.origin.nexus-platform.example.com" &&
      aws_route53_health_check.dr.fqdn == "eu-west-1.origin.nexus-platform.example.com" &&
      aws_route53_record.origin_primary.name == aws_route53_health_check.primary.fqdn &&
      aws_route53_record.origin_dr.name == aws_route53_health_check.dr.fqdn
    )
    error_message = "Each region's health check must probe that region's origin name."
  }

  assert {
    condition     = toset([for r in aws_route53_record.app : r.type]) == toset(["A", "AAAA"]) && alltrue([for r in aws_route53_record.app : r.name == "app.nexus-platform.example.com"])
    error_message = "app.<domain> must alias (A and AAAA) to CloudFront."
  }

  assert {
    condition     = length(aws_route53_record.certificate_validation) == 4
    error_message = "One validation record per distinct certificate name (two origins, api, app)."
  }

  assert {
    condition = (
      length(aws_route53_zone.this) == 0 &&
      data.aws_route53_zone.existing[0].name == "nexus-platform.example.com" &&
      !data.aws_route53_zone.existing[0].private_zone &&
      alltrue([for r in aws_route53_record.certificate_validation : r.zone_id == data.aws_route53_zone.existing[0].zone_id])
    )
    error_message = "Production reads its delegated zone (dns_zone = existing): a zone made in the same apply would leave ACM waiting for a delegation that does not exist yet."
  }
}

run "dns_zone_created_for_a_two_step_first_apply" {
  command = plan

  variables {
    dns_zone = "create"
  }

  assert {
    condition     = length(aws_route53_zone.this) == 1 && length(data.aws_route53_zone.existing) == 0 && aws_route53_zone.this[0].name == "nexus-platform.example.com"
    error_message = "dns_zone = create makes the zone (then delegate it and apply again)."
  }
}

run "edge_tls_waf_and_failover" {
  command = plan

  assert {
    condition     = aws_cloudfront_distribution.app.web_acl_id == aws_wafv2_web_acl.cloudfront.arn && aws_wafv2_web_acl.cloudfront.scope == "CLOUDFRONT"
    error_message = "The CLOUDFRONT-scope web ACL must be attached to the distribution."
  }

  assert {
    condition = length(setsubtract(
      ["AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesSQLiRuleSet", "rate-limit-per-ip"],
      [for r in aws_wafv2_web_acl.cloudfront.rule : r.name]
    )) == 0
    error_message = "The edge WAF needs the AWS managed rule groups (Common, KnownBadInputs, IP reputation, SQLi) and a rate-based rule."
  }

  assert {
    condition     = one([for r in aws_wafv2_web_acl.cloudfront.rule : r.statement[0].rate_based_statement[0].limit if r.name == "rate-limit-per-ip"]) == var.waf_rate_limit
    error_message = "The rate-based rule must use var.waf_rate_limit."
  }

  assert {
    condition     = aws_wafv2_web_acl_logging_configuration.cloudfront.resource_arn == aws_wafv2_web_acl.cloudfront.arn
    error_message = "The edge WAF must log."
  }

  assert {
    condition = (
      aws_cloudfront_distribution.app.viewer_certificate[0].minimum_protocol_version == "TLSv1.2_2021" &&
      aws_cloudfront_distribution.app.viewer_certificate[0].ssl_support_method == "sni-only" &&
      aws_cloudfront_distribution.app.default_cache_behavior[0].viewer_protocol_policy == "redirect-to-https"
    )
    error_message = "Viewers must be on TLS 1.2+ (TLSv1.2_2021, SNI) and HTTP must redirect to HTTPS."
  }

  assert {
    condition = alltrue([
      for o in aws_cloudfront_distribution.app.origin :
      o.custom_origin_config[0].origin_protocol_policy == "https-only" && o.custom_origin_config[0].origin_ssl_protocols == toset(["TLSv1.2"])
    ])
    error_message = "CloudFront must reach every origin over HTTPS with TLS 1.2 only."
  }

  assert {
    condition = (
      aws_cloudfront_distribution.app.default_cache_behavior[0].target_origin_id == "regional-failover" &&
      one(aws_cloudfront_distribution.app.origin_group).failover_criteria[0].status_codes == toset([500, 502, 503, 504]) &&
      [for m in one(aws_cloudfront_distribution.app.origin_group).member : m.origin_id] == ["primary", "dr"]
    )
    error_message = "The default behaviour must target the origin group failing over primary -> DR on 500/502/503/504."
  }

  assert {
    condition = toset([for o in aws_cloudfront_distribution.app.origin : o.domain_name]) == toset([
      "us-east-1.origin.nexus-platform.example.com", "eu-west-1.origin.nexus-platform.example.com"
    ])
    error_message = "The origins must be the two regions' origin names."
  }

  assert {
    condition = (
      aws_cloudfront_distribution.app.aliases == toset(["app.nexus-platform.example.com"]) &&
      aws_cloudfront_distribution.app.http_version == "http2and3" &&
      length(aws_cloudfront_distribution.app.logging_config) == 1 &&
      aws_cloudfront_distribution.app.wait_for_deployment
    )
    error_message = "Distribution: app alias, HTTP/2+3, access logging, waits for deployment in production."
  }

  assert {
    condition     = aws_cloudfront_response_headers_policy.security.security_headers_config[0].strict_transport_security[0].access_control_max_age_sec >= 31536000
    error_message = "HSTS must be sent for at least a year."
  }

  assert {
    condition = (
      aws_acm_certificate.alb_primary.domain_name == "us-east-1.origin.nexus-platform.example.com" &&
      contains(aws_acm_certificate.alb_primary.subject_alternative_names, "api.nexus-platform.example.com") &&
      aws_acm_certificate.alb_dr.domain_name == "eu-west-1.origin.nexus-platform.example.com" &&
      contains(aws_acm_certificate.alb_dr.subject_alternative_names, "api.nexus-platform.example.com") &&
      aws_acm_certificate.cloudfront.domain_name == "app.nexus-platform.example.com"
    )
    error_message = "Each ALB certificate covers its origin name and api.<domain>; the CloudFront one covers app.<domain>."
  }
}

run "app_state_replication" {
  command = plan

  assert {
    condition = (
      aws_s3_bucket_replication_configuration.app_state_to_dr.rule[0].destination[0].bucket == "arn:aws:s3:::nexus-production-app-state-123456789012-eu-west-1" &&
      aws_s3_bucket_replication_configuration.app_state_to_dr.rule[0].destination[0].encryption_configuration[0].replica_kms_key_id == "arn:aws:kms:eu-west-1:123456789012:key/dr-data" &&
      aws_s3_bucket_replication_configuration.app_state_to_dr.rule[0].source_selection_criteria[0].sse_kms_encrypted_objects[0].status == "Enabled" &&
      aws_s3_bucket_replication_configuration.app_state_to_dr.rule[0].delete_marker_replication[0].status == "Enabled"
    )
    error_message = "App state must replicate to the DR bucket, KMS objects included, re-encrypted with the DR key, delete markers too."
  }

  assert {
    condition = alltrue([
      for c in [aws_s3_bucket_replication_configuration.app_state_to_dr, aws_s3_bucket_replication_configuration.app_state_to_primary] :
      c.rule[0].destination[0].replication_time[0].time[0].minutes == 15 && c.rule[0].destination[0].metrics[0].status == "Enabled"
    ])
    error_message = "Replication time control (15 min) and replication metrics must be on in both directions."
  }

  assert {
    condition     = alltrue([for v in [aws_s3_bucket_versioning.app_state, aws_s3_bucket_versioning.app_state_dr] : v.versioning_configuration[0].status == "Enabled"])
    error_message = "Both app-state buckets must be versioned."
  }

  assert {
    condition = alltrue([
      for l in [aws_s3_bucket_lifecycle_configuration.app_state, aws_s3_bucket_lifecycle_configuration.app_state_dr] :
      length(l.rule[0].noncurrent_version_expiration) == 1 && l.rule[0].abort_incomplete_multipart_upload[0].days_after_initiation > 0
    ])
    error_message = "App-state lifecycle must expire noncurrent versions and abort incomplete multipart uploads."
  }
}

# The secrets helm/nexus reads by name (values-*.yaml externalSecret.remote) exist under exactly those names, and
# every region's nexus-api role is handed exactly them.
run "application_secrets" {
  command = plan

  assert {
    condition = (
      aws_secretsmanager_secret.app_config.name == "nexus-production/app/config" &&
      aws_secretsmanager_secret.db_app.name == "nexus-production/db/app" &&
      aws_secretsmanager_secret.cache_auth.name == "nexus-production/cache/auth-token" &&
      local.nexus_api_secret_names == ["nexus-production/app/config", "nexus-production/db/app", "nexus-production/cache/auth-token"]
    )
    error_message = "The app config, app DB credentials and cache token secrets must be named as helm/nexus expects and handed to the nexus-api roles."
  }

  assert {
    condition = (
      aws_secretsmanager_secret_version.db_app.secret_string_wo_version == var.db_app_credentials_version &&
      aws_secretsmanager_secret_version.db_app.secret_string == null &&
      var.db_app_username == "nexus_app"
    )
    error_message = "The app DB credentials (user nexus_app) must be written write-only, versioned by db_app_credentials_version."
  }
}

run "registry" {
  command = plan

  assert {
    condition = (
      aws_ecr_repository.primary["nexus_api"].name == "nexus-api" &&
      aws_ecr_repository.primary["nexus_api"].image_tag_mutability == "IMMUTABLE" &&
      aws_ecr_repository.primary["nexus_api"].image_scanning_configuration[0].scan_on_push &&
      aws_ecr_repository.nexus_api_dr.image_tag_mutability == "IMMUTABLE" &&
      aws_ecr_repository.nexus_api_dr.image_scanning_configuration[0].scan_on_push
    )
    error_message = "nexus-api: immutable tags, scan on push (both regions)."
  }

  assert {
    condition = (
      aws_ecr_repository.primary["ci_tools"].name == "ci/nexus-ci-tools" &&
      aws_ecr_repository.primary["ci_tools"].image_tag_mutability == "IMMUTABLE" &&
      aws_ecr_repository.primary["ci_tools"].image_scanning_configuration[0].scan_on_push &&
      aws_ecr_lifecycle_policy.primary["ci_tools"].repository == "ci/nexus-ci-tools" &&
      aws_ecr_lifecycle_policy.primary["ci_tools"].policy == aws_ecr_lifecycle_policy.primary["nexus_api"].policy
    )
    error_message = "ci/nexus-ci-tools (cicd/jenkins/pod.yaml): immutable tags, scan on push, the same lifecycle rules as nexus-api."
  }

  assert {
    condition = alltrue([
      for f in aws_ecr_replication_configuration.this.replication_configuration[0].rule[0].repository_filter :
      startswith("nexus-api", f.filter) && !startswith("ci/nexus-ci-tools", f.filter)
    ])
    error_message = "Only nexus-api is replicated to the DR region; the CI tools image stays in the primary region."
  }

  assert {
    condition = (
      aws_ecr_replication_configuration.this.replication_configuration[0].rule[0].destination[0].region == "eu-west-1" &&
      aws_ecr_replication_configuration.this.replication_configuration[0].rule[0].destination[0].registry_id == "123456789012"
    )
    error_message = "Images must replicate to the DR region of this account."
  }
}

run "alarms" {
  command = plan

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.db_replica_lag.namespace == "AWS/RDS" &&
      aws_cloudwatch_metric_alarm.db_replica_lag.metric_name == "ReplicaLag" &&
      aws_cloudwatch_metric_alarm.db_replica_lag.threshold == 60 &&
      aws_cloudwatch_metric_alarm.db_replica_lag.comparison_operator == "GreaterThanThreshold" &&
      contains(aws_cloudwatch_metric_alarm.db_replica_lag.alarm_actions, "arn:aws:sns:eu-west-1:123456789012:nexus-production-alerts")
    )
    error_message = "DR replica lag above 60 s must alert through the DR region's topic."
  }

  assert {
    condition = alltrue([
      for a in [aws_cloudwatch_metric_alarm.health_check_primary, aws_cloudwatch_metric_alarm.health_check_dr] :
      a.namespace == "AWS/Route53" && a.metric_name == "HealthCheckStatus" &&
      contains(a.alarm_actions, "arn:aws:sns:us-east-1:123456789012:nexus-production-alerts-global")
    ])
    error_message = "Route 53 health-check alarms must exist in us-east-1 and alert the global topic."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.health_check_primary.dimensions["HealthCheckId"] == "hc-primary-mock" && aws_cloudwatch_metric_alarm.health_check_dr.dimensions["HealthCheckId"] == "hc-dr-mock"
    error_message = "Each health-check alarm must watch its region's health check."
  }

  assert {
    condition     = length(aws_sns_topic_subscription.alerts_email) == 1 && aws_sns_topic_subscription.alerts_email[0].endpoint == var.alert_email
    error_message = "alert_email must be subscribed."
  }

  assert {
    condition     = length([for q in aws_cloudwatch_metric_alarm.cache_global_replication_lag.metric_query : q if q.id != "worst"]) == var.cache.num_cache_clusters
    error_message = "The Redis lag alarm must watch every node of the DR group."
  }
}

run "outputs_for_the_cli" {
  command = plan

  assert {
    condition     = keys(output.regions) == ["dr", "primary"]
    error_message = "The regions output must be keyed primary / dr."
  }

  assert {
    condition = (
      output.regions.primary.region == "us-east-1" && output.regions.dr.region == "eu-west-1" &&
      output.regions.primary.origin_fqdn == "us-east-1.origin.nexus-platform.example.com" &&
      output.regions.primary.db_instance_arn == "arn:aws:rds:us-east-1:123456789012:db:nexus-production-primary" &&
      output.regions.primary.health_check_id == "hc-primary-mock" && output.regions.dr.health_check_id == "hc-dr-mock" &&
      output.regions.primary.state_bucket == "nexus-production-app-state-123456789012-us-east-1"
    )
    error_message = "The regions output must describe each region."
  }

  assert {
    condition     = output.api_fqdn == "api.nexus-platform.example.com" && output.app_fqdn == "app.nexus-platform.example.com"
    error_message = "api/app hostnames."
  }

  # helm/nexus values-primary.yaml / values-dr.yaml annotate the ServiceAccount with exactly these role names.
  assert {
    condition = (
      output.regions.primary.nexus_api_role_arn == "arn:aws:iam::123456789012:role/nexus-production-nexus-api-us-east-1" &&
      output.regions.dr.nexus_api_role_arn == "arn:aws:iam::123456789012:role/nexus-production-nexus-api-eu-west-1"
    )
    error_message = "The regions output must carry each region's nexus-api role (<project>-<environment>-nexus-api-<region>)."
  }
}

# The sandbox switches change waiting and endpoints, plus what deletion protection implies - nothing else.
override_resource {
  target          = module.primary.aws_eip.nat
  override_during = plan
  values          = { public_ip = "198.51.100.7" }
}

override_resource {
  target          = aws_iam_role.argocd
  override_during = plan
  values          = { arn = "arn:aws:iam::123456789012:role/nexus-production-argocd" }
}

# Issue 21 item 1: Argo CD in the primary cluster delivers to both clusters (delivery.tf).
run "delivery_reaches_both_clusters" {
  command = plan

  # Its role, by EKS Pod Identity, only for Argo CD's ServiceAccounts in the primary cluster.
  assert {
    condition = (
      toset(keys(aws_eks_pod_identity_association.argocd)) == toset(["argocd-application-controller", "argocd-server", "argocd-applicationset-controller"]) &&
      alltrue([for a in aws_eks_pod_identity_association.argocd : a.cluster_name == "nexus-production-primary" && a.namespace == "argocd" && a.role_arn == aws_iam_role.argocd.arn])
    )
    error_message = "Argo CD's ServiceAccounts in the primary cluster must get its role through EKS Pod Identity."
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.delivery_assume["argocd"].statement :
      anytrue([for p in s.principals : contains(p.identifiers, "pods.eks.amazonaws.com")]) &&
      anytrue([for c in s.condition : c.variable == "aws:RequestTag/eks-cluster-name" && toset(c.values) == toset(["nexus-production-primary"])]) &&
      anytrue([for c in s.condition : c.variable == "aws:RequestTag/kubernetes-namespace" && toset(c.values) == toset(["argocd"])])
    ])
    error_message = "Only Argo CD's pods in the primary cluster may assume its role."
  }

  # An access entry in both clusters; the DR cluster's API admits the primary's NAT address, the primary's stays
  # private (no operator CIDRs in production.tfvars).
  assert {
    condition = (
      module.primary.cluster_admin_principals["argocd"] == "arn:aws:iam::123456789012:role/nexus-production-argocd" &&
      module.dr.cluster_admin_principals["argocd"] == "arn:aws:iam::123456789012:role/nexus-production-argocd"
    )
    error_message = "Argo CD's role needs an access entry in both clusters."
  }

  assert {
    condition     = module.dr.cluster_public_access_cidrs == tolist(["198.51.100.7/32"]) && length(module.primary.cluster_public_access_cidrs) == 0
    error_message = "The DR cluster's API must admit exactly the primary region's NAT addresses; the primary's stays private."
  }

  # Issue 11 item 7: Argo CD's cluster Secrets come from here (outputs.tf), with what the cluster generator of
  # the istio-ingressgateway ApplicationSet reads: the region and its role (labels), the ALB target group's ARN
  # (annotation; its value is known after the apply, checked against the emulator by the sandbox's tests).
  assert {
    condition = (
      output.argocd_cluster_secrets.kind == "List" &&
      [for s in output.argocd_cluster_secrets.items : s.stringData.name] == ["nexus-production-dr", "nexus-production-primary"] &&
      alltrue([for s in output.argocd_cluster_secrets.items : s.kind == "Secret" && s.metadata.namespace == "argocd" && s.metadata.labels["argocd.argoproj.io/secret-type"] == "cluster"]) &&
      [for s in output.argocd_cluster_secrets.items : [s.metadata.labels["nexus-platform/region"], s.metadata.labels["nexus-platform/region-role"]]] == [["eu-west-1", "dr"], ["us-east-1", "primary"]] &&
      alltrue([for s in output.argocd_cluster_secrets.items : keys(s.metadata.annotations) == ["nexus-platform/target-group-arn"] && keys(s.stringData) == ["config", "name", "server"]])
    )
    error_message = "Terraform must output one Argo CD cluster Secret per cluster, labelled with its region and role and annotated with its target group's ARN."
  }
}

# Issue 11 item 6: the Jenkins agent pushes nexus-api to ECR as a role of its own (delivery.tf).
run "jenkins_agent_pushes_to_ecr" {
  command = plan

  assert {
    condition = (
      aws_eks_pod_identity_association.jenkins_agent.cluster_name == "nexus-production-primary" &&
      aws_eks_pod_identity_association.jenkins_agent.namespace == "jenkins" &&
      aws_eks_pod_identity_association.jenkins_agent.service_account == "jenkins-agent-nexus"
    )
    error_message = "The Jenkins agent's ServiceAccount (cicd/jenkins/pod.yaml) in the primary cluster must get its role through EKS Pod Identity."
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.delivery_assume["jenkins_agent"].statement :
      anytrue([for c in s.condition : c.variable == "aws:RequestTag/kubernetes-service-account" && toset(c.values) == toset(["jenkins-agent-nexus"])]) &&
      anytrue([for c in s.condition : c.variable == "aws:RequestTag/kubernetes-namespace" && toset(c.values) == toset(["jenkins"])])
    ])
    error_message = "Only the Jenkins agent's pods may assume its role."
  }

  # Push to the primary repository only; the DR repository is only read (replication writes it).
  assert {
    condition = (
      contains(one([for s in data.aws_iam_policy_document.jenkins_agent.statement : s.actions if s.sid == "PushNexusApi"]), "ecr:PutImage") &&
      one([for s in data.aws_iam_policy_document.jenkins_agent.statement : s.actions if s.sid == "WaitForTheDrReplica"]) == toset(["ecr:DescribeImages"]) &&
      length([for s in data.aws_iam_policy_document.jenkins_agent.statement : s if contains(s.actions, "ecr:PutImage") && length(s.resources) != 1]) == 0
    )
    error_message = "The Jenkins agent may push to the primary nexus-api repository only and read the DR one."
  }
}

run "operators_are_admitted_where_listed" {
  command = plan

  variables {
    eks_public_access_cidrs = ["203.0.113.0/28"]
    cluster_admin_arns      = ["arn:aws:iam::123456789012:role/platform-oncall"]
  }

  assert {
    condition = (
      module.primary.cluster_public_access_cidrs == tolist(["203.0.113.0/28"]) &&
      module.dr.cluster_public_access_cidrs == tolist(["198.51.100.7/32", "203.0.113.0/28"]) &&
      module.dr.cluster_admin_principals["admin-0"] == "arn:aws:iam::123456789012:role/platform-oncall" &&
      module.primary.cluster_admin_principals["admin-0"] == "arn:aws:iam::123456789012:role/platform-oncall"
    )
    error_message = "Operators' CIDRs and roles must be admitted to both clusters."
  }
}

run "sandbox_switches" {
  command = plan

  variables {
    environment                    = "sandbox"
    domain_name                    = "sandbox.nexus-platform.example.com"
    deletion_protection            = false
    aws_endpoint_url               = "https://127.0.0.1:4566"
    aws_max_retries                = 2
    cloudfront_wait_for_deployment = false
  }

  assert {
    condition     = !aws_cloudfront_distribution.app.wait_for_deployment
    error_message = "The sandbox must not wait for CloudFront deployment."
  }

  assert {
    condition     = aws_s3_bucket.app_state.force_destroy && aws_secretsmanager_secret.cache_auth.recovery_window_in_days == 0 && aws_secretsmanager_secret.db_app.recovery_window_in_days == 0 && !local.db_settings.deletion_protection
    error_message = "Without deletion protection the sandbox must be removable by `nexus down`."
  }

  assert {
    condition     = aws_cloudfront_distribution.app.viewer_certificate[0].minimum_protocol_version == "TLSv1.2_2021" && aws_cloudfront_distribution.app.web_acl_id == aws_wafv2_web_acl.cloudfront.arn
    error_message = "The sandbox keeps every production feature (TLS policy, WAF, ...)."
  }

  assert {
    condition     = local.sandbox
    error_message = "aws_endpoint_url must switch the providers to the emulator."
  }
}
