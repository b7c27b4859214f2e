################################################################################
# EKS control plane
################################################################################

locals {
  cluster_log_types = ["api", "audit", "authenticator", "controllerManager", "scheduler"]

  oidc_issuer_host = replace(aws_eks_cluster.this.identity[0].oidc[0].issuer, "https://", "")

  # Graviton families (m7g, c6gn, r6gd, t4g...) need the arm64 AMI; a group's instance types share
  # one architecture (validated on the variable).
  node_group_ami_types = {
    for k, ng in var.node_groups :
    k => can(regex("^[a-z]+[0-9]+g[a-z]*\\.", ng.instance_types[0])) ? "AL2023_ARM_64_STANDARD" : "AL2023_x86_64_STANDARD"
  }
}

# Created before the cluster so EKS writes into a KMS-encrypted group with bounded retention
# instead of auto-creating an unencrypted one that never expires.
resource "aws_cloudwatch_log_group" "eks" {
  name              = "/aws/eks/${local.cluster_name}/cluster"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn

  tags = local.tags
}

data "aws_iam_policy_document" "eks_cluster_assume" {
  statement {
    sid     = "EksAssume"
    actions = ["sts:AssumeRole", "sts:TagSession"]

    principals {
      type        = "Service"
      identifiers = ["eks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "eks_cluster" {
  name               = "${var.name}-eks-cluster"
  assume_role_policy = data.aws_iam_policy_document.eks_cluster_assume.json

  tags = local.tags
}

resource "aws_iam_role_policy_attachment" "eks_cluster" {
  role       = aws_iam_role.eks_cluster.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AmazonEKSClusterPolicy"
}

# Envelope encryption of Kubernetes secrets is performed with the cluster role's credentials.
data "aws_iam_policy_document" "eks_cluster_kms" {
  statement {
    sid = "SecretsEnvelopeEncryption"
    actions = [
      "kms:Encrypt",
      "kms:Decrypt",
      "kms:ListGrants",
      "kms:DescribeKey",
    ]
    resources = [aws_kms_key.this.arn]
  }
}

resource "aws_iam_role_policy" "eks_cluster_kms" {
  name   = "secrets-encryption"
  role   = aws_iam_role.eks_cluster.id
  policy = data.aws_iam_policy_document.eks_cluster_kms.json
}

resource "aws_eks_cluster" "this" {
  #checkov:skip=CKV_AWS_39:The public endpoint is on only where public_access_cidrs lists callers (the DR cluster: the primary region's NAT addresses, for Argo CD), never 0.0.0.0/0 (validated); otherwise private-only.
  name     = local.cluster_name
  role_arn = aws_iam_role.eks_cluster.arn
  version  = var.kubernetes_version

  enabled_cluster_log_types = local.cluster_log_types

  vpc_config {
    subnet_ids              = [for az in var.availability_zones : aws_subnet.private[az].id]
    security_group_ids      = [aws_security_group.cluster.id]
    endpoint_private_access = true
    # Public only where a caller outside the VPC must deliver (the DR cluster, for Argo CD in the primary), and
    # then only from the listed addresses; the API still requires an IAM identity with an access entry.
    endpoint_public_access = length(var.public_access_cidrs) > 0
    public_access_cidrs    = length(var.public_access_cidrs) > 0 ? var.public_access_cidrs : null
  }

  encryption_config {
    resources = ["secrets"]

    provider {
      key_arn = aws_kms_key.this.arn
    }
  }

  # EKS's default is EXTENDED: when standard support of the version ends, the cluster keeps running at the
  # extended-support price ($0.60 instead of $0.10 per cluster-hour). STANDARD upgrades it automatically instead.
  upgrade_policy {
    support_type = var.support_type
  }

  access_config {
    authentication_mode = "API_AND_CONFIG_MAP"
    # The deploying principal must be able to reach the cluster to install workloads afterwards.
    bootstrap_cluster_creator_admin_permissions = true
  }

  tags = merge(local.tags, { Name = local.cluster_name })

  depends_on = [
    aws_cloudwatch_log_group.eks,
    aws_iam_role_policy_attachment.eks_cluster,
    aws_iam_role_policy.eks_cluster_kms,
  ]
}

# IRSA: lets pods assume IAM roles through the cluster's OIDC issuer. AWS verifies EKS issuers
# against its own trust store, so no thumbprint is pinned (and no tls provider is available).
resource "aws_iam_openid_connect_provider" "eks" {
  url            = aws_eks_cluster.this.identity[0].oidc[0].issuer
  client_id_list = ["sts.amazonaws.com"]

  tags = merge(local.tags, { Name = "${local.cluster_name}-irsa" })
}

################################################################################
# Managed node groups
################################################################################

data "aws_iam_policy_document" "nodes_assume" {
  statement {
    sid     = "Ec2Assume"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "nodes" {
  name               = "${var.name}-eks-nodes"
  assume_role_policy = data.aws_iam_policy_document.nodes_assume.json

  tags = local.tags
}

resource "aws_iam_role_policy_attachment" "nodes" {
  for_each = toset([
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryReadOnly",
  ])

  role       = aws_iam_role.nodes.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/${each.key}"
}

resource "aws_launch_template" "nodes" {
  for_each = var.node_groups

  name_prefix            = "${var.name}-${each.key}-"
  description            = "EKS managed node group ${each.key}: IMDSv2 only, KMS-encrypted root volume"
  update_default_version = true

  vpc_security_group_ids = [aws_security_group.nodes.id]

  block_device_mappings {
    device_name = "/dev/xvda"

    ebs {
      volume_size           = each.value.disk_size
      volume_type           = "gp3"
      encrypted             = true
      kms_key_id            = aws_kms_key.this.arn
      delete_on_termination = true
    }
  }

  # Hop limit 1 keeps pods (one network hop further) from reaching node credentials through IMDS;
  # pods get AWS credentials via IRSA / EKS Pod Identity instead.
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
    instance_metadata_tags      = "disabled"
  }

  monitoring {
    enabled = true
  }

  dynamic "tag_specifications" {
    for_each = toset(["instance", "volume", "network-interface"])

    content {
      resource_type = tag_specifications.value
      tags          = merge(local.tags, { Name = "${var.name}-${each.key}" })
    }
  }

  tags = merge(local.tags, { Name = "${var.name}-${each.key}" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_eks_node_group" "this" {
  for_each = var.node_groups

  cluster_name    = aws_eks_cluster.this.name
  node_group_name = "${var.name}-${each.key}"
  node_role_arn   = aws_iam_role.nodes.arn
  subnet_ids      = [for az in var.availability_zones : aws_subnet.private[az].id]
  version         = aws_eks_cluster.this.version

  ami_type       = local.node_group_ami_types[each.key]
  capacity_type  = each.value.capacity_type
  instance_types = each.value.instance_types

  scaling_config {
    min_size     = each.value.min_size
    desired_size = each.value.desired_size
    max_size     = each.value.max_size
  }

  update_config {
    max_unavailable = 1
  }

  launch_template {
    id      = aws_launch_template.nodes[each.key].id
    version = aws_launch_template.nodes[each.key].latest_version
  }

  labels = {
    "nexus.io/node-group" = each.key
  }

  tags = merge(local.tags, { Name = "${var.name}-${each.key}" })

  lifecycle {
    # The cluster autoscaler owns desired_size once the group exists.
    ignore_changes = [scaling_config[0].desired_size]
  }

  depends_on = [
    aws_iam_role_policy_attachment.nodes,
    aws_eks_addon.before_nodes,
  ]
}

################################################################################
# Add-ons
################################################################################

locals {
  # DaemonSets the nodes need to become Ready (networking, kube-proxy, pod credentials).
  addons_before_nodes = toset(["vpc-cni", "kube-proxy", "eks-pod-identity-agent"])
}

resource "aws_eks_addon" "before_nodes" {
  for_each = local.addons_before_nodes

  cluster_name                = aws_eks_cluster.this.name
  addon_name                  = each.key
  resolve_conflicts_on_create = "OVERWRITE"
  resolve_conflicts_on_update = "OVERWRITE"
  # The chart's NetworkPolicies (nexus-api's ingress and egress) are enforced only once the VPC CNI runs its
  # network policy agent, which is off by default ("Configure your cluster for Kubernetes network policies",
  # EKS user guide: the add-on's enableNetworkPolicy, a string).
  configuration_values = each.key == "vpc-cni" ? jsonencode({ enableNetworkPolicy = "true" }) : null

  tags = local.tags
}

# Deployments: they only turn ACTIVE once there are nodes to schedule on.
resource "aws_eks_addon" "coredns" {
  cluster_name                = aws_eks_cluster.this.name
  addon_name                  = "coredns"
  resolve_conflicts_on_create = "OVERWRITE"
  resolve_conflicts_on_update = "OVERWRITE"

  tags = local.tags

  depends_on = [aws_eks_node_group.this]
}

# Resource metrics (metrics.k8s.io) for every HPA's CPU target (nexus-api, the ingress gateway, istiod): EKS clusters
# come without metrics-server, and without it each HPA stays at its minimum. The EKS community add-on, so EKS keeps
# it matched to the cluster's version; the request-rate metric comes from prometheus-adapter (Argo CD add-on).
resource "aws_eks_addon" "metrics_server" {
  cluster_name                = aws_eks_cluster.this.name
  addon_name                  = "metrics-server"
  resolve_conflicts_on_create = "OVERWRITE"
  resolve_conflicts_on_update = "OVERWRITE"

  tags = local.tags

  depends_on = [aws_eks_node_group.this]
}

# Since EKS 1.30 no StorageClass is the cluster's default (gp2 lost the annotation), so claims that name no class
# (Prometheus's, Elasticsearch's) would stay Pending. The add-on makes one: ebs-csi-default-sc, gp3, WaitForFirstConsumer.
# It sets no `encrypted` parameter; the region's EBS encryption by default (below) encrypts its volumes.
resource "aws_eks_addon" "ebs_csi" {
  cluster_name                = aws_eks_cluster.this.name
  addon_name                  = "aws-ebs-csi-driver"
  service_account_role_arn    = aws_iam_role.ebs_csi.arn
  resolve_conflicts_on_create = "OVERWRITE"
  resolve_conflicts_on_update = "OVERWRITE"
  configuration_values        = jsonencode({ defaultStorageClass = { enabled = true } })

  tags = local.tags

  depends_on = [aws_eks_node_group.this]
}

# Every new EBS volume in this account and region is encrypted: the default StorageClass's, and any class that
# forgets `encrypted`. AWS's managed key (aws/ebs), which the Auto Scaling service-linked role launching the nodes
# may already use; a customer key would need a key-policy grant for it first.
resource "aws_ebs_encryption_by_default" "this" {
  enabled = true
}

data "aws_iam_policy_document" "ebs_csi_assume" {
  statement {
    sid     = "EbsCsiControllerIrsa"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [aws_iam_openid_connect_provider.eks.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_issuer_host}:sub"
      values   = ["system:serviceaccount:kube-system:ebs-csi-controller-sa"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_issuer_host}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "ebs_csi" {
  name               = "${var.name}-ebs-csi"
  assume_role_policy = data.aws_iam_policy_document.ebs_csi_assume.json

  tags = local.tags
}

resource "aws_iam_role_policy_attachment" "ebs_csi" {
  role       = aws_iam_role.ebs_csi.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
}

# Persistent volumes are encrypted with the region key, which the managed policy does not cover.
data "aws_iam_policy_document" "ebs_csi_kms" {
  statement {
    sid = "UseRegionKeyForVolumes"
    actions = [
      "kms:Encrypt",
      "kms:Decrypt",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
      "kms:DescribeKey",
    ]
    resources = [aws_kms_key.this.arn]
  }

  statement {
    sid       = "GrantsForAttachedVolumes"
    actions   = ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"]
    resources = [aws_kms_key.this.arn]

    condition {
      test     = "Bool"
      variable = "kms:GrantIsForAWSResource"
      values   = ["true"]
    }
  }
}

resource "aws_iam_role_policy" "ebs_csi_kms" {
  name   = "region-key-for-volumes"
  role   = aws_iam_role.ebs_csi.id
  policy = data.aws_iam_policy_document.ebs_csi_kms.json
}
