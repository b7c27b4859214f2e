################################################################################
# Cluster access: EKS access entries (the API, not the aws-auth ConfigMap)
################################################################################
#
# Who may administer this cluster besides the principal that created it: Argo CD's role (it installs the add-ons'
# CRDs, webhooks and cluster roles, so it needs cluster-wide rights) and the operators' roles. Each gets an access
# entry and AmazonEKSClusterAdminPolicy for the whole cluster. Authentication is IAM (aws eks get-token /
# argocd-k8s-auth); the network path is the private endpoint from inside the VPC, or the public endpoint from
# public_access_cidrs (compute.tf).

resource "aws_eks_access_entry" "admins" {
  for_each = var.cluster_admins

  cluster_name  = aws_eks_cluster.this.name
  principal_arn = each.value
  type          = "STANDARD"

  tags = local.tags
}

resource "aws_eks_access_policy_association" "admins" {
  for_each = var.cluster_admins

  cluster_name  = aws_eks_cluster.this.name
  principal_arn = aws_eks_access_entry.admins[each.key].principal_arn
  policy_arn    = "arn:${local.partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"

  access_scope {
    type = "cluster"
  }
}
