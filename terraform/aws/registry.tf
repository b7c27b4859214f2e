# Container registry. The primary region's repositories, all hardened alike (immutable tags, scan on push, the
# region's KMS key, the lifecycle rules below):
#
#   nexus-api          the application image (cicd/Jenkinsfile pushes it). ECR replicates every pushed image to the
#                      same-named repository in the DR region, which exists ahead of time so it is encrypted with the
#                      DR region's key and has the same scanning, tag immutability and lifecycle rules.
#   ci/nexus-ci-tools  the image of the Jenkins agent's tools container (cicd/jenkins/pod.yaml, tools.Dockerfile).
#                      Only the pipeline pulls it, from the primary region: not replicated (the replication filter
#                      below does not match it).

locals {
  ecr_repository_name = "nexus-api"

  # Repositories of the primary region, by key.
  ecr_repositories = {
    nexus_api = local.ecr_repository_name
    ci_tools  = "ci/nexus-ci-tools"
  }

  ecr_lifecycle_policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Expire untagged images after 14 days"
        selection = {
          tagStatus   = "untagged"
          countType   = "sinceImagePushed"
          countUnit   = "days"
          countNumber = 14
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "Keep the 200 most recent images"
        selection = {
          tagStatus   = "any"
          countType   = "imageCountMoreThan"
          countNumber = 200
        }
        action = { type = "expire" }
      },
    ]
  })
}

resource "aws_ecr_repository" "primary" {
  for_each = local.ecr_repositories

  name                 = each.value
  image_tag_mutability = "IMMUTABLE"
  force_delete         = !var.deletion_protection

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = module.primary.kms_key_arn
  }
}

resource "aws_ecr_lifecycle_policy" "primary" {
  for_each = aws_ecr_repository.primary

  repository = each.value.name
  policy     = local.ecr_lifecycle_policy
}

# nexus-api's repository was a resource of its own before ci/nexus-ci-tools joined it.
moved {
  from = aws_ecr_repository.nexus_api
  to   = aws_ecr_repository.primary["nexus_api"]
}

moved {
  from = aws_ecr_lifecycle_policy.nexus_api
  to   = aws_ecr_lifecycle_policy.primary["nexus_api"]
}

resource "aws_ecr_repository" "nexus_api_dr" {
  provider = aws.dr

  name                 = local.ecr_repository_name
  image_tag_mutability = "IMMUTABLE"
  force_delete         = !var.deletion_protection

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = module.dr.kms_key_arn
  }
}

resource "aws_ecr_lifecycle_policy" "nexus_api_dr" {
  provider = aws.dr

  repository = aws_ecr_repository.nexus_api_dr.name
  policy     = local.ecr_lifecycle_policy
}

# Registry-level setting of the primary region's registry: replicate nexus-api* (and nothing else) to the DR region.
resource "aws_ecr_replication_configuration" "this" {
  replication_configuration {
    rule {
      destination {
        region      = var.dr_region
        registry_id = local.account_id
      }

      repository_filter {
        filter      = local.ecr_repository_name
        filter_type = "PREFIX_MATCH"
      }
    }
  }

  depends_on = [aws_ecr_repository.nexus_api_dr]
}
