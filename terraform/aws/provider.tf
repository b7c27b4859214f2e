# Three configurations of the one AWS provider:
#   aws         the primary region (var.primary_region)
#   aws.dr      the disaster-recovery region (var.dr_region)
#   aws.global  us-east-1, where CloudFront's certificate, its WAF web ACL, and the Route 53 health-check metrics live
#
# Sandbox switches (the only ones): var.aws_endpoint_url points every service this configuration (and the region
# module) calls at the local AWS emulator; var.aws_max_retries and var.cloudfront_wait_for_deployment tune waiting.

locals {
  sandbox = var.aws_endpoint_url != null

  # Tags every resource carries (plus RegionRole, set per provider below).
  common_tags = {
    Project     = var.project
    Environment = var.environment
    ManagedBy   = "terraform"
  }
}

provider "aws" {
  region      = var.primary_region
  max_retries = var.aws_max_retries

  # Only when pointed at the emulator: path-style S3, no STS round-trip to validate the (dummy) credentials, no
  # EC2 instance-metadata probing. The account id is still requested (ECR replication needs it).
  s3_use_path_style           = local.sandbox
  skip_credentials_validation = local.sandbox
  skip_metadata_api_check     = local.sandbox ? "true" : null
  skip_requesting_account_id  = false

  dynamic "endpoints" {
    for_each = local.sandbox ? [var.aws_endpoint_url] : []
    content {
      acm            = endpoints.value
      autoscaling    = endpoints.value
      backup         = endpoints.value
      cloudfront     = endpoints.value
      cloudwatch     = endpoints.value
      dynamodb       = endpoints.value
      ec2            = endpoints.value
      ecr            = endpoints.value
      eks            = endpoints.value
      elasticache    = endpoints.value
      elbv2          = endpoints.value
      events         = endpoints.value
      iam            = endpoints.value
      kms            = endpoints.value
      logs           = endpoints.value
      rds            = endpoints.value
      route53        = endpoints.value
      s3             = endpoints.value
      secretsmanager = endpoints.value
      sns            = endpoints.value
      sqs            = endpoints.value
      ssm            = endpoints.value
      sts            = endpoints.value
      wafv2          = endpoints.value
    }
  }

  default_tags {
    tags = merge(local.common_tags, { RegionRole = "primary" })
  }
}

provider "aws" {
  alias       = "dr"
  region      = var.dr_region
  max_retries = var.aws_max_retries

  s3_use_path_style           = local.sandbox
  skip_credentials_validation = local.sandbox
  skip_metadata_api_check     = local.sandbox ? "true" : null
  skip_requesting_account_id  = false

  dynamic "endpoints" {
    for_each = local.sandbox ? [var.aws_endpoint_url] : []
    content {
      acm            = endpoints.value
      autoscaling    = endpoints.value
      backup         = endpoints.value
      cloudfront     = endpoints.value
      cloudwatch     = endpoints.value
      dynamodb       = endpoints.value
      ec2            = endpoints.value
      ecr            = endpoints.value
      eks            = endpoints.value
      elasticache    = endpoints.value
      elbv2          = endpoints.value
      events         = endpoints.value
      iam            = endpoints.value
      kms            = endpoints.value
      logs           = endpoints.value
      rds            = endpoints.value
      route53        = endpoints.value
      s3             = endpoints.value
      secretsmanager = endpoints.value
      sns            = endpoints.value
      sqs            = endpoints.value
      ssm            = endpoints.value
      sts            = endpoints.value
      wafv2          = endpoints.value
    }
  }

  default_tags {
    tags = merge(local.common_tags, { RegionRole = "dr" })
  }
}

provider "aws" {
  alias       = "global"
  region      = "us-east-1"
  max_retries = var.aws_max_retries

  s3_use_path_style           = local.sandbox
  skip_credentials_validation = local.sandbox
  skip_metadata_api_check     = local.sandbox ? "true" : null
  skip_requesting_account_id  = false

  dynamic "endpoints" {
    for_each = local.sandbox ? [var.aws_endpoint_url] : []
    content {
      acm            = endpoints.value
      autoscaling    = endpoints.value
      backup         = endpoints.value
      cloudfront     = endpoints.value
      cloudwatch     = endpoints.value
      dynamodb       = endpoints.value
      ec2            = endpoints.value
      ecr            = endpoints.value
      eks            = endpoints.value
      elasticache    = endpoints.value
      elbv2          = endpoints.value
      events         = endpoints.value
      iam            = endpoints.value
      kms            = endpoints.value
      logs           = endpoints.value
      rds            = endpoints.value
      route53        = endpoints.value
      s3             = endpoints.value
      secretsmanager = endpoints.value
      sns            = endpoints.value
      sqs            = endpoints.value
      ssm            = endpoints.value
      sts            = endpoints.value
      wafv2          = endpoints.value
    }
  }

  default_tags {
    tags = merge(local.common_tags, { RegionRole = "global" })
  }
}
