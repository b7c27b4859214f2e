################################################################################
# Networking
################################################################################

output "vpc_id" {
  description = "ID of the region's VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr" {
  description = "IPv4 CIDR block of the region's VPC."
  value       = aws_vpc.this.cidr_block
}

output "public_subnet_ids" {
  description = "Public subnet IDs keyed by availability zone name (ALB, NAT gateways)."
  value       = { for az, s in aws_subnet.public : az => s.id }
}

output "private_subnet_ids" {
  description = "Private subnet IDs keyed by availability zone name (EKS nodes, RDS, ElastiCache)."
  value       = { for az, s in aws_subnet.private : az => s.id }
}

output "nat_public_ips" {
  description = "The public addresses of the region's NAT gateways: where the region's workloads (e.g. Argo CD) reach the internet from."
  value       = [for az in sort(keys(aws_eip.nat)) : aws_eip.nat[az].public_ip]
}

output "cluster_admin_principals" {
  description = "The principals with an EKS access entry and AmazonEKSClusterAdminPolicy on the cluster, by name."
  value       = { for k, e in aws_eks_access_entry.admins : k => e.principal_arn }
}

output "cluster_public_access_cidrs" {
  description = "Where the EKS API's public endpoint admits callers from (empty: the endpoint is private-only)."
  value       = var.public_access_cidrs
}

output "nat_gateway_ids" {
  description = "NAT gateway IDs keyed by availability zone name (one per AZ)."
  value       = { for az, n in aws_nat_gateway.this : az => n.id }
}

output "flow_log_group_name" {
  description = "Name of the CloudWatch log group receiving the VPC flow logs."
  value       = aws_cloudwatch_log_group.flow_logs.name
}

################################################################################
# Security
################################################################################

output "kms_key_arn" {
  description = "ARN of the region's customer-managed KMS key (EKS secrets, EBS, RDS, ElastiCache, CloudWatch Logs)."
  value       = aws_kms_key.this.arn
}

output "kms_key_id" {
  description = "Key ID of the region's customer-managed KMS key."
  value       = aws_kms_key.this.key_id
}

output "security_group_ids" {
  description = "Security group IDs by tier: alb, nodes, cluster (additional control-plane SG), db, cache."
  value = {
    alb     = aws_security_group.alb.id
    nodes   = aws_security_group.nodes.id
    cluster = aws_security_group.cluster.id
    db      = aws_security_group.db.id
    cache   = aws_security_group.cache.id
  }
}

################################################################################
# Compute (EKS)
################################################################################

output "cluster_name" {
  description = "Name of the EKS cluster."
  value       = aws_eks_cluster.this.name
}

output "cluster_arn" {
  description = "ARN of the EKS cluster."
  value       = aws_eks_cluster.this.arn
}

output "cluster_endpoint" {
  description = "Private API server endpoint of the EKS cluster (reachable only from inside the VPC)."
  value       = aws_eks_cluster.this.endpoint
}

output "cluster_certificate_authority_data" {
  description = "Base64 PEM of the EKS cluster's certificate authority (what a client, Argo CD's cluster Secret, verifies the API with)."
  value       = one(aws_eks_cluster.this.certificate_authority[*].data)
}

output "cluster_oidc_provider_arn" {
  description = "ARN of the IAM OIDC provider of the EKS cluster, for IRSA trust policies."
  value       = aws_iam_openid_connect_provider.eks.arn
}

output "node_group_names" {
  description = "Names of the EKS managed node groups."
  value       = [for ng in aws_eks_node_group.this : ng.node_group_name]
}

################################################################################
# Workload identity
################################################################################

output "nexus_api_role_arn" {
  description = "ARN of the nexus-api IRSA role (<platform_prefix>-nexus-api-<region>), for the serviceAccount.roleArn of helm/nexus."
  value       = aws_iam_role.nexus_api.arn
}

output "cluster_addon_role_arns" {
  description = "ARNs of the EKS Pod Identity roles of the cluster add-ons, keyed by add-on (aws-load-balancer-controller, cluster-autoscaler, external-secrets)."
  value       = { for addon, role in aws_iam_role.cluster_addons : addon => role.arn }
}

################################################################################
# Load balancing
################################################################################

output "alb_arn" {
  description = "ARN of the internet-facing application load balancer."
  value       = aws_lb.this.arn
}

output "alb_arn_suffix" {
  description = "ARN suffix of the ALB, for CloudWatch metric dimensions."
  value       = aws_lb.this.arn_suffix
}

output "alb_dns_name" {
  description = "DNS name of the ALB (origin for CloudFront and Route 53 records)."
  value       = aws_lb.this.dns_name
}

output "alb_zone_id" {
  description = "Canonical hosted zone ID of the ALB, for Route 53 alias records."
  value       = aws_lb.this.zone_id
}

output "target_group_arn" {
  description = "ARN of the application target group (IP targets on app_port), for TargetGroupBinding in the cluster."
  value       = aws_lb_target_group.app.arn
}

output "waf_web_acl_arn" {
  description = "ARN of the regional WAFv2 web ACL associated with the ALB."
  value       = aws_wafv2_web_acl.this.arn
}

################################################################################
# Database
################################################################################

output "db_instance_identifier" {
  description = "Identifier of the RDS PostgreSQL instance (primary or cross-region replica)."
  value       = aws_db_instance.this.identifier
}

output "db_instance_arn" {
  description = "ARN of the RDS PostgreSQL instance; the DR region's replica uses the primary's as its source."
  value       = aws_db_instance.this.arn
}

output "db_endpoint" {
  description = "Connection endpoint (host:port) of the RDS instance."
  value       = aws_db_instance.this.endpoint
}

output "db_address" {
  description = "Hostname of the RDS instance."
  value       = aws_db_instance.this.address
}

output "db_port" {
  description = "Port of the RDS instance."
  value       = aws_db_instance.this.port
}

output "db_master_user_secret_arn" {
  description = "ARN of the RDS-managed Secrets Manager secret holding the master credentials; null for a read replica."
  value       = local.db_is_replica ? null : try(aws_db_instance.this.master_user_secret[0].secret_arn, null)
}

################################################################################
# Cache
################################################################################

output "cache_replication_group_id" {
  description = "ID of the ElastiCache Redis replication group."
  value       = aws_elasticache_replication_group.this.id
}

output "cache_replication_group_arn" {
  description = "ARN of the ElastiCache Redis replication group."
  value       = aws_elasticache_replication_group.this.arn
}

output "cache_primary_endpoint" {
  description = "Primary (read/write) endpoint address of the Redis replication group."
  value       = aws_elasticache_replication_group.this.primary_endpoint_address
}

output "cache_reader_endpoint" {
  description = "Reader endpoint address of the Redis replication group."
  value       = aws_elasticache_replication_group.this.reader_endpoint_address
}

output "cache_port" {
  description = "Port of the Redis replication group."
  value       = aws_elasticache_replication_group.this.port
}
