################################################################################
# Workload identity: the IAM roles Kubernetes workloads of this region's cluster act as
################################################################################
#
#   nexus-api        IRSA. helm/nexus annotates its ServiceAccount with the role <platform_prefix>-nexus-api-<region>
#                    (values-primary.yaml / values-dr.yaml), and its SecretStore authenticates with that account's
#                    token (External Secrets "jwt" auth -> AssumeRoleWithWebIdentity), which only IRSA serves.
#   cluster add-ons  EKS Pod Identity. ArgoCD installs the AWS Load Balancer Controller, the Cluster Autoscaler and
#                    External Secrets from upstream charts without role annotations (cicd/argocd/addons); the
#                    eks-pod-identity-agent add-on (compute.tf) hands each the role associated with its account here.
#
# Each role can be used by exactly one ServiceAccount of this cluster; secrets, keys and node groups it may touch
# are this region's.

locals {
  nexus_api_role_name = "${var.platform_prefix}-nexus-api-${local.region}"

  # Secrets Manager ARNs end in the secret's name, "-" and six random characters; "??????" matches exactly those
  # six, so each pattern names one secret (in the DR region: the replica, which keeps the name and the suffix).
  secret_arn_prefix     = "arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:"
  nexus_api_secret_arns = [for name in var.nexus_api_secret_names : "${local.secret_arn_prefix}${name}-??????"]
  platform_secrets_arn  = "${local.secret_arn_prefix}${var.platform_prefix}/*"

  # The secrets are encrypted with this region's key; reading one makes Secrets Manager decrypt on the caller's
  # behalf, so kms:Decrypt is granted only through Secrets Manager in this region.
  secretsmanager_via_service = "secretsmanager.${local.region}.${local.dns_suffix}"

  # Add-on -> the ServiceAccount its chart runs as (cicd/argocd/addons/values), the role-name suffix (IAM role names
  # are capped at 64 characters) and the permissions it needs.
  cluster_addons = {
    "aws-load-balancer-controller" = {
      namespace       = "kube-system"
      service_account = "aws-load-balancer-controller"
      role_suffix     = "lb-controller"
      policy          = data.aws_iam_policy_document.lb_controller.json
    }
    "cluster-autoscaler" = {
      namespace       = "kube-system"
      service_account = "cluster-autoscaler"
      role_suffix     = "cluster-autoscaler"
      policy          = data.aws_iam_policy_document.cluster_autoscaler.json
    }
    "external-secrets" = {
      namespace       = "external-secrets"
      service_account = "external-secrets"
      role_suffix     = "external-secrets"
      policy          = data.aws_iam_policy_document.external_secrets.json
    }
    # YACE (monitoring/yace.yaml): the CloudWatch metrics of RDS, ElastiCache and the Route 53 health checks that
    # the replica-lag, cache and health-check alerts read.
    "yace" = {
      namespace       = "monitoring"
      service_account = "yace"
      role_suffix     = "yace"
      policy          = data.aws_iam_policy_document.yace.json
    }
    # kube-prometheus-stack's Alertmanager: its SNS receivers (monitoring/alertmanager.yaml) sign with SigV4.
    "alertmanager" = {
      namespace       = "monitoring"
      service_account = "kube-prometheus-stack-alertmanager"
      role_suffix     = "alertmanager"
      policy          = data.aws_iam_policy_document.alertmanager.json
    }
  }
}

# --- nexus-api (IRSA) ---------------------------------------------------------

data "aws_iam_policy_document" "nexus_api_assume" {
  statement {
    sid     = "NexusApiServiceAccountIrsa"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [aws_iam_openid_connect_provider.eks.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_issuer_host}:sub"
      values   = ["system:serviceaccount:${var.nexus_api_namespace}:${var.nexus_api_service_account}"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_issuer_host}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "nexus_api" {
  name               = local.nexus_api_role_name
  description        = "nexus-api (IRSA, ${var.nexus_api_namespace}/${var.nexus_api_service_account} on ${local.cluster_name}): reads the application's secrets in ${local.region}"
  assume_role_policy = data.aws_iam_policy_document.nexus_api_assume.json

  tags = local.tags
}

data "aws_iam_policy_document" "nexus_api" {
  statement {
    sid       = "ReadApplicationSecrets"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = local.nexus_api_secret_arns
  }

  statement {
    sid       = "DecryptSecretsWithRegionKey"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.this.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.secretsmanager_via_service]
    }
  }
}

