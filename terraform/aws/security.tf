# Security at the root: the account facts, the operations KMS keys (alerts + root-level log groups), the
# CLOUDFRONT-scope WAF, and the Secrets Manager secrets replicated to the DR region.
# (Each region's data key, security groups and regional ALB WAF live in modules/region.)

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  # Where each operations key lives.
  ops_key_regions = {
    primary = var.primary_region
    dr      = var.dr_region
    global  = "us-east-1"
  }
}

# --- operations KMS keys ------------------------------------------------------------------------------------------
# One customer-managed key per provider for what the root creates outside the data path: the alert topics (CloudWatch
# alarms and RDS event notifications must be allowed to use the key of an encrypted topic, which AWS-managed keys
# cannot grant) and the root-level CloudWatch log groups (WAF and DNS query logs, us-east-1).

data "aws_iam_policy_document" "ops_key" {
  for_each = local.ops_key_regions

  #checkov:skip=CKV_AWS_109:A KMS key policy is attached to one key; "Resource = *" in a key policy means this key. Administration stays with the account's IAM.
  #checkov:skip=CKV_AWS_111:A KMS key policy is attached to one key; "Resource = *" in a key policy means this key, so writes are already scoped to it.
  #checkov:skip=CKV_AWS_356:A KMS key policy is attached to one key; "Resource = *" in a key policy means this key.
  statement {
    sid       = "AccountAdministers"
    effect    = "Allow"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchLogsEncryptLogGroups"
    effect    = "Allow"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${each.value}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${each.value}:${local.account_id}:log-group:*"]
    }
  }

  statement {
    sid       = "AlarmsAndEventsPublishToEncryptedTopics"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com", "events.rds.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_kms_key" "ops_primary" {
  description             = "${local.name_prefix} operations (alerts, root log groups) - primary region"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.ops_key["primary"].json
}

resource "aws_kms_alias" "ops_primary" {
  name          = "alias/${local.name_prefix}-ops"
  target_key_id = aws_kms_key.ops_primary.key_id
}

resource "aws_kms_key" "ops_dr" {
  provider = aws.dr

  description             = "${local.name_prefix} operations (alerts) - DR region"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.ops_key["dr"].json
}

resource "aws_kms_alias" "ops_dr" {
  provider = aws.dr

  name          = "alias/${local.name_prefix}-ops"
  target_key_id = aws_kms_key.ops_dr.key_id
}

resource "aws_kms_key" "ops_global" {
  provider = aws.global

  description             = "${local.name_prefix} operations (edge WAF logs, DNS query logs, health-check alerts) - us-east-1"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.ops_key["global"].json
}

resource "aws_kms_alias" "ops_global" {
  provider = aws.global

  name          = "alias/${local.name_prefix}-ops-global"
  target_key_id = aws_kms_key.ops_global.key_id
}

# --- CLOUDFRONT-scope WAF ----------------------------------------------------------------------------------------
# Evaluated at the edge before CloudFront forwards anything to an origin. The regional ALBs carry their own REGIONAL
# web ACLs (modules/region) because api.<domain> reaches them directly through Route 53.

# Rule order: drop known-bad sources first (cheap), then rate limiting, then the inspection rule sets.
resource "aws_wafv2_web_acl" "cloudfront" {
  provider = aws.global

  name        = "${local.name_prefix}-edge"
  description = "Edge protection for the ${local.name_prefix} CloudFront distribution"
  scope       = "CLOUDFRONT"

  default_action {
    allow {}
  }

  rule {
    name     = "AWSManagedRulesAmazonIpReputationList"
    priority = 10

    override_action {
      none {}
    }

    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesAmazonIpReputationList"
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.name_prefix}-edge-AWSManagedRulesAmazonIpReputationList"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "AWSManagedRulesAnonymousIpList"
    priority = 15

    override_action {
      none {}
    }

    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesAnonymousIpList"

        # Requests from cloud/hosting address space are counted, not blocked: server-to-server API clients run there.
        rule_action_override {
          name = "HostingProviderIPList"
          action_to_use {
            count {}
          }
        }
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.name_prefix}-edge-AWSManagedRulesAnonymousIpList"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "rate-limit-per-ip"
    priority = 20

    action {
      block {}
    }

    statement {
      rate_based_statement {
        limit                 = var.waf_rate_limit
        aggregate_key_type    = "IP"
        evaluation_window_sec = 300
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.name_prefix}-edge-rate-limit"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "AWSManagedRulesCommonRuleSet"
    priority = 30

    override_action {
      none {}
    }

    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesCommonRuleSet"
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.name_prefix}-edge-AWSManagedRulesCommonRuleSet"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "AWSManagedRulesKnownBadInputsRuleSet"
    priority = 40

    override_action {
      none {}
    }

    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesKnownBadInputsRuleSet"
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.name_prefix}-edge-AWSManagedRulesKnownBadInputsRuleSet"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "AWSManagedRulesSQLiRuleSet"
    priority = 50

    override_action {
      none {}
    }

    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesSQLiRuleSet"
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.name_prefix}-edge-AWSManagedRulesSQLiRuleSet"
      sampled_requests_enabled   = true
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = "${local.name_prefix}-edge"
    sampled_requests_enabled   = true
  }
}

