# The production inputs, fed to modules/region exactly as regions.tf feeds them, with assertions on the resources
# inside each region: encryption at rest, nothing public except the ALB, TLS policy, WAF on the ALB, two AZs with a
# NAT gateway each, the DR region's database as a cross-region replica under the DR region's own KMS key, and the
# workload identities (nexus-api IRSA role, Pod Identity of the cluster add-ons).
# (Root-level wiring is covered by production.tftest.hcl.)
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

variables {
  test_cache_auth_token = "MockCacheAuthToken0123456789abcdefMockCacheAuthToken0123456789ab"
  # local.nexus_api_secret_names of the root (security.tf) for production.
  test_nexus_api_secret_names = ["nexus-production/app/config", "nexus-production/db/app", "nexus-production/cache/auth-token"]
  # local.alerts_topics and local.ops_key_arns of the root (monitoring.tf) for production.
  test_alert_topic_arns = [
    "arn:aws:sns:us-east-1:123456789012:nexus-production-alerts",
    "arn:aws:sns:eu-west-1:123456789012:nexus-production-alerts",
    "arn:aws:sns:us-east-1:123456789012:nexus-production-alerts-global",
  ]
  test_alert_kms_key_arns = ["arn:aws:kms:us-east-1:123456789012:key/ops-primary", "arn:aws:kms:eu-west-1:123456789012:key/ops-dr"]
}

