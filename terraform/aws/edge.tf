# The global edge: ACM certificates (one per ALB region + one in us-east-1 for CloudFront), their DNS validation, and
# the CloudFront distribution serving app.<domain> with an origin group that fails over from the primary region's
# origin to the DR region's.
#
# Names:
#   app.<domain>                CloudFront (alias records in dns.tf)
#   api.<domain>                Route 53 failover: primary ALB, else DR ALB (dns.tf)
#   <region>.origin.<domain>    one per region, alias to that region's ALB: CloudFront's origins and the health-check
#                               targets

locals {
  app_fqdn          = "app.${var.domain_name}"
  api_fqdn          = "api.${var.domain_name}"
  health_check_path = "/readyz"

  origin_fqdn = {
    primary = "${var.primary_region}.origin.${var.domain_name}"
    dr      = "${var.dr_region}.origin.${var.domain_name}"
  }

  # Names on each certificate. Each ALB answers for its own origin name and for api.<domain> (which resolves to
  # whichever region is active).
  certificate_names = {
    primary    = [local.origin_fqdn.primary, local.api_fqdn]
    dr         = [local.origin_fqdn.dr, local.api_fqdn]
    cloudfront = [local.app_fqdn]
  }

  # ACM issues the same validation CNAME for a name in every certificate of the account (in any region), so one
  # record per distinct name is created, taken from the first certificate that carries the name. The keys are known
  # at plan time (they come from configuration, not from ACM).
  validation_record_source = {
    for name in distinct(flatten([local.certificate_names.primary, local.certificate_names.dr, local.certificate_names.cloudfront])) :
    name => (contains(local.certificate_names.primary, name) ? "primary" : contains(local.certificate_names.dr, name) ? "dr" : "cloudfront")
  }

  certificate_validation_options = {
    primary    = aws_acm_certificate.alb_primary.domain_validation_options
    dr         = aws_acm_certificate.alb_dr.domain_validation_options
    cloudfront = aws_acm_certificate.cloudfront.domain_validation_options
  }

  # CloudFront managed policies (fixed, documented IDs).
  cloudfront_cache_policy_caching_disabled                = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
  cloudfront_origin_request_policy_all_viewer_except_host = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
}

# --- certificates -------------------------------------------------------------------------------------------------

resource "aws_acm_certificate" "alb_primary" {
  domain_name               = local.certificate_names.primary[0]
  subject_alternative_names = slice(local.certificate_names.primary, 1, length(local.certificate_names.primary))
  validation_method         = "DNS"
  key_algorithm             = "RSA_2048"

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_acm_certificate" "alb_dr" {
  provider = aws.dr

  domain_name               = local.certificate_names.dr[0]
  subject_alternative_names = slice(local.certificate_names.dr, 1, length(local.certificate_names.dr))
  validation_method         = "DNS"
  key_algorithm             = "RSA_2048"

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_acm_certificate" "cloudfront" {
  provider = aws.global

  domain_name       = local.certificate_names.cloudfront[0]
  validation_method = "DNS"
  key_algorithm     = "RSA_2048"

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_route53_record" "certificate_validation" {
  provider = aws.global
  for_each = local.validation_record_source

  zone_id         = local.zone_id
  name            = one([for o in local.certificate_validation_options[each.value] : o.resource_record_name if o.domain_name == each.key])
  type            = one([for o in local.certificate_validation_options[each.value] : o.resource_record_type if o.domain_name == each.key])
  records         = [one([for o in local.certificate_validation_options[each.value] : o.resource_record_value if o.domain_name == each.key])]
  ttl             = 300
  allow_overwrite = true
}

resource "aws_acm_certificate_validation" "alb_primary" {
  certificate_arn         = aws_acm_certificate.alb_primary.arn
  validation_record_fqdns = [for name in local.certificate_names.primary : aws_route53_record.certificate_validation[name].fqdn]
}

resource "aws_acm_certificate_validation" "alb_dr" {
  provider = aws.dr

  certificate_arn         = aws_acm_certificate.alb_dr.arn
  validation_record_fqdns = [for name in local.certificate_names.dr : aws_route53_record.certificate_validation[name].fqdn]
}

resource "aws_acm_certificate_validation" "cloudfront" {
  provider = aws.global

  certificate_arn         = aws_acm_certificate.cloudfront.arn
  validation_record_fqdns = [for name in local.certificate_names.cloudfront : aws_route53_record.certificate_validation[name].fqdn]
}

# --- CloudFront ---------------------------------------------------------------------------------------------------