# WAF logs of a CLOUDFRONT web ACL must go to us-east-1; the log group name must start with aws-waf-logs-.
resource "aws_cloudwatch_log_group" "waf_edge" {
  provider = aws.global

  name              = "aws-waf-logs-${local.name_prefix}-edge"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.ops_global.arn
}

resource "aws_wafv2_web_acl_logging_configuration" "cloudfront" {
  provider = aws.global

  resource_arn            = aws_wafv2_web_acl.cloudfront.arn
  log_destination_configs = [aws_cloudwatch_log_group.waf_edge.arn]

  # Credentials never reach the logs.
  redacted_fields {
    single_header {
      name = "authorization"
    }
  }
  redacted_fields {
    single_header {
      name = "cookie"
    }
  }
}

# --- Secrets Manager ---------------------------------------------------------------------------------------------
# Every secret lives in the primary region, encrypted with its KMS key, and is replicated to the DR region under the
# DR region's KMS key, so the standby reads them locally even when the primary region is gone.

locals {
  # helm/nexus (externalSecret.remote) reads these three by name, in its own region; each region's nexus-api role
  # may read exactly them (modules/region workload_identity.tf).
  secret_names = {
    app_config = "${local.name_prefix}/app/config"
    db_app     = "${local.name_prefix}/db/app"
    cache_auth = "${local.name_prefix}/cache/auth-token"
    # Not read by nexus-api: CloudFront and the regional WAFs' shared secret.
    origin_verify = "${local.name_prefix}/edge/origin-verify"
  }
  nexus_api_secret_names = [local.secret_names.app_config, local.secret_names.db_app, local.secret_names.cache_auth]
}

# Redis AUTH token, generated by Secrets Manager (GetRandomPassword; no random provider) and written with the
# write-only secret_string_wo, so the secret version resource never records it. A new token is written only when
# var.cache_auth_token_version changes (bump it to rotate); the token actually stored is read back below and handed
# to both replication groups.
#
# Why a data source and not `ephemeral "aws_secretsmanager_random_password"`: Terraform 1.11's mock providers reject
# ephemeral resource types ("The provider mocking mechanism does not yet support ephemeral resource types"), which
# would make every `terraform test` run of this configuration fail. The ephemeral form would not keep the token out
# of the state anyway: ElastiCache's auth_token argument is not write-only, so the replication groups record it (the
# state bucket is KMS-encrypted and private). The data source draws a fresh candidate on every plan; it is ignored
# unless the version number changes.
resource "aws_secretsmanager_secret" "cache_auth" {
  #checkov:skip=CKV2_AWS_57:Not rotated by a Lambda: the AUTH token has to change on both ElastiCache replication groups in the same step, which Terraform does when var.cache_auth_token_version is bumped.
  name                    = local.secret_names.cache_auth
  description             = "Redis AUTH token of the ${local.name_prefix} replication groups (both regions)"
  kms_key_id              = module.primary.kms_key_arn
  recovery_window_in_days = var.deletion_protection ? 30 : 0

  replica {
    region     = var.dr_region
    kms_key_id = module.dr.kms_key_arn
  }
}

data "aws_secretsmanager_random_password" "cache_auth" {
  password_length     = 64
  exclude_punctuation = true # AUTH tokens may not contain @, " or /; alphanumerics suit every client
  include_space       = false
}

resource "aws_secretsmanager_secret_version" "cache_auth" {
  secret_id                = aws_secretsmanager_secret.cache_auth.id
  secret_string_wo         = sensitive(data.aws_secretsmanager_random_password.cache_auth.random_password)
  secret_string_wo_version = var.cache_auth_token_version
}

data "aws_secretsmanager_secret_version" "cache_auth" {
  secret_id  = aws_secretsmanager_secret_version.cache_auth.secret_id
  version_id = aws_secretsmanager_secret_version.cache_auth.version_id
}

locals {
  cache_auth_token = data.aws_secretsmanager_secret_version.cache_auth.secret_string
}

# The secret CloudFront puts in the x-nexus-origin-verify header of every origin request: the regional WAFs limit
# such requests per viewer (X-Forwarded-For) and every other request per source address, so a client forging
# X-Forwarded-For gains nothing. Generated and kept like the AUTH token above; bump origin_verify_version to rotate
# (CloudFront and both WAFs change in the same apply).
resource "aws_secretsmanager_secret" "origin_verify" {
  #checkov:skip=CKV2_AWS_57:Not rotated by a Lambda: CloudFront's origin header and both regional WAFs change in the same step, which Terraform does when var.origin_verify_version is bumped.
  name                    = local.secret_names.origin_verify
  description             = "Header value CloudFront sends to the ${local.name_prefix} origins (the regional WAFs trust its X-Forwarded-For only then)"
  kms_key_id              = module.primary.kms_key_arn
  recovery_window_in_days = var.deletion_protection ? 30 : 0

  replica {
    region     = var.dr_region
    kms_key_id = module.dr.kms_key_arn
  }
}

