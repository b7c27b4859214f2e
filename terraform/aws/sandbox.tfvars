# Sandbox - the same topology and features as production.tfvars, applied to the local AWS emulator.
# Differences: the environment name, the domain, smaller sizes, deletion protection off (so `nexus down` can remove
# everything), and the three sandbox switches (endpoint, retries, CloudFront wait).
#   terraform init -reconfigure -backend-config=backend/sandbox.hcl
#   terraform apply -var-file=sandbox.tfvars

project     = "nexus"
environment = "sandbox"

primary_region = "us-east-1"
dr_region      = "eu-west-1"

primary_vpc_cidr           = "10.10.0.0/16"
primary_availability_zones = ["us-east-1a", "us-east-1b"]
dr_vpc_cidr                = "10.20.0.0/16"
dr_availability_zones      = ["eu-west-1a", "eu-west-1b"]

kubernetes_version = "1.35"

primary_node_groups = {
  general = {
    instance_types = ["t3.medium"]
    min_size       = 2
    desired_size   = 2
    max_size       = 4
  }
}

dr_node_groups = {
  general = {
    instance_types = ["t3.medium"]
    min_size       = 1
    desired_size   = 1
    max_size       = 4
  }
}

db = {
  engine_version        = "16"
  instance_class        = "db.t4g.medium"
  allocated_storage     = 20
  max_allocated_storage = 100
  multi_az              = true
  performance_insights  = true
}

cache = {
  node_type          = "cache.m6g.large"
  engine_version     = "7.1"
  num_cache_clusters = 2
}

backup_retention_days = 30
backup_vault_lock     = true
deletion_protection   = false

domain_name = "sandbox.nexus-platform.example.com"
# The emulator needs no delegation: the sandbox makes its zone.
dns_zone    = "create"
alert_email = "platform-oncall@nexus-platform.example.com"

waf_rate_limit         = 2000
log_retention_days     = 365
cloudfront_price_class = "PriceClass_All"

# --- sandbox switches ---
aws_endpoint_url = "https://127.0.0.1:4566"
# Few retries so real errors surface fast (non-retryable ones never retry anyway), but enough to ride out a dropped
# connection to the emulator: one apply in about ten lost a read twice in a row ("use of closed network connection"
# on DescribeLaunchTemplateVersions). Retries are safe: the emulator replays an operation that already succeeded.
aws_max_retries                = 5
cloudfront_wait_for_deployment = false
