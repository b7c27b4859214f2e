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

  jenkins_agent_service_account = "jenkins-agent-nexus"

  # The pods that deliver, by role: Argo CD to the clusters, the Jenkins agent to ECR.
  delivery_identities = {
    argocd        = { namespace = local.argocd_namespace, service_accounts = local.argocd_service_accounts }
    jenkins_agent = { namespace = var.jenkins_namespace, service_accounts = [local.jenkins_agent_service_account] }
  }

  cluster_admins = merge(
    { argocd = aws_iam_role.argocd.arn },
    { for i, arn in var.cluster_admin_arns : "admin-${i}" => arn },
  )
}

# Who may assume each delivery role: only the named ServiceAccounts of one namespace of the primary cluster, through
# EKS Pod Identity (the agent tags the session with the cluster, namespace and ServiceAccount).
data "aws_iam_policy_document" "delivery_assume" {
  for_each = local.delivery_identities

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
      values   = [each.value.namespace]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/kubernetes-service-account"
      values   = each.value.service_accounts
    }
  }
}

# No permission policy: the role only authenticates to the clusters (a presigned sts:GetCallerIdentity), and what it
# may do there comes from its access entries.
resource "aws_iam_role" "argocd" {
  name               = "${local.name_prefix}-argocd"
  description        = "Argo CD of ${local.name_prefix} (EKS Pod Identity, ${local.argocd_namespace} on ${local.regions.primary.name}): delivers to both clusters through their access entries"
  assume_role_policy = data.aws_iam_policy_document.delivery_assume["argocd"].json
}

resource "aws_eks_pod_identity_association" "argocd" {
  for_each = toset(local.argocd_service_accounts)

  cluster_name    = module.primary.cluster_name
  namespace       = local.argocd_namespace
  service_account = each.value
  role_arn        = aws_iam_role.argocd.arn
}

################################################################################
# Delivery: the Jenkins agent's way into ECR
################################################################################
#
# The pipeline's agent pod (cicd/jenkins/pod.yaml, ServiceAccount jenkins-agent-nexus) runs in the primary cluster's
# namespace var.jenkins_namespace. It pushes nexus-api to the primary region's repository (ECR replicates it to DR)
# and waits until the DR repository holds the same digest: the role allows exactly that, through EKS Pod Identity.
# ECR encrypts with the regions' KMS keys through its own grants, so the role needs no KMS permission.

data "aws_iam_policy_document" "jenkins_agent" {
  statement {
    sid       = "RegistryLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # the action has no resource-level permissions
  }

  statement {
    sid = "PushNexusApi"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:CompleteLayerUpload",
      "ecr:DescribeImages",
      "ecr:GetDownloadUrlForLayer",
      "ecr:InitiateLayerUpload",
      "ecr:PutImage",
      "ecr:UploadLayerPart",
    ]
    resources = [aws_ecr_repository.primary["nexus_api"].arn]
  }

  statement {
    sid       = "WaitForTheDrReplica"
    actions   = ["ecr:DescribeImages"]
    resources = [aws_ecr_repository.nexus_api_dr.arn]
  }
}

resource "aws_iam_role" "jenkins_agent" {
  name               = "${local.name_prefix}-jenkins-agent"
  description        = "The nexus-api pipeline's Jenkins agent (EKS Pod Identity, ${var.jenkins_namespace}/${local.jenkins_agent_service_account} on ${local.regions.primary.name}): pushes nexus-api to ECR"
  assume_role_policy = data.aws_iam_policy_document.delivery_assume["jenkins_agent"].json
}

resource "aws_iam_role_policy" "jenkins_agent" {
  name   = "push-nexus-api"
  role   = aws_iam_role.jenkins_agent.id
  policy = data.aws_iam_policy_document.jenkins_agent.json
}

resource "aws_eks_pod_identity_association" "jenkins_agent" {
  cluster_name    = module.primary.cluster_name
  namespace       = var.jenkins_namespace
  service_account = local.jenkins_agent_service_account
  role_arn        = aws_iam_role.jenkins_agent.arn
}