data "aws_secretsmanager_random_password" "origin_verify" {
  password_length     = 48
  exclude_punctuation = true
  include_space       = false
}

resource "aws_secretsmanager_secret_version" "origin_verify" {
  secret_id                = aws_secretsmanager_secret.origin_verify.id
  secret_string_wo         = sensitive(data.aws_secretsmanager_random_password.origin_verify.random_password)
  secret_string_wo_version = var.origin_verify_version
}

data "aws_secretsmanager_secret_version" "origin_verify" {
  secret_id  = aws_secretsmanager_secret_version.origin_verify.secret_id
  version_id = aws_secretsmanager_secret_version.origin_verify.version_id
}

locals {
  origin_verify_secret = data.aws_secretsmanager_secret_version.origin_verify.secret_string
}

# Credentials nexus-api connects to PostgreSQL with: a role of its own, not the RDS-managed master user. Built like
# the AUTH token above, for the same reasons: drawn by the GetRandomPassword data source (its latest candidate sits
# in the encrypted state, as the token's does), written through the write-only secret_string_wo so the version
# resource never records it, and replaced only when var.db_app_credentials_version changes. Unlike the token nothing
# here reads it back: Terraform does not reach into the database (no PostgreSQL provider; the instances are private),
# so the role is created, and its password set from this secret, with the master credentials - on rotation in the
# same change window.
resource "aws_secretsmanager_secret" "db_app" {
  #checkov:skip=CKV2_AWS_57:Not rotated by a Lambda: the password has to change in the secret and on the PostgreSQL role together, which is done by bumping var.db_app_credentials_version and ALTER ROLE in one change.
  name                    = local.secret_names.db_app
  description             = "PostgreSQL credentials of nexus-api, JSON with username and password (both regions)"
  kms_key_id              = module.primary.kms_key_arn
  recovery_window_in_days = var.deletion_protection ? 30 : 0

  replica {
    region     = var.dr_region
    kms_key_id = module.dr.kms_key_arn
  }
}

data "aws_secretsmanager_random_password" "db_app" {
  password_length     = 48
  exclude_punctuation = true # letters and digits only: the password goes into a postgresql:// URL (helm/nexus)
  include_space       = false
}

resource "aws_secretsmanager_secret_version" "db_app" {
  secret_id = aws_secretsmanager_secret.db_app.id
  secret_string_wo = sensitive(jsonencode({
    username = var.db_app_username
    password = data.aws_secretsmanager_random_password.db_app.random_password
  }))
  secret_string_wo_version = var.db_app_credentials_version
}

# Application configuration the workloads read through External Secrets (no credentials in it: the application's
# database credentials, the master's (RDS-managed) and the cache token are the secrets above, referenced by ARN).
resource "aws_secretsmanager_secret" "app_config" {
  #checkov:skip=CKV2_AWS_57:Holds endpoints and secret references, not a credential; it changes whenever Terraform changes the topology, so there is nothing to rotate.
  name                    = local.secret_names.app_config
  description             = "Runtime configuration of the ${local.name_prefix} workloads (both regions)"
  kms_key_id              = module.primary.kms_key_arn
  recovery_window_in_days = var.deletion_protection ? 30 : 0

  replica {
    region     = var.dr_region
    kms_key_id = module.dr.kms_key_arn
  }
}

resource "aws_secretsmanager_secret_version" "app_config" {
  secret_id = aws_secretsmanager_secret.app_config.id
  secret_string = jsonencode({
    project                         = var.project
    environment                     = var.environment
    api_fqdn                        = local.api_fqdn
    app_fqdn                        = local.app_fqdn
    cache_auth_secret_arn           = aws_secretsmanager_secret.cache_auth.arn
    app_state_bucket                = { primary = aws_s3_bucket.app_state.bucket, dr = aws_s3_bucket.app_state_dr.bucket }
    primary_region                  = var.primary_region
    dr_region                       = var.dr_region
    health_check_path               = local.health_check_path
    database_port                   = module.primary.db_port
    database_host                   = { primary = module.primary.db_address, dr = module.dr.db_address }
    database_master_user_secret_arn = module.primary.db_master_user_secret_arn
    database_app_secret_arn         = aws_secretsmanager_secret.db_app.arn
    cache_port                      = module.primary.cache_port
    cache_primary_endpoint          = { primary = module.primary.cache_primary_endpoint, dr = module.dr.cache_primary_endpoint }
    cache_reader_endpoint           = { primary = module.primary.cache_reader_endpoint, dr = module.dr.cache_reader_endpoint }
  })
}
