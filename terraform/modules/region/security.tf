################################################################################
# KMS: one customer-managed key per region for every at-rest encryption of the region
################################################################################

data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_109:This is a KMS key policy, not an identity policy: Resource "*" means this key only, and the account-root kms:* statement is the AWS default that keeps the key administrable through IAM.
  #checkov:skip=CKV_AWS_111:This is a KMS key policy, not an identity policy: Resource "*" means this key only; non-root statements are constrained by service principal, encryption context or kms:ViaService + kms:CallerAccount.
  #checkov:skip=CKV_AWS_356:This is a KMS key policy, not an identity policy: Resource "*" is the only valid resource value in a key policy and refers to this key.
  # Delegates key administration and use to IAM policies of this account; without it the key
  # becomes unmanageable if the policy is ever wrong.
  statement {
    sid       = "AccountRootAdministration"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  # CloudWatch Logs encrypts the log groups of this region (flow logs, EKS, RDS, Redis, WAF) itself
  # and is not an IAM principal of the account, so it needs a key-policy grant, scoped to log groups
  # of this account and region through the encryption context.
  statement {
    sid = "CloudWatchLogsEncryption"
    actions = [
      "kms:Encrypt*",
      "kms:Decrypt*",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
      "kms:Describe*",
    ]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.${local.dns_suffix}"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"]
    }
  }

  # EKS node volumes are created by the Auto Scaling service-linked role, whose managed policy has
  # no KMS rights. This is the same grant as the AWS-managed aws/ebs key: usable only through EC2
  # in this region and only by principals of this account, so it does not depend on the
  # service-linked role already existing when the key is created.
  statement {
    sid = "EbsThroughEc2ForThisAccount"
    actions = [
      "kms:Encrypt",
      "kms:Decrypt",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
      "kms:CreateGrant",
      "kms:DescribeKey",
    ]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:CallerAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["ec2.${local.region}.${local.dns_suffix}"]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "${var.name}: EKS secrets, EBS, RDS, ElastiCache and CloudWatch Logs encryption"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json

  tags = merge(local.tags, { Name = var.name })
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}

################################################################################
# Security groups: only ALB -> nodes -> RDS / Redis, plus what EKS itself needs
################################################################################

locals {
  # Control plane -> node ports: kubelet plus the admission-webhook/metrics ports that common
  # add-ons (metrics-server, AWS Load Balancer Controller, cert-manager, Karpenter) listen on.
  cluster_to_node_ports = {
    https          = { port = 443, description = "EKS control plane to webhooks on 443" }
    metrics_server = { port = 4443, description = "EKS control plane to metrics-server" }
    # The metrics-server EKS add-on (compute.tf) listens on 10251, not the upstream chart's 10250/4443 ("View
    # resource usage with the Kubernetes Metrics Server", EKS user guide): the API server's aggregation layer
    # calls it there for every HPA's CPU reading.
    metrics_server_addon = { port = 10251, description = "EKS control plane to the metrics-server add-on" }
    webhook_6443         = { port = 6443, description = "EKS control plane to webhooks on 6443" }
    webhook_8443         = { port = 8443, description = "EKS control plane to webhooks on 8443" }
    webhook_9443         = { port = 9443, description = "EKS control plane to AWS Load Balancer Controller webhook" }
    kubelet              = { port = 10250, description = "EKS control plane to kubelet" }
    # istiod serves the sidecar-injection and validation webhooks on 15017: without it every pod creation in an
    # injection-enabled namespace fails (the API server cannot call the webhook).
    istio_webhook = { port = 15017, description = "EKS control plane to istiod webhooks" }
  }

  # ALB -> pod ports: traffic to the gateway pods and their readiness port for the target health check.
  # (The ALB security group's description predates the health-check port; it is immutable, so it stays.)
  alb_target_ports = {
    traffic      = { port = var.app_port, description = "application port" }
    health_check = { port = var.target_health_check.port, description = "target health check" }
  }
}

