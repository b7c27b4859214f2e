# Outputs read by the `nexus` CLI (src/nexus_platform) and by operators.

output "regions" {
  description = "Per-region facts for the nexus CLI, keyed by role (primary, dr)."
  value = {
    primary = {
      region                     = var.primary_region
      vpc_id                     = module.primary.vpc_id
      nat_gateway_ids            = module.primary.nat_gateway_ids
      cluster_name               = module.primary.cluster_name
      cluster_endpoint           = module.primary.cluster_endpoint
      alb_arn                    = module.primary.alb_arn
      alb_dns_name               = module.primary.alb_dns_name
      db_instance_identifier     = module.primary.db_instance_identifier
      db_instance_arn            = module.primary.db_instance_arn
      db_endpoint                = module.primary.db_endpoint
      cache_replication_group_id = module.primary.cache_replication_group_id
      cache_primary_endpoint     = module.primary.cache_primary_endpoint
      health_check_id            = aws_route53_health_check.primary.id
      origin_fqdn                = local.origin_fqdn.primary
      backup_vault_name          = aws_backup_vault.primary.name
      backup_role_arn            = aws_iam_role.backup.arn
      state_bucket               = aws_s3_bucket.app_state.bucket
      alerts_topic_arn           = aws_sns_topic.alerts.arn
      nexus_api_role_arn         = module.primary.nexus_api_role_arn
    }
    dr = {
      region                     = var.dr_region
      vpc_id                     = module.dr.vpc_id
      nat_gateway_ids            = module.dr.nat_gateway_ids
      cluster_name               = module.dr.cluster_name
      cluster_endpoint           = module.dr.cluster_endpoint
      alb_arn                    = module.dr.alb_arn
      alb_dns_name               = module.dr.alb_dns_name
      db_instance_identifier     = module.dr.db_instance_identifier
      db_instance_arn            = module.dr.db_instance_arn
      db_endpoint                = module.dr.db_endpoint
      cache_replication_group_id = module.dr.cache_replication_group_id
      cache_primary_endpoint     = module.dr.cache_primary_endpoint
      health_check_id            = aws_route53_health_check.dr.id
      origin_fqdn                = local.origin_fqdn.dr
      backup_vault_name          = aws_backup_vault.dr.name
      backup_role_arn            = aws_iam_role.backup.arn
      state_bucket               = aws_s3_bucket.app_state_dr.bucket
      alerts_topic_arn           = aws_sns_topic.alerts_dr.arn
      nexus_api_role_arn         = module.dr.nexus_api_role_arn
    }
  }
}

output "health_check" {
  description = "How each region's origin is health-checked (Route 53): path, seconds between checks, failures before it is unhealthy. The sandbox edge reads it."
  value = {
    path              = local.health_check_path
    request_interval  = var.health_check.request_interval
    failure_threshold = var.health_check.failure_threshold
  }
}

output "address_plan" {
  description = "VPC CIDR and per-AZ public/private subnet CIDRs of each region (see networking.tf)."
  value       = local.address_plan
}

output "database" {
  description = "PostgreSQL topology: primary instance, its cross-region replica (source ARN and DR KMS key), RPO target and lag alarm threshold."
  value       = local.database_topology
}

output "zone_id" {
  description = "Route 53 hosted zone id of var.domain_name."
  value       = local.zone_id
}

output "zone_name" {
  description = "Name of the Route 53 hosted zone."
  value       = var.domain_name
}

output "zone_name_servers" {
  description = "Name servers of the zone, to delegate var.domain_name to from its parent zone or registrar."
  value       = local.zone_name_servers
}

output "api_fqdn" {
  description = "API hostname: Route 53 failover between the primary and DR ALBs."
  value       = local.api_fqdn
}

output "app_fqdn" {
  description = "Application hostname served by CloudFront (origin group primary -> DR)."
  value       = local.app_fqdn
}

output "cloudfront_distribution_id" {
  description = "Id of the CloudFront distribution (for invalidations)."
  value       = aws_cloudfront_distribution.app.id
}

output "cloudfront_domain_name" {
  description = "CloudFront domain name (*.cloudfront.net) that app.<domain> aliases to."
  value       = aws_cloudfront_distribution.app.domain_name
}