run "primary_region_resources" {
  command = plan

  module {
    source = "../modules/region"
  }

  variables {
    name                    = "nexus-production-primary"
    role                    = "primary"
    environment             = var.environment
    vpc_cidr                = var.primary_vpc_cidr
    availability_zones      = var.primary_availability_zones
    kubernetes_version      = var.kubernetes_version
    support_type            = var.eks_support_type
    node_groups             = var.primary_node_groups
    db                      = merge(var.db, { backup_retention_days = var.backup_retention_days, deletion_protection = var.deletion_protection })
    cache                   = var.cache
    cache_auth_token        = var.test_cache_auth_token
    platform_prefix         = "nexus-production"
    nexus_api_secret_names  = var.test_nexus_api_secret_names
    alert_topic_arns        = var.test_alert_topic_arns
    alert_kms_key_arns      = var.test_alert_kms_key_arns
    certificate_arn         = "arn:aws:acm:us-east-1:123456789012:certificate/primary-mock"
    waf_rate_limit          = var.waf_rate_limit
    origin_verify_secret    = "test-origin-verify-0123456789"
    log_retention_days      = var.log_retention_days
    alb_deletion_protection = var.deletion_protection
  }

  override_resource {
    target          = aws_kms_key.this
    override_during = plan
    values          = { arn = "arn:aws:kms:us-east-1:123456789012:key/primary-data" }
  }

  override_resource {
    target          = aws_lb.this
    override_during = plan
    values          = { arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/nexus-production-primary/mock" }
  }

  override_resource {
    target          = aws_security_group.alb
    override_during = plan
    values          = { id = "sg-alb-mock" }
  }

  # The cluster's OIDC issuer and IRSA provider, known during plan so the trust policies can be asserted.
  override_resource {
    target          = aws_eks_cluster.this
    override_during = plan
    values          = { identity = [{ oidc = [{ issuer = "https://oidc.eks.us-east-1.amazonaws.com/id/MOCKPRIMARY" }] }] }
  }

  override_resource {
    target          = aws_iam_openid_connect_provider.eks
    override_during = plan
    values          = { arn = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/MOCKPRIMARY" }
  }

  # --- encryption at rest ---
  assert {
    condition = (
      aws_db_instance.this.storage_encrypted && aws_db_instance.this.kms_key_id == "arn:aws:kms:us-east-1:123456789012:key/primary-data" &&
      aws_db_instance.this.backup_retention_period == 30 && aws_db_instance.this.multi_az && aws_db_instance.this.deletion_protection
    )
    error_message = "Primary RDS: KMS-encrypted with the region key, 30-day backups, Multi-AZ, deletion protection."
  }

  assert {
    condition = (
      tostring(aws_elasticache_replication_group.this.at_rest_encryption_enabled) == "true" &&
      aws_elasticache_replication_group.this.transit_encryption_enabled == true &&
      aws_elasticache_replication_group.this.kms_key_id == "arn:aws:kms:us-east-1:123456789012:key/primary-data" &&
      aws_elasticache_replication_group.this.automatic_failover_enabled
    )
    error_message = "Primary Redis: encrypted at rest (region key) and in transit, automatic failover."
  }

  assert {
    condition = (
      contains(aws_eks_cluster.this.encryption_config[0].resources, "secrets") &&
      aws_eks_cluster.this.encryption_config[0].provider[0].key_arn == "arn:aws:kms:us-east-1:123456789012:key/primary-data"
    )
    error_message = "EKS secrets must be envelope-encrypted with the region key."
  }

  assert {
    condition = alltrue(concat(
      [for g in [aws_cloudwatch_log_group.flow_logs, aws_cloudwatch_log_group.eks, aws_cloudwatch_log_group.waf] : g.kms_key_id == "arn:aws:kms:us-east-1:123456789012:key/primary-data"],
      [for g in aws_cloudwatch_log_group.db : g.kms_key_id == "arn:aws:kms:us-east-1:123456789012:key/primary-data"],
      [for g in aws_cloudwatch_log_group.cache : g.kms_key_id == "arn:aws:kms:us-east-1:123456789012:key/primary-data"],
    ))
    error_message = "Every log group of the region must be KMS-encrypted."
  }

  # --- nothing public except the ALB ---
  assert {
    condition     = aws_db_instance.this.publicly_accessible == false
    error_message = "RDS must not be publicly accessible."
  }

  assert {
    condition     = aws_eks_cluster.this.vpc_config[0].endpoint_public_access == false && aws_eks_cluster.this.vpc_config[0].endpoint_private_access == true
    error_message = "The EKS API endpoint must be private only."
  }

  assert {
    condition     = aws_eks_cluster.this.version == "1.35" && aws_eks_cluster.this.upgrade_policy[0].support_type == "STANDARD"
    error_message = "The cluster must run Kubernetes 1.35 (in EKS standard support) with upgrade_policy support_type STANDARD."
  }

  assert {
    condition = (
      aws_vpc_security_group_ingress_rule.alb_https_ipv4.cidr_ipv4 == "0.0.0.0/0" &&
      aws_vpc_security_group_ingress_rule.alb_https_ipv4.security_group_id == "sg-alb-mock" &&
      aws_vpc_security_group_ingress_rule.alb_https_ipv4.from_port == 443 && aws_vpc_security_group_ingress_rule.alb_https_ipv4.to_port == 443
    )
    error_message = "The ALB security group opens HTTPS (443) to the internet."
  }

  assert {
    condition = alltrue([
      for r in concat(
        [
          aws_vpc_security_group_ingress_rule.nodes_from_nodes,
          aws_vpc_security_group_ingress_rule.cluster_from_nodes, aws_vpc_security_group_ingress_rule.db_from_nodes,
          aws_vpc_security_group_ingress_rule.cache_from_nodes,
        ],
        values(aws_vpc_security_group_ingress_rule.nodes_from_cluster),
        values(aws_vpc_security_group_ingress_rule.nodes_from_alb),
      ) : r.cidr_ipv4 == null && r.cidr_ipv6 == null
    ])
    error_message = "Apart from the ALB's, every ingress rule must come from a security group, never from an address range."
  }

  assert {
    condition = (
      aws_lb_target_group.app.target_type == "ip" && aws_lb_target_group.app.port == 8080 &&
      aws_lb_target_group.app.health_check[0].port == "15021" && aws_lb_target_group.app.health_check[0].path == "/healthz/ready"
    )
    error_message = "The target group takes the gateway pods as IP targets on 8080 and health-checks the gateway's readiness port (15021 /healthz/ready), which answers for any Host."
  }

  assert {
    condition = (
      toset([for r in values(aws_vpc_security_group_egress_rule.alb_to_nodes) : r.from_port]) == toset([8080, 15021]) &&
      toset([for r in values(aws_vpc_security_group_ingress_rule.nodes_from_alb) : r.from_port]) == toset([8080, 15021]) &&
      alltrue([for r in values(aws_vpc_security_group_ingress_rule.nodes_from_alb) : r.to_port == r.from_port && r.referenced_security_group_id == "sg-alb-mock"])
    )
    error_message = "The ALB may reach the pods on the traffic port and the health-check port, and nothing else."
  }

  assert {
    condition     = aws_vpc_security_group_ingress_rule.db_from_nodes.from_port == 5432 && aws_vpc_security_group_ingress_rule.cache_from_nodes.from_port == 6379
    error_message = "Nodes reach RDS on 5432 and Redis on 6379 only."
  }

  # --- TLS + WAF on the ALB ---
  assert {
    condition = (
      aws_lb_listener.https.protocol == "HTTPS" && aws_lb_listener.https.port == 443 &&
      contains(["ELBSecurityPolicy-TLS13-1-2-2021-06", "ELBSecurityPolicy-TLS13-1-2-Res-2021-06", "ELBSecurityPolicy-TLS-1-2-2017-01", "ELBSecurityPolicy-TLS-1-2-Ext-2018-06", "ELBSecurityPolicy-FS-1-2-Res-2020-10"], aws_lb_listener.https.ssl_policy) &&
      aws_lb_listener.https.certificate_arn == "arn:aws:acm:us-east-1:123456789012:certificate/primary-mock"
    )
    error_message = "The ALB listener must be HTTPS with a TLS 1.2+ policy and the root's certificate."
  }

  assert {
    condition     = aws_wafv2_web_acl_association.alb.resource_arn == aws_lb.this.arn && aws_wafv2_web_acl.this.scope == "REGIONAL"
    error_message = "The regional WAF web ACL must be attached to the ALB."
  }

  # --- two AZs, one NAT gateway each ---
  assert {
    condition     = toset(keys(aws_nat_gateway.this)) == toset(var.primary_availability_zones) && length(aws_subnet.public) == 2 && length(aws_subnet.private) == 2
    error_message = "Two AZs, each with a public and a private subnet and its own NAT gateway."
  }

  assert {
    condition     = aws_subnet.private["us-east-1a"].cidr_block == "10.10.128.0/20" && aws_subnet.public["us-east-1b"].cidr_block == "10.10.16.0/20"
    error_message = "Subnets must follow the address plan."
  }

  assert {
    condition = (
      aws_eks_node_group.this["general"].scaling_config[0].min_size == 3 &&
      aws_eks_node_group.this["general"].scaling_config[0].desired_size == 3 &&
      aws_eks_node_group.this["general"].scaling_config[0].max_size == 10
    )
    error_message = "Primary nodes: min 3, desired 3, max 10."
  }

  # --- workload identity: nexus-api (IRSA) ---
  assert {
    condition = (
      aws_iam_role.nexus_api.name == "nexus-production-nexus-api-us-east-1" &&
      one(data.aws_iam_policy_document.nexus_api_assume.statement).actions == toset(["sts:AssumeRoleWithWebIdentity"]) &&
      one(one(data.aws_iam_policy_document.nexus_api_assume.statement).principals).type == "Federated" &&
      one(one(data.aws_iam_policy_document.nexus_api_assume.statement).principals).identifiers == toset(["arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/MOCKPRIMARY"])
    )
    error_message = "nexus-api: role nexus-production-nexus-api-us-east-1 (helm/nexus values-primary.yaml), assumable only with web identity through this cluster's OIDC provider."
  }

  assert {
    condition = toset([
      for c in one(data.aws_iam_policy_document.nexus_api_assume.statement).condition : "${c.test} ${c.variable} ${join(",", c.values)}"
      ]) == toset([
      "StringEquals oidc.eks.us-east-1.amazonaws.com/id/MOCKPRIMARY:sub system:serviceaccount:nexus:nexus-api",
      "StringEquals oidc.eks.us-east-1.amazonaws.com/id/MOCKPRIMARY:aud sts.amazonaws.com",
    ])
    error_message = "The nexus-api IRSA trust must be bound to exactly the nexus/nexus-api ServiceAccount (sub) and the STS audience."
  }

  assert {
    condition = (
      length(data.aws_iam_policy_document.nexus_api.statement) == 2 &&
      data.aws_iam_policy_document.nexus_api.statement[0].actions == toset(["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]) &&
      data.aws_iam_policy_document.nexus_api.statement[0].resources == toset([
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:nexus-production/app/config-??????",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:nexus-production/db/app-??????",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:nexus-production/cache/auth-token-??????",
      ]) &&
      data.aws_iam_policy_document.nexus_api.statement[1].actions == toset(["kms:Decrypt"]) &&
      data.aws_iam_policy_document.nexus_api.statement[1].resources == toset(["arn:aws:kms:us-east-1:123456789012:key/primary-data"])
    )
    error_message = "nexus-api may read exactly its three secrets in this region and decrypt them with the region key."
  }

  # --- workload identity: cluster add-ons (EKS Pod Identity) ---
  assert {
    condition = toset([
      for k, a in aws_eks_pod_identity_association.cluster_addons : "${k}: ${a.cluster_name} ${a.namespace}/${a.service_account}"
      ]) == toset([
      "aws-load-balancer-controller: nexus-production-primary kube-system/aws-load-balancer-controller",
      "cluster-autoscaler: nexus-production-primary kube-system/cluster-autoscaler",
      "external-secrets: nexus-production-primary external-secrets/external-secrets",
      "yace: nexus-production-primary monitoring/yace",
      "alertmanager: nexus-production-primary monitoring/kube-prometheus-stack-alertmanager",
    ])
    error_message = "Pod Identity associations for the Load Balancer Controller, Cluster Autoscaler, External Secrets, YACE and Alertmanager service accounts (cicd/argocd/addons/values)."
  }

  assert {
    condition = (
      one(data.aws_iam_policy_document.alertmanager.statement[0].actions) == "sns:Publish" &&
      data.aws_iam_policy_document.alertmanager.statement[0].resources == toset(var.test_alert_topic_arns) &&
      data.aws_iam_policy_document.alertmanager.statement[1].resources == toset(var.test_alert_kms_key_arns) &&
      !anytrue([for st in data.aws_iam_policy_document.yace.statement : anytrue([for a in st.actions : !can(regex("^(cloudwatch:(Get|List)|tag:Get)", a))])])
    )
    error_message = "Alertmanager may publish to the alert topics only (with their keys); YACE may only read CloudWatch metrics and tags."
  }

  assert {
    condition = alltrue([
      for k, d in data.aws_iam_policy_document.cluster_addon_assume :
      one(d.statement).actions == toset(["sts:AssumeRole", "sts:TagSession"]) &&
      one(one(d.statement).principals).identifiers == toset(["pods.eks.amazonaws.com"]) &&
      toset([for c in one(d.statement).condition : "${c.variable}=${join(",", c.values)}"]) == toset([
        "aws:RequestTag/eks-cluster-name=nexus-production-primary",
        "aws:RequestTag/kubernetes-namespace=${aws_eks_pod_identity_association.cluster_addons[k].namespace}",
        "aws:RequestTag/kubernetes-service-account=${aws_eks_pod_identity_association.cluster_addons[k].service_account}",
      ])
    ])
    error_message = "Each add-on role trusts EKS Pod Identity (AssumeRole + TagSession) for its own service account on this cluster only."
  }

  assert {
    condition = (
      toset(flatten([
        for st in data.aws_iam_policy_document.cluster_autoscaler.statement : [
          for c in st.condition : "${c.test} ${c.variable} ${join(",", c.values)}"
        ] if contains(st.actions, "autoscaling:SetDesiredCapacity")
      ])) == toset(["StringEquals aws:ResourceTag/k8s.io/cluster-autoscaler/nexus-production-primary owned"]) &&
      data.aws_iam_policy_document.external_secrets.statement[0].resources == toset(["arn:aws:secretsmanager:us-east-1:123456789012:secret:nexus-production/*"]) &&
      data.aws_iam_policy_document.external_secrets.statement[1].resources == toset(["arn:aws:kms:us-east-1:123456789012:key/primary-data"])
    )
    error_message = "Cluster Autoscaler may resize only this cluster's node groups; External Secrets may read only the platform's secrets in this region."
  }
}

run "dr_region_resources" {
  command = plan

  module {
    source = "../modules/region"
  }

  providers = {
    aws = aws.dr
  }

  variables {
    name                              = "nexus-production-dr"
    role                              = "dr"
    environment                       = var.environment
    vpc_cidr                          = var.dr_vpc_cidr
    availability_zones                = var.dr_availability_zones
    kubernetes_version                = var.kubernetes_version
    support_type                      = var.eks_support_type
    node_groups                       = var.dr_node_groups
    db                                = merge(var.db, { backup_retention_days = var.backup_retention_days, deletion_protection = var.deletion_protection, multi_az = false })
    db_replicate_source_arn           = "arn:aws:rds:us-east-1:123456789012:db:nexus-production-primary"
    cache                             = var.cache
    cache_auth_token                  = var.test_cache_auth_token
    cache_global_replication_group_id = "ldgnf-nexus-production-cache"
    platform_prefix                   = "nexus-production"
    nexus_api_secret_names            = var.test_nexus_api_secret_names
    alert_topic_arns                  = var.test_alert_topic_arns
    alert_kms_key_arns                = var.test_alert_kms_key_arns
    certificate_arn                   = "arn:aws:acm:eu-west-1:123456789012:certificate/dr-mock"
    waf_rate_limit                    = var.waf_rate_limit
    origin_verify_secret              = "test-origin-verify-0123456789"
    log_retention_days                = var.log_retention_days
    alb_deletion_protection           = var.deletion_protection
    # As the root passes them (delivery.tf): the primary region's NAT addresses, Argo CD's role.
    public_access_cidrs = ["198.51.100.7/32", "198.51.100.8/32"]
    cluster_admins      = { argocd = "arn:aws:iam::123456789012:role/nexus-production-argocd" }
  }

  override_resource {
    target          = aws_kms_key.this
    override_during = plan
    values          = { arn = "arn:aws:kms:eu-west-1:123456789012:key/dr-data" }
  }

  override_resource {
    target          = aws_lb.this
    override_during = plan
    values          = { arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/nexus-production-dr/mock" }
  }

  override_resource {
    target          = aws_eks_cluster.this
    override_during = plan
    values          = { identity = [{ oidc = [{ issuer = "https://oidc.eks.eu-west-1.amazonaws.com/id/MOCKDR" }] }] }
  }

  override_resource {
    target          = aws_iam_openid_connect_provider.eks
    override_during = plan
    values          = { arn = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/MOCKDR" }
  }

  assert {
    condition = (
      aws_db_instance.this.replicate_source_db == "arn:aws:rds:us-east-1:123456789012:db:nexus-production-primary" &&
      aws_db_instance.this.kms_key_id == "arn:aws:kms:eu-west-1:123456789012:key/dr-data" &&
      aws_db_instance.this.storage_encrypted
    )
    error_message = "The DR database must be a cross-region replica of the primary, encrypted with the DR region's key."
  }

  assert {
    condition     = aws_db_instance.this.publicly_accessible == false && aws_db_instance.this.backup_retention_period == 30
    error_message = "The replica is private and keeps backups on (30 days) so it is protected once promoted."
  }

  assert {
    condition = alltrue([
      for r in aws_wafv2_web_acl.this.rule : (
        r.name == "rate-limit-per-client" ? (
          r.statement[0].rate_based_statement[0].aggregate_key_type == "FORWARDED_IP" &&
          r.statement[0].rate_based_statement[0].scope_down_statement[0].byte_match_statement[0].search_string == "test-origin-verify-0123456789" &&
          r.statement[0].rate_based_statement[0].scope_down_statement[0].byte_match_statement[0].field_to_match[0].single_header[0].name == "x-nexus-origin-verify"
          ) : r.name == "rate-limit-direct" ? (
          r.statement[0].rate_based_statement[0].aggregate_key_type == "IP" &&
          r.statement[0].rate_based_statement[0].scope_down_statement[0].not_statement[0].statement[0].byte_match_statement[0].search_string == "test-origin-verify-0123456789"
        ) : true
      )
    ]) && length([for r in aws_wafv2_web_acl.this.rule : r if startswith(r.name, "rate-limit-")]) == 2
    error_message = "X-Forwarded-For decides the rate-limit key only on requests carrying CloudFront's secret origin header; every other request (forged X-Forwarded-For or not) is limited per source address."
  }

  assert {
    condition = (
      jsondecode(aws_eks_addon.ebs_csi.configuration_values).defaultStorageClass.enabled == true &&
      aws_ebs_encryption_by_default.this.enabled == true
    )
    error_message = "The EBS CSI add-on must make the default StorageClass (EKS has none since 1.30) and the region must encrypt every new EBS volume."
  }

  assert {
    condition     = jsondecode(aws_eks_addon.before_nodes["vpc-cni"].configuration_values).enableNetworkPolicy == "true"
    error_message = "NetworkPolicies are enforced only with the VPC CNI's network policy agent on (enableNetworkPolicy)."
  }

  assert {
    condition     = aws_db_instance.this.multi_az == false
    error_message = "The DR replica takes no writes: single-AZ by default (dr_db_multi_az)."
  }

  assert {
    condition     = contains([for rule in aws_vpc_security_group_ingress_rule.nodes_from_cluster : rule.from_port], 15017)
    error_message = "The control plane must reach istiod's injection webhook on the nodes (15017)."
  }

  assert {
    condition = (
      aws_eks_addon.metrics_server.addon_name == "metrics-server" &&
      contains([for rule in aws_vpc_security_group_ingress_rule.nodes_from_cluster : rule.from_port], 10251)
    )
    error_message = "Every HPA's CPU target needs metrics.k8s.io: the metrics-server add-on, reached by the control plane on 10251."
  }

  # Issue 21 item 1: Argo CD (in the primary cluster) can deliver here: the public endpoint admits exactly the
  # primary region's NAT addresses, and its role has a cluster-wide admin access entry.
  assert {
    condition = (
      aws_eks_cluster.this.vpc_config[0].endpoint_public_access == true &&
      aws_eks_cluster.this.vpc_config[0].endpoint_private_access == true &&
      toset(aws_eks_cluster.this.vpc_config[0].public_access_cidrs) == toset(["198.51.100.7/32", "198.51.100.8/32"])
    )
    error_message = "The DR cluster's API must be public for exactly the listed addresses (and private inside the VPC)."
  }

  assert {
    condition = (
      aws_eks_access_entry.admins["argocd"].principal_arn == "arn:aws:iam::123456789012:role/nexus-production-argocd" &&
      aws_eks_access_entry.admins["argocd"].type == "STANDARD" &&
      aws_eks_access_policy_association.admins["argocd"].policy_arn == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy" &&
      aws_eks_access_policy_association.admins["argocd"].access_scope[0].type == "cluster"
    )
    error_message = "Argo CD's role needs an access entry with AmazonEKSClusterAdminPolicy on the whole cluster."
  }

  # Issue 21 item 4: a version in EKS standard support (1.35 until 2027-03-27), and STANDARD upgrade policy so the
  # cluster is never billed for extended support (EKS's default is EXTENDED).
  assert {
    condition     = aws_eks_cluster.this.version == "1.35" && aws_eks_cluster.this.upgrade_policy[0].support_type == "STANDARD"
    error_message = "The cluster must run Kubernetes 1.35 with upgrade_policy support_type STANDARD."
  }

  assert {
    condition = (
      aws_elasticache_replication_group.this.global_replication_group_id == "ldgnf-nexus-production-cache" &&
      aws_elasticache_replication_group.this.kms_key_id == "arn:aws:kms:eu-west-1:123456789012:key/dr-data" &&
      aws_elasticache_replication_group.this.auth_token != null
    )
    error_message = "DR Redis joins the global datastore (which carries at-rest and in-transit encryption from the primary) with the DR key and the shared AUTH token."
  }

  assert {
    condition     = aws_eks_cluster.this.encryption_config[0].provider[0].key_arn == "arn:aws:kms:eu-west-1:123456789012:key/dr-data"
    error_message = "DR EKS: private endpoint, secrets encrypted with the DR key."
  }

  assert {
    condition     = aws_wafv2_web_acl_association.alb.resource_arn == aws_lb.this.arn
    error_message = "The DR ALB must have the regional WAF attached."
  }

  assert {
    condition     = contains(["ELBSecurityPolicy-TLS13-1-2-2021-06", "ELBSecurityPolicy-TLS13-1-2-Res-2021-06", "ELBSecurityPolicy-TLS-1-2-2017-01", "ELBSecurityPolicy-TLS-1-2-Ext-2018-06", "ELBSecurityPolicy-FS-1-2-Res-2020-10"], aws_lb_listener.https.ssl_policy)
    error_message = "The DR ALB listener must use a TLS 1.2+ policy."
  }

  assert {
    condition     = toset(keys(aws_nat_gateway.this)) == toset(var.dr_availability_zones)
    error_message = "DR: one NAT gateway in each of the two AZs."
  }

  assert {
    condition = (
      aws_eks_node_group.this["general"].scaling_config[0].min_size == 1 &&
      aws_eks_node_group.this["general"].scaling_config[0].desired_size == 2 &&
      aws_eks_node_group.this["general"].scaling_config[0].max_size == 10
    )
    error_message = "DR warm standby nodes: min 1, desired 2, max 10."
  }

  assert {
    condition = (
      aws_iam_role.nexus_api.name == "nexus-production-nexus-api-eu-west-1" &&
      toset([
        for c in one(data.aws_iam_policy_document.nexus_api_assume.statement).condition : "${c.variable} ${join(",", c.values)}"
        ]) == toset([
        "oidc.eks.eu-west-1.amazonaws.com/id/MOCKDR:sub system:serviceaccount:nexus:nexus-api",
        "oidc.eks.eu-west-1.amazonaws.com/id/MOCKDR:aud sts.amazonaws.com",
      ])
    )
    error_message = "DR nexus-api: role nexus-production-nexus-api-eu-west-1 (helm/nexus values-dr.yaml), trusting only nexus/nexus-api of the DR cluster."
  }

  assert {
    condition = (
      data.aws_iam_policy_document.nexus_api.statement[0].resources == toset([
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:nexus-production/app/config-??????",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:nexus-production/db/app-??????",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:nexus-production/cache/auth-token-??????",
      ]) &&
      data.aws_iam_policy_document.nexus_api.statement[1].resources == toset(["arn:aws:kms:eu-west-1:123456789012:key/dr-data"])
    )
    error_message = "DR nexus-api reads the DR replicas of its three secrets, decrypted with the DR key."
  }

  assert {
    condition = toset([
      for k, a in aws_eks_pod_identity_association.cluster_addons : "${k}: ${a.cluster_name} ${a.namespace}/${a.service_account}"
      ]) == toset([
      "aws-load-balancer-controller: nexus-production-dr kube-system/aws-load-balancer-controller",
      "cluster-autoscaler: nexus-production-dr kube-system/cluster-autoscaler",
      "external-secrets: nexus-production-dr external-secrets/external-secrets",
      "yace: nexus-production-dr monitoring/yace",
      "alertmanager: nexus-production-dr monitoring/kube-prometheus-stack-alertmanager",
    ])
    error_message = "The DR cluster has the same add-on Pod Identity associations."
  }
}
