# Production - the spec's topology: primary us-east-1, DR eu-west-1, two AZs each.
#   cd terraform/aws && terraform init && terraform plan -var-file=production.tfvars

project     = "nexus"
environment = "production"

primary_region = "us-east-1"
dr_region      = "eu-west-1"

primary_vpc_cidr           = "10.10.0.0/16"
primary_availability_zones = ["us-east-1a", "us-east-1b"]
dr_vpc_cidr                = "10.20.0.0/16"
dr_availability_zones      = ["eu-west-1a", "eu-west-1b"]

# In EKS standard support until 2027-03-27; STANDARD upgrades the clusters when it ends instead of billing
# extended support. Every add-on in cicd/argocd/versions.yaml supports 1.35.
kubernetes_version = "1.35"
eks_support_type   = "STANDARD"

primary_node_groups = {
  general = {
    instance_types = ["m6i.large"]
    min_size       = 3
    desired_size   = 3
    max_size       = 10
  }
}

# Warm standby: runs a minimal footprint, scales to the primary's size on failover (`nexus dr failover`).
dr_node_groups = {
  general = {
    instance_types = ["m6i.large"]
    min_size       = 1
    desired_size   = 2
    max_size       = 10
  }
}

db = {
  engine_version        = "16"
  instance_class        = "db.r6g.large"
  allocated_storage     = 100
  max_allocated_storage = 1000
  multi_az              = true
  performance_insights  = true
}

cache = {
  node_type          = "cache.r6g.large"
  engine_version     = "7.1"
  num_cache_clusters = 2
}

backup_retention_days = 30
backup_vault_lock     = true
deletion_protection   = true

domain_name = "nexus-platform.example.com"
# A zone already delegated from the parent domain: the certificates validate in the first apply.
dns_zone    = "existing"
alert_email = "platform-oncall@nexus-platform.example.com"

waf_rate_limit         = 2000
log_retention_days     = 365
cloudfront_price_class = "PriceClass_All"