resource "aws_iam_role_policy" "nexus_api" {
  name   = "read-application-secrets"
  role   = aws_iam_role.nexus_api.id
  policy = data.aws_iam_policy_document.nexus_api.json

  lifecycle {
    # The role is for the platform's own secrets; anything else is a wiring mistake in the root module.
    precondition {
      condition     = alltrue([for name in var.nexus_api_secret_names : startswith(name, "${var.platform_prefix}/")])
      error_message = "Every entry of nexus_api_secret_names must be a secret of this platform (a name under \"<platform_prefix>/\")."
    }
  }
}

# --- cluster add-ons (EKS Pod Identity) ---------------------------------------

# pods.eks.amazonaws.com assumes the role for any association that names it; the session tags EKS Pod Identity sets
# (eks-cluster-name, kubernetes-namespace, kubernetes-service-account) limit each role to its add-on's account here.
data "aws_iam_policy_document" "cluster_addon_assume" {
  for_each = local.cluster_addons

  statement {
    sid     = "EksPodIdentity"
    actions = ["sts:AssumeRole", "sts:TagSession"]

    principals {
      type        = "Service"
      identifiers = ["pods.eks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/eks-cluster-name"
      values   = [local.cluster_name]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/kubernetes-namespace"
      values   = [each.value.namespace]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/kubernetes-service-account"
      values   = [each.value.service_account]
    }
  }
}

resource "aws_iam_role" "cluster_addons" {
  for_each = local.cluster_addons

  name               = "${var.name}-${each.value.role_suffix}"
  description        = "${each.key} (EKS Pod Identity, ${each.value.namespace}/${each.value.service_account} on ${local.cluster_name})"
  assume_role_policy = data.aws_iam_policy_document.cluster_addon_assume[each.key].json

  tags = local.tags
}

resource "aws_iam_role_policy" "cluster_addons" {
  for_each = local.cluster_addons

  name   = each.key
  role   = aws_iam_role.cluster_addons[each.key].id
  policy = each.value.policy
}

resource "aws_eks_pod_identity_association" "cluster_addons" {
  for_each = local.cluster_addons

  cluster_name    = aws_eks_cluster.this.name
  namespace       = each.value.namespace
  service_account = each.value.service_account
  role_arn        = aws_iam_role.cluster_addons[each.key].arn

  tags = local.tags

  # The add-on's first credentials already carry its permissions.
  depends_on = [aws_iam_role_policy.cluster_addons]
}

# AWS Load Balancer Controller v2.14 (cicd/argocd/versions.yaml): the controller's published IAM policy
# (docs/install/iam_policy.json of the release), with its tag conditions; its wildcard ARNs are narrowed to this
# region and account.
data "aws_iam_policy_document" "lb_controller" {
  #checkov:skip=CKV_AWS_111:The controller's published policy, kept as released: it creates security groups, listeners, rules, load balancers and target groups whose ARNs do not exist beforehand; its writes to existing load balancers, target groups and security groups are conditioned on its elbv2.k8s.aws/cluster tag.
  #checkov:skip=CKV_AWS_356:The controller's published policy, kept as released: Describe/Get calls and creations cannot be scoped to resource ARNs; every statement that can be is scoped (to this region and account).
  statement {
    sid       = "CreateElbServiceLinkedRole"
    actions   = ["iam:CreateServiceLinkedRole"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "iam:AWSServiceName"
      values   = ["elasticloadbalancing.amazonaws.com"]
    }
  }

  statement {
    sid = "Discover"
    actions = [
      "ec2:DescribeAccountAttributes",
      "ec2:DescribeAddresses",
      "ec2:DescribeAvailabilityZones",
      "ec2:DescribeInternetGateways",
      "ec2:DescribeVpcs",
      "ec2:DescribeVpcPeeringConnections",
      "ec2:DescribeSubnets",
      "ec2:DescribeSecurityGroups",
      "ec2:DescribeInstances",
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeTags",
      "ec2:GetCoipPoolUsage",
      "ec2:DescribeCoipPools",
      "ec2:GetSecurityGroupsForVpc",
      "ec2:DescribeIpamPools",
      "ec2:DescribeRouteTables",
      "elasticloadbalancing:DescribeLoadBalancers",
      "elasticloadbalancing:DescribeLoadBalancerAttributes",
      "elasticloadbalancing:DescribeListeners",
      "elasticloadbalancing:DescribeListenerCertificates",
      "elasticloadbalancing:DescribeSSLPolicies",
      "elasticloadbalancing:DescribeRules",
      "elasticloadbalancing:DescribeTargetGroups",
      "elasticloadbalancing:DescribeTargetGroupAttributes",
      "elasticloadbalancing:DescribeTargetHealth",
      "elasticloadbalancing:DescribeTags",
      "elasticloadbalancing:DescribeTrustStores",
      "elasticloadbalancing:DescribeListenerAttributes",
      "elasticloadbalancing:DescribeCapacityReservation",
    ]
    resources = ["*"]
  }

  statement {
    sid = "CertificatesWafShieldCognito"
    actions = [
      "cognito-idp:DescribeUserPoolClient",
      "acm:ListCertificates",
      "acm:DescribeCertificate",
      "iam:ListServerCertificates",
      "iam:GetServerCertificate",
      "waf-regional:GetWebACL",
      "waf-regional:GetWebACLForResource",
      "waf-regional:AssociateWebACL",
      "waf-regional:DisassociateWebACL",
      "wafv2:GetWebACL",
      "wafv2:GetWebACLForResource",
      "wafv2:AssociateWebACL",
      "wafv2:DisassociateWebACL",
      "shield:GetSubscriptionState",
      "shield:DescribeProtection",
      "shield:CreateProtection",
      "shield:DeleteProtection",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "SecurityGroupIngress"
    actions   = ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"]
    resources = ["*"]
  }

  statement {
    sid       = "CreateSecurityGroup"
    actions   = ["ec2:CreateSecurityGroup"]
    resources = ["*"]
  }

  statement {
    sid       = "TagSecurityGroupOnCreate"
    actions   = ["ec2:CreateTags"]
    resources = ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:security-group/*"]

    condition {
      test     = "StringEquals"
      variable = "ec2:CreateAction"
      values   = ["CreateSecurityGroup"]
    }

    condition {
      test     = "Null"
      variable = "aws:RequestTag/elbv2.k8s.aws/cluster"
      values   = ["false"]
    }
  }

  statement {
    sid       = "RetagOwnSecurityGroups"
    actions   = ["ec2:CreateTags", "ec2:DeleteTags"]
    resources = ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:security-group/*"]

    condition {
      test     = "Null"
      variable = "aws:RequestTag/elbv2.k8s.aws/cluster"
      values   = ["true"]
    }

    condition {
      test     = "Null"
      variable = "aws:ResourceTag/elbv2.k8s.aws/cluster"
      values   = ["false"]
    }
  }

  statement {
    sid       = "ManageOwnSecurityGroups"
    actions   = ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress", "ec2:DeleteSecurityGroup"]
    resources = ["*"]

    condition {
      test     = "Null"
      variable = "aws:ResourceTag/elbv2.k8s.aws/cluster"
      values   = ["false"]
    }
  }

  statement {
    sid       = "CreateTaggedLoadBalancersAndTargetGroups"
    actions   = ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"]
    resources = ["*"]

    condition {
      test     = "Null"
      variable = "aws:RequestTag/elbv2.k8s.aws/cluster"
      values   = ["false"]
    }
  }

  statement {
    sid = "ListenersAndRules"
    actions = [
      "elasticloadbalancing:CreateListener",
      "elasticloadbalancing:DeleteListener",
      "elasticloadbalancing:CreateRule",
      "elasticloadbalancing:DeleteRule",
    ]
    resources = ["*"]
  }

  statement {
    sid     = "RetagOwnLoadBalancersAndTargetGroups"
    actions = ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"]
    resources = [
      "arn:${local.partition}:elasticloadbalancing:${local.region}:${local.account_id}:targetgroup/*/*",
      "arn:${local.partition}:elasticloadbalancing:${local.region}:${local.account_id}:loadbalancer/net/*/*",
      "arn:${local.partition}:elasticloadbalancing:${local.region}:${local.account_id}:loadbalancer/app/*/*",
    ]

    condition {
      test     = "Null"
      variable = "aws:RequestTag/elbv2.k8s.aws/cluster"
      values   = ["true"]
    }

    condition {
      test     = "Null"
      variable = "aws:ResourceTag/elbv2.k8s.aws/cluster"
      values   = ["false"]
    }
  }

  statement {
    sid     = "TagListenersAndRules"
    actions = ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"]
    resources = [
      "arn:${local.partition}:elasticloadbalancing:${local.region}:${local.account_id}:listener/net/*/*/*",
      "arn:${local.partition}:elasticloadbalancing:${local.region}:${local.account_id}:listener/app/*/*/*",
      "arn:${local.partition}:elasticloadbalancing:${local.region}:${local.account_id}:listener-rule/net/*/*/*",
      "arn:${local.partition}:elasticloadbalancing:${local.region}:${local.account_id}:listener-rule/app/*/*/*",
    ]
  }

  statement {
    sid = "ManageOwnLoadBalancersAndTargetGroups"
    actions = [
      "elasticloadbalancing:ModifyLoadBalancerAttributes",
      "elasticloadbalancing:SetIpAddressType",
      "elasticloadbalancing:SetSecurityGroups",
      "elasticloadbalancing:SetSubnets",
      "elasticloadbalancing:DeleteLoadBalancer",
      "elasticloadbalancing:ModifyTargetGroup",
      "elasticloadbalancing:ModifyTargetGroupAttributes",
      "elasticloadbalancing:DeleteTargetGroup",
      "elasticloadbalancing:ModifyListenerAttributes",
      "elasticloadbalancing:ModifyCapacityReservation",
      "elasticloadbalancing:ModifyIpPools",
    ]
    resources = ["*"]

    condition {
      test     = "Null"
      variable = "aws:ResourceTag/elbv2.k8s.aws/cluster"
      values   = ["false"]
    }
  }

  statement {
    sid     = "TagLoadBalancersAndTargetGroupsOnCreate"
    actions = ["elasticloadbalancing:AddTags"]
    resources = [
      "arn:${local.partition}:elasticloadbalancing:${local.region}:${local.account_id}:targetgroup/*/*",
      "arn:${local.partition}:elasticloadbalancing:${local.region}:${local.account_id}:loadbalancer/net/*/*",
      "arn:${local.partition}:elasticloadbalancing:${local.region}:${local.account_id}:loadbalancer/app/*/*",
    ]

    condition {
      test     = "StringEquals"
      variable = "elasticloadbalancing:CreateAction"
      values   = ["CreateTargetGroup", "CreateLoadBalancer"]
    }

    condition {
      test     = "Null"
      variable = "aws:RequestTag/elbv2.k8s.aws/cluster"
      values   = ["false"]
    }
  }

  # TargetGroupBinding registers the pods into Terraform's target group (loadbalancer.tf) too.
  statement {
    sid       = "RegisterTargets"
    actions   = ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"]
    resources = ["arn:${local.partition}:elasticloadbalancing:${local.region}:${local.account_id}:targetgroup/*/*"]
  }

  statement {
    sid = "ModifyListenersAndRules"
    actions = [
      "elasticloadbalancing:SetWebAcl",
      "elasticloadbalancing:ModifyListener",
      "elasticloadbalancing:AddListenerCertificates",
      "elasticloadbalancing:RemoveListenerCertificates",
      "elasticloadbalancing:ModifyRule",
      "elasticloadbalancing:SetRulePriorities",
    ]
    resources = ["*"]
  }
}

# Cluster Autoscaler: the least-privilege policy of its AWS documentation. It may resize and shrink only the Auto
# Scaling groups of this cluster's managed node groups: EKS tags each group's ASG with
# k8s.io/cluster-autoscaler/<cluster name> = owned (and k8s.io/cluster-autoscaler/enabled = true), the tags the
# chart's auto-discovery (autoDiscovery.clusterName) looks for.
data "aws_iam_policy_document" "cluster_autoscaler" {
  statement {
    sid = "DiscoverNodeGroups"
    actions = [
      "autoscaling:DescribeAutoScalingGroups",
      "autoscaling:DescribeAutoScalingInstances",
      "autoscaling:DescribeLaunchConfigurations",
      "autoscaling:DescribeScalingActivities",
      "autoscaling:DescribeTags",
      "ec2:DescribeImages",
      "ec2:DescribeInstanceTypes",
      "ec2:DescribeLaunchTemplateVersions",
      "ec2:GetInstanceTypesFromInstanceRequirements",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "DescribeOwnManagedNodeGroups"
    actions   = ["eks:DescribeNodegroup"]
    resources = ["arn:${local.partition}:eks:${local.region}:${local.account_id}:nodegroup/${local.cluster_name}/*/*"]
  }

  statement {
    sid       = "ScaleOwnNodeGroups"
    actions   = ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"]
    resources = ["arn:${local.partition}:autoscaling:${local.region}:${local.account_id}:autoScalingGroup:*:autoScalingGroupName/*"]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/k8s.io/cluster-autoscaler/${local.cluster_name}"
      values   = ["owned"]
    }
  }
}

# External Secrets' own identity, used by secret stores without an auth section of their own (e.g. a
# ClusterSecretStore of the add-ons): the platform's secrets in this region, nothing else.
data "aws_iam_policy_document" "external_secrets" {
  statement {
    sid = "ReadPlatformSecrets"
    actions = [
      "secretsmanager:GetSecretValue",
      "secretsmanager:DescribeSecret",
      "secretsmanager:ListSecretVersionIds",
    ]
    resources = [local.platform_secrets_arn]
  }

  statement {
    sid       = "DecryptSecretsWithRegionKey"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.this.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.secretsmanager_via_service]
    }
  }
}