output "global_datastore_id" {
  description = "Id of the ElastiCache global datastore joining the two regions' Redis groups."
  value       = aws_elasticache_global_replication_group.this.global_replication_group_id
}

output "alerts_topic_arn" {
  description = "SNS alerts topic of the primary region (the DR region's and the global one are in `regions` / alerts_topic_arns)."
  value       = aws_sns_topic.alerts.arn
}

output "alerts_topic_arns" {
  description = "All alert topics: primary, dr, global (us-east-1, Route 53 health-check alarms)."
  value       = local.alerts_topics
}

output "ecr_repository_url" {
  description = "URL of the nexus-api repository in the primary region (images replicate to the DR region)."
  value       = aws_ecr_repository.primary["nexus_api"].repository_url
}

output "ecr_repository_url_dr" {
  description = "URL of the replicated nexus-api repository in the DR region."
  value       = aws_ecr_repository.nexus_api_dr.repository_url
}

output "ecr_ci_tools_repository_url" {
  description = "URL of the ci/nexus-ci-tools repository (primary region only): the Jenkins agent's tools image (cicd/jenkins/pod.yaml)."
  value       = aws_ecr_repository.primary["ci_tools"].repository_url
}

output "backup_plan_id" {
  description = "Id of the AWS Backup plan (daily + continuous, copied to the DR vault)."
  value       = aws_backup_plan.this.id
}

output "secrets" {
  description = "ARNs of the Secrets Manager secrets (primary region; replicas with the same name exist in the DR region)."
  value = {
    cache_auth_token = aws_secretsmanager_secret.cache_auth.arn
    app_config       = aws_secretsmanager_secret.app_config.arn
    db_app           = aws_secretsmanager_secret.db_app.arn
  }
}

output "edge_web_acl_arn" {
  description = "ARN of the CLOUDFRONT-scope WAF web ACL attached to the distribution."
  value       = aws_wafv2_web_acl.cloudfront.arn
}

output "delivery" {
  description = "How delivery reaches the clusters and the registry (delivery.tf): Argo CD's IAM role (EKS Pod Identity in the primary cluster, namespace and ServiceAccounts), who has an access entry on the clusters, where each cluster's public endpoint admits callers from, and the Jenkins agent's ECR push role."
  value = {
    jenkins_agent_role_arn  = aws_iam_role.jenkins_agent.arn
    jenkins_agent_identity  = "${var.jenkins_namespace}/${local.jenkins_agent_service_account}"
    argocd_role_arn         = aws_iam_role.argocd.arn
    argocd_namespace        = local.argocd_namespace
    argocd_service_accounts = local.argocd_service_accounts
    cluster_admins          = module.primary.cluster_admin_principals
    public_access_cidrs = {
      primary = module.primary.cluster_public_access_cidrs
      dr      = module.dr.cluster_public_access_cidrs
    }
  }
}

output "argocd_cluster_secrets" {
  description = "Argo CD's cluster Secrets of both clusters, as one v1 List: `terraform output -json argocd_cluster_secrets | kubectl apply -f -` registers them (cicd/argocd/README.md, Bootstrap). Each names its region and role in labels and carries its ALB target group's ARN in the annotation nexus-platform/target-group-arn, which the istio-ingressgateway ApplicationSet's cluster generator gives the TargetGroupBinding. No credentials: Argo CD signs in as its EKS Pod Identity role (awsAuthConfig), which has an access entry in both clusters."
  value = {
    apiVersion = "v1"
    kind       = "List"
    items = [
      for role, region in { primary = module.primary, dr = module.dr } : {
        apiVersion                  = "v1"
        kind                        = "Secret"
        type                        = "Opaque"
        metadata = {
          name      = "cluster-${region.cluster_name}"
          namespace = local.argocd_namespace
          labels = {
            "argocd.argoproj.io/secret-type" = "cluster"
            "nexus-platform/region"          = local.regions[role].region
            "nexus-platform/region-role"     = role
          }
          annotations = {
            "nexus-platform/target-group-arn" = region.target_group_arn
          }
        }
        stringData = {
          name   = region.cluster_name
          server = region.cluster_endpoint
          config = jsonencode({
            awsAuthConfig   = { clusterName = region.cluster_name }
            tlsClientConfig = { caData = region.cluster_certificate_authority_data }
          })
        }
      }
    ]
  }
}
