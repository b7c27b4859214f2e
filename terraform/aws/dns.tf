# Route 53: the platform's public zone, each region's origin name, health checks on each region, the api.<domain>
# failover pair and the app.<domain> alias to CloudFront. Route 53 is a global service; it is managed through the
# us-east-1 provider, where its health-check metrics also live.
#
# Failover timing (feeds the RTO < 15 min budget): a region is declared unhealthy after var.health_check's 3 failed
# checks 10 s apart from each of 3 checker regions (~30 s); alias records are served with the target's 60 s TTL.

locals {
  # Route 53 checker regions (at least three are required).
  health_check_regions = ["us-east-1", "us-west-2", "eu-west-1"]
}

# The zone for domain_name: one that already exists and is delegated (dns_zone = "existing", production's: ACM
# validates the certificates as soon as their records exist), or a new one (dns_zone = "create": its name servers
# must be delegated from the parent domain before the certificates can validate; README "Terraform against real
# AWS", two-step first apply).
data "aws_route53_zone" "existing" {
  provider = aws.global
  count    = var.dns_zone == "existing" ? 1 : 0

  name         = var.domain_name
  private_zone = false
}

resource "aws_route53_zone" "this" {
  provider = aws.global
  count    = var.dns_zone == "create" ? 1 : 0

  #checkov:skip=CKV2_AWS_39:Query logging is on: aws_route53_query_log.this logs local.zone_id, this zone when dns_zone = create (checkov does not follow the reference through the local).
  #checkov:skip=CKV2_AWS_38:DNSSEC signing only protects once the DS record is published in the parent zone at the registrar, which is outside this configuration; enabling it is a separate, staged change (KSK in us-east-1, then DS at the registrar).
  name    = var.domain_name
  comment = "${local.name_prefix} public zone (managed by Terraform)"
}

moved {
  from = aws_route53_zone.this
  to   = aws_route53_zone.this[0]
}

locals {
  zone_id           = var.dns_zone == "create" ? aws_route53_zone.this[0].zone_id : data.aws_route53_zone.existing[0].zone_id
  zone_name_servers = var.dns_zone == "create" ? aws_route53_zone.this[0].name_servers : data.aws_route53_zone.existing[0].name_servers
}

# --- DNS query logging --------------------------------------------------------------------------------------------
# Query logs of a public zone must go to a us-east-1 log group whose resource policy lets Route 53 write to it.

resource "aws_cloudwatch_log_group" "dns_queries" {
  provider = aws.global

  name              = "/aws/route53/${var.domain_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.ops_global.arn
}

data "aws_iam_policy_document" "dns_query_logging" {
  statement {
    sid       = "Route53WritesQueryLogs"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.dns_queries.arn}:*"]
    principals {
      type        = "Service"
      identifiers = ["route53.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_cloudwatch_log_resource_policy" "dns_query_logging" {
  provider = aws.global

  policy_name     = "${local.name_prefix}-route53-query-logging"
  policy_document = data.aws_iam_policy_document.dns_query_logging.json
}

resource "aws_route53_query_log" "this" {
  provider = aws.global

  zone_id                  = local.zone_id
  cloudwatch_log_group_arn = aws_cloudwatch_log_group.dns_queries.arn

  depends_on = [aws_cloudwatch_log_resource_policy.dns_query_logging]
}

# --- per-region origin names --------------------------------------------------------------------------------------

resource "aws_route53_record" "origin_primary" {
  provider = aws.global

  zone_id = local.zone_id
  name    = local.origin_fqdn.primary
  type    = "A"

  alias {
    name                   = module.primary.alb_dns_name
    zone_id                = module.primary.alb_zone_id
    evaluate_target_health = true
  }
}

resource "aws_route53_record" "origin_dr" {
  provider = aws.global

  zone_id = local.zone_id
  name    = local.origin_fqdn.dr
  type    = "A"

  alias {
    name                   = module.dr.alb_dns_name
    zone_id                = module.dr.alb_zone_id
    evaluate_target_health = true
  }
}

# --- health checks ------------------------------------------------------------------------------------------------
# HTTPS GET https://<region>.origin.<domain>/readyz through the region's ALB: the path is ready only when the
# application there can reach its database and cache.

resource "aws_route53_health_check" "primary" {
  provider = aws.global

  fqdn              = local.origin_fqdn.primary
  type              = "HTTPS"
  port              = 443
  resource_path     = local.health_check_path
  enable_sni        = true
  failure_threshold = var.health_check.failure_threshold
  request_interval  = var.health_check.request_interval
  measure_latency   = true
  regions           = local.health_check_regions

  tags = {
    Name = "${local.regions.primary.name}-readyz"
  }
}

resource "aws_route53_health_check" "dr" {
  provider = aws.global

  fqdn              = local.origin_fqdn.dr
  type              = "HTTPS"
  port              = 443
  resource_path     = local.health_check_path
  enable_sni        = true
  failure_threshold = var.health_check.failure_threshold
  request_interval  = var.health_check.request_interval
  measure_latency   = true
  regions           = local.health_check_regions

  tags = {
    Name = "${local.regions.dr.name}-readyz"
  }
}

# --- api.<domain>: active-passive failover ------------------------------------------------------------------------

resource "aws_route53_record" "api_primary" {
  provider = aws.global

  zone_id         = local.zone_id
  name            = local.api_fqdn
  type            = "A"
  set_identifier  = "primary-${var.primary_region}"
  health_check_id = aws_route53_health_check.primary.id

  failover_routing_policy {
    type = "PRIMARY"
  }

  alias {
    name                   = module.primary.alb_dns_name
    zone_id                = module.primary.alb_zone_id
    evaluate_target_health = true
  }
}

resource "aws_route53_record" "api_dr" {
  provider = aws.global

  zone_id         = local.zone_id
  name            = local.api_fqdn
  type            = "A"
  set_identifier  = "secondary-${var.dr_region}"
  health_check_id = aws_route53_health_check.dr.id

  failover_routing_policy {
    type = "SECONDARY"
  }

  alias {
    name                   = module.dr.alb_dns_name
    zone_id                = module.dr.alb_zone_id
    evaluate_target_health = true
  }
}

# --- app.<domain>: CloudFront -------------------------------------------------------------------------------------

resource "aws_route53_record" "app" {
  provider = aws.global
  for_each = toset(["A", "AAAA"])

  zone_id = local.zone_id
  name    = local.app_fqdn
  type    = each.key

  alias {
    name                   = aws_cloudfront_distribution.app.domain_name
    zone_id                = aws_cloudfront_distribution.app.hosted_zone_id
    evaluate_target_health = false # not supported for CloudFront targets
  }
}