# YACE: read CloudWatch metrics and find the resources they belong to by tag (its discovery jobs). CloudWatch's
# read APIs and the Resource Groups Tagging API take no resource ARNs.
data "aws_iam_policy_document" "yace" {
  #checkov:skip=CKV_AWS_356:cloudwatch:GetMetricData/ListMetrics and tag:GetResources support no resource-level permissions; all are read-only.
  statement {
    sid = "ReadMetricsAndDiscoverByTag"
    actions = [
      "cloudwatch:GetMetricData",
      "cloudwatch:GetMetricStatistics",
      "cloudwatch:ListMetrics",
      "tag:GetResources",
    ]
    resources = ["*"]
  }
}

# Alertmanager: publish to the platform's alert topics only; they are encrypted with the operations keys, so
# publishing also needs a data key from those keys, and only through SNS.
data "aws_iam_policy_document" "alertmanager" {
  statement {
    sid       = "PublishAlerts"
    actions   = ["sns:Publish"]
    resources = var.alert_topic_arns
  }

  statement {
    sid       = "EncryptForEncryptedTopics"
    actions   = ["kms:GenerateDataKey*", "kms:Decrypt"]
    resources = var.alert_kms_key_arns

    condition {
      test     = "StringLike"
      variable = "kms:ViaService"
      values   = ["sns.*.${local.dns_suffix}"]
    }
  }
}
