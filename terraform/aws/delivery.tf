################################################################################
# Delivery: Argo CD's way into both clusters
################################################################################
#
# One Argo CD, in the primary cluster's namespace `argocd` (cicd/argocd/README.md), delivers to both clusters. The
# design, chosen over private connectivity between the VPCs:
#
#   identity  Argo CD's controller, server and ApplicationSet controller run as the IAM role below, handed to them by
#             EKS Pod Identity in the primary cluster (no long-lived credentials, no roleARN to chain). Each cluster
#             has an access entry for the role with AmazonEKSClusterAdminPolicy (modules/region access.tf): the
#             add-ons install CRDs, webhooks and cluster roles.
#   path      primary: Argo CD is inside the cluster's VPC and uses the private endpoint. DR: the EKS API's public
#             endpoint, admitting only the primary region's NAT addresses (plus eks_public_access_cidrs, the
#             operators'). Why not peering: EKS's private endpoint name resolves only inside its own VPC, so a peered
#             VPC would also need Route 53 Resolver endpoints in both regions (about $360/month for the four ENIs)
#             and the private path would then depend on the very inter-region link a regional failure may take
#             down; the public endpoint needs nothing more, and the API still refuses any caller without an IAM
#             identity that has an access entry.
#   people    cluster_admin_arns (operators' roles) get the same access entry in both clusters.

locals {
  argocd_namespace = "argocd"
  # The Argo CD components that talk to the clusters' APIs (the Helm chart's default ServiceAccount names).
  argocd_service_accounts = ["argocd-application-controller", "argocd-server", "argocd-applicationset-controller"]

  cluster_admins = merge(
    { argocd = aws_iam_role.argocd.arn },
    { for i, arn in var.cluster_admin_arns : "admin-${i}" => arn },
  )
}

data "aws_iam_policy_document" "argocd_assume" {
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
      values   = [local.regions.primary.name]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/kubernetes-namespace"
      values   = [local.argocd_namespace]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/kubernetes-service-account"
      values   = local.argocd_service_accounts
    }
  }
}

# No permission policy: the role only authenticates to the clusters (a presigned sts:GetCallerIdentity), and what it
# may do there comes from its access entries.
resource "aws_iam_role" "argocd" {
  name               = "${local.name_prefix}-argocd"
  description        = "Argo CD of ${local.name_prefix} (EKS Pod Identity, ${local.argocd_namespace} on ${local.regions.primary.name}): delivers to both clusters through their access entries"
  assume_role_policy = data.aws_iam_policy_document.argocd_assume.json
}

resource "aws_eks_pod_identity_association" "argocd" {
  for_each = toset(local.argocd_service_accounts)

  cluster_name    = module.primary.cluster_name
  namespace       = local.argocd_namespace
  service_account = each.value
  role_arn        = aws_iam_role.argocd.arn
}