# Prefixed names + create_before_destroy: a replacement SG can be created and attached before the old
# one is deleted (a fixed name would collide, and an SG cannot be deleted while still attached).
resource "aws_security_group" "alb" {
  name_prefix = "${var.name}-alb-"
  description = "Internet-facing ALB: HTTPS in from anywhere, only app_port out to the EKS nodes"
  vpc_id      = aws_vpc.this.id

  tags = merge(local.tags, { Name = "${var.name}-alb" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_security_group" "cluster" {
  name_prefix = "${var.name}-eks-cluster-"
  description = "Additional SG of the EKS control-plane ENIs: API from nodes, kubelet/webhooks to nodes"
  vpc_id      = aws_vpc.this.id

  tags = merge(local.tags, { Name = "${var.name}-eks-cluster" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_security_group" "nodes" {
  name_prefix = "${var.name}-eks-nodes-"
  description = "EKS worker nodes and pods: app traffic from the ALB, control plane and node-to-node"
  vpc_id      = aws_vpc.this.id

  tags = merge(local.tags, {
    Name                                          = "${var.name}-eks-nodes"
    "kubernetes.io/cluster/${local.cluster_name}" = "owned"
  })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_security_group" "db" {
  name_prefix = "${var.name}-rds-"
  description = "RDS PostgreSQL: 5432 from the EKS nodes only"
  vpc_id      = aws_vpc.this.id

  tags = merge(local.tags, { Name = "${var.name}-rds" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_security_group" "cache" {
  name_prefix = "${var.name}-redis-"
  description = "ElastiCache Redis: 6379 from the EKS nodes only"
  vpc_id      = aws_vpc.this.id

  tags = merge(local.tags, { Name = "${var.name}-redis" })

  lifecycle {
    create_before_destroy = true
  }
}

# --- ALB ----------------------------------------------------------------------

resource "aws_vpc_security_group_ingress_rule" "alb_https_ipv4" {
  security_group_id = aws_security_group.alb.id
  description       = "HTTPS from the internet (CloudFront origin fetches, Route 53 health checks)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"

  tags = local.tags
}

resource "aws_vpc_security_group_egress_rule" "alb_to_nodes" {
  for_each = local.alb_target_ports

  security_group_id            = aws_security_group.alb.id
  description                  = "ALB to pods (IP targets): ${each.value.description}"
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
  referenced_security_group_id = aws_security_group.nodes.id

  tags = local.tags
}

moved {
  from = aws_vpc_security_group_egress_rule.alb_to_nodes
  to   = aws_vpc_security_group_egress_rule.alb_to_nodes["traffic"]
}

# --- EKS control plane ------------------------------------------------------------

resource "aws_vpc_security_group_ingress_rule" "cluster_from_nodes" {
  security_group_id            = aws_security_group.cluster.id
  description                  = "Kubernetes API from the worker nodes and pods"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.nodes.id

  tags = local.tags
}

resource "aws_vpc_security_group_egress_rule" "cluster_to_nodes" {
  for_each = local.cluster_to_node_ports

  security_group_id            = aws_security_group.cluster.id
  description                  = each.value.description
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
  referenced_security_group_id = aws_security_group.nodes.id

  tags = local.tags
}

# --- Nodes --------------------------------------------------------------------

resource "aws_vpc_security_group_ingress_rule" "nodes_from_alb" {
  for_each = local.alb_target_ports

  security_group_id            = aws_security_group.nodes.id
  description                  = "From the ALB: ${each.value.description}"
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
  referenced_security_group_id = aws_security_group.alb.id

  tags = local.tags
}

moved {
  from = aws_vpc_security_group_ingress_rule.nodes_from_alb
  to   = aws_vpc_security_group_ingress_rule.nodes_from_alb["traffic"]
}

resource "aws_vpc_security_group_ingress_rule" "nodes_from_cluster" {
  for_each = local.cluster_to_node_ports

  security_group_id            = aws_security_group.nodes.id
  description                  = each.value.description
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
  referenced_security_group_id = aws_security_group.cluster.id

  tags = local.tags
}

# Pod-to-pod traffic (CoreDNS on 53/udp+tcp, service mesh, any service port) crosses nodes with the
# VPC CNI, and its ports are chosen by workloads, so it cannot be narrowed below "within the group".
resource "aws_vpc_security_group_ingress_rule" "nodes_from_nodes" {
  security_group_id            = aws_security_group.nodes.id
  description                  = "Node-to-node and pod-to-pod traffic within the cluster"
  ip_protocol                  = "-1"
  referenced_security_group_id = aws_security_group.nodes.id

  tags = local.tags
}

resource "aws_vpc_security_group_egress_rule" "nodes_to_nodes" {
  security_group_id            = aws_security_group.nodes.id
  description                  = "Node-to-node and pod-to-pod traffic within the cluster"
  ip_protocol                  = "-1"
  referenced_security_group_id = aws_security_group.nodes.id

  tags = local.tags
}

resource "aws_vpc_security_group_egress_rule" "nodes_to_cluster" {
  security_group_id            = aws_security_group.nodes.id
  description                  = "Kubernetes API on the control-plane ENIs"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.cluster.id

  tags = local.tags
}

# Image pulls (ECR, public registries) and AWS APIs (STS for IRSA, EC2 for the VPC CNI) are HTTPS
# endpoints reached through the NAT gateways; their addresses are not stable enough to pin.
resource "aws_vpc_security_group_egress_rule" "nodes_https_out" {
  security_group_id = aws_security_group.nodes.id
  description       = "HTTPS to AWS APIs and container registries via NAT"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"

  tags = local.tags
}

resource "aws_vpc_security_group_egress_rule" "nodes_to_db" {
  security_group_id            = aws_security_group.nodes.id
  description                  = "PostgreSQL to RDS"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.db.id

  tags = local.tags
}

resource "aws_vpc_security_group_egress_rule" "nodes_to_cache" {
  security_group_id            = aws_security_group.nodes.id
  description                  = "Redis (TLS) to ElastiCache"
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  referenced_security_group_id = aws_security_group.cache.id

  tags = local.tags
}

# --- Data tier (no egress rules: both only answer connections) -----------------

resource "aws_vpc_security_group_ingress_rule" "db_from_nodes" {
  security_group_id            = aws_security_group.db.id
  description                  = "PostgreSQL from the EKS nodes and pods"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.nodes.id

  tags = local.tags
}

resource "aws_vpc_security_group_ingress_rule" "cache_from_nodes" {
  security_group_id            = aws_security_group.cache.id
  description                  = "Redis from the EKS nodes and pods"
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  referenced_security_group_id = aws_security_group.nodes.id

  tags = local.tags
}