resource "aws_cloudfront_response_headers_policy" "security" {
  provider = aws.global

  name    = "${local.name_prefix}-security-headers"
  comment = "Security headers on every ${local.app_fqdn} response"

  security_headers_config {
    strict_transport_security {
      access_control_max_age_sec = 63072000
      include_subdomains         = true
      preload                    = true
      override                   = true
    }
    content_type_options {
      override = true
    }
    frame_options {
      frame_option = "DENY"
      override     = true
    }
    referrer_policy {
      referrer_policy = "strict-origin-when-cross-origin"
      override        = true
    }
    xss_protection {
      protection = true
      mode_block = true
      override   = true
    }
    content_security_policy {
      content_security_policy = "default-src 'self'; base-uri 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'"
      override                = false # the application may send a stricter policy of its own
    }
  }
}

resource "aws_cloudfront_distribution" "app" {
  provider = aws.global

  #checkov:skip=CKV_AWS_374:No geo restriction: the platform serves a global audience by design (multi-region, global edge); abuse is handled by the WAF.
  #checkov:skip=CKV_AWS_305:The origins are the application (dynamic responses for "/"); a default root object would rewrite "/" to a file the application does not serve.
  #checkov:skip=CKV2_AWS_46:No S3 origin: both origins are the regional ALBs (custom origins). The only S3 bucket connected is the access-log target of logging_config.
  enabled             = true
  comment             = "${local.name_prefix}: ${local.app_fqdn} -> ${var.primary_region} (failover ${var.dr_region})"
  aliases             = [local.app_fqdn]
  http_version        = "http2and3"
  is_ipv6_enabled     = true
  price_class         = var.cloudfront_price_class
  web_acl_id          = aws_wafv2_web_acl.cloudfront.arn
  wait_for_deployment = var.cloudfront_wait_for_deployment

  origin {
    origin_id           = "primary"
    domain_name         = local.origin_fqdn.primary
    connection_attempts = 3
    connection_timeout  = 5

    # The regional WAF trusts X-Forwarded-For only on requests that carry this (rate limit per viewer).
    custom_header {
      name  = "x-nexus-origin-verify"
      value = local.origin_verify_secret
    }

    custom_origin_config {
      http_port                = 80
      https_port               = 443
      origin_protocol_policy   = "https-only"
      origin_ssl_protocols     = ["TLSv1.2"]
      origin_read_timeout      = 30
      origin_keepalive_timeout = 5
    }
  }

  origin {
    origin_id           = "dr"
    domain_name         = local.origin_fqdn.dr
    connection_attempts = 3
    connection_timeout  = 5

    # The regional WAF trusts X-Forwarded-For only on requests that carry this (rate limit per viewer).
    custom_header {
      name  = "x-nexus-origin-verify"
      value = local.origin_verify_secret
    }

    custom_origin_config {
      http_port                = 80
      https_port               = 443
      origin_protocol_policy   = "https-only"
      origin_ssl_protocols     = ["TLSv1.2"]
      origin_read_timeout      = 30
      origin_keepalive_timeout = 5
    }
  }

  # A request the primary origin answers with a 5xx (or cannot answer) is retried on the DR origin.
  origin_group {
    origin_id = "regional-failover"

    failover_criteria {
      status_codes = [500, 502, 503, 504]
    }

    member {
      origin_id = "primary"
    }

    member {
      origin_id = "dr"
    }
  }

  # CloudFront only allows the read methods on a behaviour whose target is an origin group (origin failover retries
  # GET/HEAD/OPTIONS only). Writes go to api.<domain>, which Route 53 fails over between the regions (dns.tf).
  default_cache_behavior {
    target_origin_id           = "regional-failover"
    allowed_methods            = ["GET", "HEAD", "OPTIONS"]
    cached_methods             = ["GET", "HEAD"]
    viewer_protocol_policy     = "redirect-to-https"
    compress                   = true
    cache_policy_id            = local.cloudfront_cache_policy_caching_disabled
    origin_request_policy_id   = local.cloudfront_origin_request_policy_all_viewer_except_host
    response_headers_policy_id = aws_cloudfront_response_headers_policy.security.id
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    acm_certificate_arn      = aws_acm_certificate_validation.cloudfront.certificate_arn
    ssl_support_method       = "sni-only"
    minimum_protocol_version = "TLSv1.2_2021"
  }

  logging_config {
    bucket          = aws_s3_bucket.logs.bucket_domain_name
    prefix          = "cloudfront/"
    include_cookies = false
  }

  depends_on = [aws_s3_bucket_ownership_controls.logs]
}
