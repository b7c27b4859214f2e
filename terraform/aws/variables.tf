# Inputs of the Nexus Platform root module. production.tfvars is the spec's production; sandbox.tfvars the same
# topology pointed at the local AWS emulator. Every variable is typed, described and validated where a wrong value
# is possible; cross-variable rules (primary != DR, non-overlapping CIDRs, AZs inside their region) are validations
# on the second variable so `terraform test` can target them with expect_failures.

# --- identity -----------------------------------------------------------------------------------------------------

variable "project" {
  description = "Project name: the first part of every resource name and the Project tag."
  type        = string
  default     = "nexus"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,11}$", var.project))
    error_message = "project must be 2-12 lower-case letters/digits, starting with a letter."
  }
}

variable "environment" {
  description = "Environment name (production, staging, sandbox, ...): the second part of every resource name and the Environment tag."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,11}$", var.environment))
    error_message = "environment must be 2-12 lower-case letters/digits, starting with a letter."
  }
}

# --- regions ------------------------------------------------------------------------------------------------------

variable "primary_region" {
  description = "AWS region serving traffic in normal operation (the spec: us-east-1)."
  type        = string

  validation {
    condition     = can(regex("^(us|eu|ap|sa|ca|me|af|il|mx)-(gov-)?(north|south|east|west|central|northeast|northwest|southeast|southwest)-[1-9]$", var.primary_region))
    error_message = "primary_region must be an AWS region name such as us-east-1."
  }
}

variable "dr_region" {
  description = "AWS region holding the warm standby (the spec: eu-west-1). Must differ from primary_region."
  type        = string

  validation {
    condition     = can(regex("^(us|eu|ap|sa|ca|me|af|il|mx)-(gov-)?(north|south|east|west|central|northeast|northwest|southeast|southwest)-[1-9]$", var.dr_region))
    error_message = "dr_region must be an AWS region name such as eu-west-1."
  }

  validation {
    condition     = var.dr_region != var.primary_region
    error_message = "dr_region must be a different region from primary_region: a DR copy in the same region does not survive a regional outage."
  }
}

# --- network address plan -----------------------------------------------------------------------------------------

variable "primary_vpc_cidr" {
  description = "IPv4 CIDR of the primary region's VPC (/16 to /24). Public subnet i = cidrsubnet(cidr, 4, i), private = cidrsubnet(cidr, 4, i + 8)."
  type        = string

  validation {
    condition     = can(cidrhost(var.primary_vpc_cidr, 0)) && can(regex("^\\d+\\.\\d+\\.\\d+\\.\\d+/\\d+$", var.primary_vpc_cidr)) && try(cidrsubnet(var.primary_vpc_cidr, 0, 0) == var.primary_vpc_cidr, false)
    error_message = "primary_vpc_cidr must be an IPv4 network CIDR block such as 10.10.0.0/16 (no host bits set)."
  }

  validation {
    condition     = try(tonumber(split("/", var.primary_vpc_cidr)[1]) >= 16 && tonumber(split("/", var.primary_vpc_cidr)[1]) <= 24, true)
    error_message = "primary_vpc_cidr must have a prefix length between /16 and /24 (the AWS VPC limits)."
  }
}

variable "dr_vpc_cidr" {
  description = "IPv4 CIDR of the DR region's VPC (/16 to /24). Must not overlap primary_vpc_cidr (the regions are peered/routable during failback and data copy)."
  type        = string

  validation {
    condition     = can(cidrhost(var.dr_vpc_cidr, 0)) && can(regex("^\\d+\\.\\d+\\.\\d+\\.\\d+/\\d+$", var.dr_vpc_cidr)) && try(cidrsubnet(var.dr_vpc_cidr, 0, 0) == var.dr_vpc_cidr, false)
    error_message = "dr_vpc_cidr must be an IPv4 network CIDR block such as 10.20.0.0/16 (no host bits set)."
  }

  validation {
    condition     = try(tonumber(split("/", var.dr_vpc_cidr)[1]) >= 16 && tonumber(split("/", var.dr_vpc_cidr)[1]) <= 24, true)
    error_message = "dr_vpc_cidr must have a prefix length between /16 and /24 (the AWS VPC limits)."
  }

  # Two blocks overlap exactly when they agree on the network bits of the shorter prefix. (HCL's || does not
  # short-circuit, so a malformed value is absorbed by try(): the format validations report it.)
  validation {
    condition = try(
      cidrhost(format("%s/%d", split("/", var.dr_vpc_cidr)[0], min(tonumber(split("/", var.dr_vpc_cidr)[1]), tonumber(split("/", var.primary_vpc_cidr)[1]))), 0) !=
      cidrhost(format("%s/%d", split("/", var.primary_vpc_cidr)[0], min(tonumber(split("/", var.dr_vpc_cidr)[1]), tonumber(split("/", var.primary_vpc_cidr)[1]))), 0),
      true
    )
    error_message = "dr_vpc_cidr overlaps primary_vpc_cidr: the two regions' VPCs need disjoint address space."
  }
}

variable "primary_availability_zones" {
  description = "Availability zones used in the primary region (at least 2, unique, all inside primary_region). One public + one private subnet and one NAT gateway per AZ."
  type        = list(string)

  validation {
    condition     = length(var.primary_availability_zones) >= 2 && length(var.primary_availability_zones) <= 8 && length(distinct(var.primary_availability_zones)) == length(var.primary_availability_zones)
    error_message = "primary_availability_zones needs 2 to 8 distinct availability zones (the subnet layout has 8 public and 8 private slots)."
  }

  validation {
    condition     = alltrue([for az in var.primary_availability_zones : can(regex(format("^%s[a-z]$", var.primary_region), az))])
    error_message = "Every entry of primary_availability_zones must be a zone of primary_region (e.g. us-east-1a)."
  }
}

variable "dr_availability_zones" {
  description = "Availability zones used in the DR region (at least 2, unique, all inside dr_region)."
  type        = list(string)

  validation {
    condition     = length(var.dr_availability_zones) >= 2 && length(var.dr_availability_zones) <= 8 && length(distinct(var.dr_availability_zones)) == length(var.dr_availability_zones)
    error_message = "dr_availability_zones needs 2 to 8 distinct availability zones (the subnet layout has 8 public and 8 private slots)."
  }

  validation {
    condition     = alltrue([for az in var.dr_availability_zones : can(regex(format("^%s[a-z]$", var.dr_region), az))])
    error_message = "Every entry of dr_availability_zones must be a zone of dr_region (e.g. eu-west-1a)."
  }
}

# --- compute ------------------------------------------------------------------------------------------------------

variable "kubernetes_version" {
  description = "EKS Kubernetes version for both clusters: 1.32 or newer (EKS no longer creates 1.31 and older; Istio 1.30, pinned in cicd/argocd, supports 1.32-1.36). Every add-on's supported range in cicd/argocd/versions.yaml must include it."
  type        = string

  validation {
    condition     = can(regex("^1\\.(3[2-9])$", var.kubernetes_version))
    error_message = "kubernetes_version must be 1.32 or newer (EKS creates nothing older, and Istio 1.30 supports 1.32+), written MAJOR.MINOR (e.g. 1.35)."
  }
}

variable "eks_public_access_cidrs" {
  description = "Extra CIDRs (the operators', a CI runner's) admitted to both clusters' EKS API public endpoints. Empty: the primary cluster's API stays private-only and the DR cluster's admits only the primary region's NAT addresses (Argo CD)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.eks_public_access_cidrs : can(cidrhost(c, 0)) && !endswith(c, "/0")])
    error_message = "Every entry of eks_public_access_cidrs must be an IPv4 CIDR narrower than /0 (e.g. 203.0.113.0/28)."
  }
}

variable "cluster_admin_arns" {
  description = "IAM role or user ARNs of the operators who administer both clusters (an EKS access entry with AmazonEKSClusterAdminPolicy each; Argo CD's role gets one regardless)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.cluster_admin_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/.+$", arn))])
    error_message = "Every entry of cluster_admin_arns must be an IAM role or user ARN (arn:aws:iam::<account>:role/<name>)."
  }
}

variable "jenkins_namespace" {
  description = "Namespace of the primary cluster in which the Jenkins agents run (cicd/jenkins/pod.yaml): its ServiceAccount jenkins-agent-nexus gets the role that pushes nexus-api to ECR (EKS Pod Identity)."
  type        = string
  default     = "jenkins"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.jenkins_namespace))
    error_message = "jenkins_namespace must be a Kubernetes namespace name (RFC 1123 label: lower-case letters, digits, '-')."
  }
}

variable "eks_support_type" {
  description = "EKS upgrade policy of both clusters: STANDARD (default: upgraded automatically when the version's standard support ends, so never billed for extended support) or EXTENDED (kept on the version up to 12 more months at $0.60 instead of $0.10 per cluster-hour)."
  type        = string
  default     = "STANDARD"

  validation {
    condition     = contains(["STANDARD", "EXTENDED"], var.eks_support_type)
    error_message = "eks_support_type must be STANDARD or EXTENDED."
  }
}

variable "primary_node_groups" {
  description = "EKS managed node groups of the primary cluster: name => { instance_types, min_size, desired_size, max_size, capacity_type, disk_size }."
  type = map(object({
    instance_types = list(string)
    min_size       = number
    desired_size   = number
    max_size       = number
    capacity_type  = optional(string, "ON_DEMAND")
    disk_size      = optional(number, 50)
  }))

  validation {
    condition     = length(var.primary_node_groups) >= 1 && alltrue([for k, g in var.primary_node_groups : can(regex("^[a-z][a-z0-9-]{0,19}$", k))])
    error_message = "primary_node_groups needs at least one group; names are lower-case letters, digits and '-' (max 20)."
  }

  validation {
    condition     = alltrue([for g in var.primary_node_groups : g.min_size >= 0 && g.min_size <= g.desired_size && g.desired_size <= g.max_size && g.max_size >= 1])
    error_message = "Each primary node group needs 0 <= min_size <= desired_size <= max_size and max_size >= 1."
  }

  validation {
    condition     = alltrue([for g in var.primary_node_groups : length(g.instance_types) >= 1 && contains(["ON_DEMAND", "SPOT"], g.capacity_type) && g.disk_size >= 20])
    error_message = "Each primary node group needs at least one instance type, capacity_type ON_DEMAND or SPOT, and disk_size >= 20 GiB."
  }
}

variable "dr_node_groups" {
  description = "EKS managed node groups of the DR cluster (warm standby: smaller desired size, same max so it can take the full load after failover)."
  type = map(object({
    instance_types = list(string)
    min_size       = number
    desired_size   = number
    max_size       = number
    capacity_type  = optional(string, "ON_DEMAND")
    disk_size      = optional(number, 50)
  }))

  validation {
    condition     = length(var.dr_node_groups) >= 1 && alltrue([for k, g in var.dr_node_groups : can(regex("^[a-z][a-z0-9-]{0,19}$", k))])
    error_message = "dr_node_groups needs at least one group; names are lower-case letters, digits and '-' (max 20)."
  }

  validation {
    condition     = alltrue([for g in var.dr_node_groups : g.min_size >= 0 && g.min_size <= g.desired_size && g.desired_size <= g.max_size && g.max_size >= 1])
    error_message = "Each DR node group needs 0 <= min_size <= desired_size <= max_size and max_size >= 1."
  }

  validation {
    condition     = alltrue([for g in var.dr_node_groups : length(g.instance_types) >= 1 && contains(["ON_DEMAND", "SPOT"], g.capacity_type) && g.disk_size >= 20])
    error_message = "Each DR node group needs at least one instance type, capacity_type ON_DEMAND or SPOT, and disk_size >= 20 GiB."
  }
}

# --- data stores --------------------------------------------------------------------------------------------------

variable "db" {
  description = "RDS PostgreSQL settings shared by the primary instance and its cross-region replica (the replica must keep up with the primary's write load, so it gets the same class). Backup retention and deletion protection come from backup_retention_days and deletion_protection."
  type = object({
    engine_version        = string
    instance_class        = string
    allocated_storage     = number
    max_allocated_storage = number
    multi_az              = bool
    performance_insights  = bool
  })

  # A major version only: RDS picks the newest minor it still creates and upgrades it in the maintenance window
  # (auto_minor_version_upgrade). A pinned minor stops being creatable when RDS retires it (16.8: May 2026) and,
  # after an automatic upgrade, makes every plan try to downgrade.
  validation {
    condition     = try(can(regex("^\\d+$", var.db.engine_version)) && tonumber(var.db.engine_version) >= 13, false)
    error_message = "db.engine_version must be a PostgreSQL major version, 13 or newer (e.g. \"16\"), not a minor such as 16.8: RDS picks and upgrades the minor."
  }

  validation {
    condition     = can(regex("^db\\.[a-z0-9]+\\.[a-z0-9]+$", var.db.instance_class))
    error_message = "db.instance_class must be an RDS instance class such as db.r6g.large."
  }

  validation {
    condition     = var.db.allocated_storage >= 20 && var.db.max_allocated_storage >= var.db.allocated_storage && var.db.max_allocated_storage <= 65536
    error_message = "db.allocated_storage must be >= 20 GiB and db.max_allocated_storage between allocated_storage and 65536 GiB."
  }
}

variable "dr_db_multi_az" {
  description = "Multi-AZ for the DR region's read replica. Off by default: the warm standby takes no writes, and a Multi-AZ replica doubles its instance and storage bill (a second db.r6g.large and its gp3 volume in eu-west-1) for AZ resilience that matters only once it is promoted. After a failover, turn it on for the new writer (modify-db-instance --multi-az, online) or set this and apply."
  type        = bool
  default     = false
  nullable    = false
}

variable "cache" {
  description = "ElastiCache Redis settings of the primary replication group (the DR group joins the global datastore and inherits engine and node type from it)."
  type = object({
    node_type          = string
    engine_version     = string
    num_cache_clusters = number
  })

  validation {
    condition     = can(regex("^cache\\.[a-z0-9]+\\.[a-z0-9]+$", var.cache.node_type)) && !can(regex("^cache\\.t", var.cache.node_type))
    error_message = "cache.node_type must be an ElastiCache node type such as cache.r6g.large; burstable cache.t* types cannot join a global datastore."
  }

  validation {
    condition     = try(can(regex("^[0-9]+\\.[0-9]+$", var.cache.engine_version)) && tonumber(split(".", var.cache.engine_version)[0]) >= 6, false)
    error_message = "cache.engine_version must be a Redis version 6.x or newer, written MAJOR.MINOR (e.g. 7.1)."
  }

  validation {
    condition     = var.cache.num_cache_clusters >= 2 && var.cache.num_cache_clusters <= 6
    error_message = "cache.num_cache_clusters must be 2..6: automatic failover needs a primary and at least one replica."
  }
}

variable "cache_auth_token_version" {
  description = "Generation of the Redis AUTH token. Bump it to rotate: a new random token is written to Secrets Manager and pushed to both replication groups."
  type        = number
  default     = 1

  validation {
    condition     = var.cache_auth_token_version >= 1 && floor(var.cache_auth_token_version) == var.cache_auth_token_version
    error_message = "cache_auth_token_version must be a positive whole number."
  }
}

variable "origin_verify_version" {
  description = "Generation of the secret CloudFront sends to the origins (x-nexus-origin-verify). Bump it to rotate: CloudFront and both regional WAFs get the new value in the same apply."
  type        = number
  default     = 1

  validation {
    condition     = var.origin_verify_version >= 1 && floor(var.origin_verify_version) == var.origin_verify_version
    error_message = "origin_verify_version must be a positive whole number."
  }
}

variable "db_app_username" {
  description = "PostgreSQL role nexus-api connects as. Written, with a generated password, to the <project>-<environment>/db/app secret that helm/nexus reads; not the RDS master user (nexus_admin), whose credentials RDS manages."
  type        = string
  default     = "nexus_app"

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]{0,62}$", var.db_app_username))
    error_message = "db_app_username must be a PostgreSQL identifier: 1-63 lower-case letters, digits and underscores, not starting with a digit."
  }

  validation {
    condition     = !contains(["nexus_admin", "postgres", "rdsadmin", "rdsrepladmin", "public"], var.db_app_username) && !startswith(var.db_app_username, "pg_") && !startswith(var.db_app_username, "rds_")
    error_message = "db_app_username must not be the RDS master user (nexus_admin) or a name PostgreSQL / RDS reserve (postgres, rdsadmin, rdsrepladmin, public, pg_*, rds_*)."
  }
}

variable "db_app_credentials_version" {
  description = "Generation of the application database password. Bump it to rotate: a new random password is written to the db/app secret (the PostgreSQL role's password must be changed to match in the same change window)."
  type        = number
  default     = 1

  validation {
    condition     = var.db_app_credentials_version >= 1 && floor(var.db_app_credentials_version) == var.db_app_credentials_version
    error_message = "db_app_credentials_version must be a positive whole number."
  }
}

variable "backup_retention_days" {
  description = "Days every backup is kept: RDS automated backups, AWS Backup recovery points (both regions) and their cross-region copies. The spec: 30. RDS and continuous backups allow at most 35."
  type        = number
  default     = 30

  validation {
    condition     = var.backup_retention_days >= 30 && var.backup_retention_days <= 35 && floor(var.backup_retention_days) == var.backup_retention_days
    error_message = "backup_retention_days must be a whole number from 30 (the spec's minimum) to 35 (the RDS / continuous-backup maximum)."
  }
}

variable "backup_vault_lock" {
  description = "Put both backup vaults under AWS Backup Vault Lock (governance mode): recovery points cannot be deleted, nor lifecycles shortened, below backup_retention_days."
  type        = bool
  default     = true
}

variable "deletion_protection" {
  description = "Deletion protection on the databases and load balancers (true in production)."
  type        = bool
  default     = true
}

# --- edge, DNS, operations ----------------------------------------------------------------------------------------

variable "domain_name" {
  description = "The platform's DNS zone (see dns_zone). The app is served at app.<domain> (CloudFront), the API at api.<domain> (Route 53 failover), each region's origin at <region>.origin.<domain>."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.domain_name)) && length(var.domain_name) <= 200
    error_message = "domain_name must be a lower-case DNS name such as nexus.example.com (no trailing dot)."
  }
}

variable "dns_zone" {
  description = "The public hosted zone for domain_name: \"existing\" reads a zone that exists and is delegated from the parent domain (certificates validate in the same apply); \"create\" makes a new one, whose name servers (output zone_name_servers) the parent domain must delegate to before its certificates can validate (README: two-step first apply)."
  type        = string
  default     = "existing"

  validation {
    condition     = contains(["existing", "create"], var.dns_zone)
    error_message = "dns_zone must be \"existing\" (a delegated zone named domain_name) or \"create\" (a new zone: apply it alone, delegate it, then apply everything)."
  }
}

variable "alert_email" {
  description = "Optional e-mail address subscribed to the alert topics (null: no e-mail subscription)."
  type        = string
  default     = null

  validation {
    condition     = var.alert_email == null || can(regex("^[^@\\s]+@[^@\\s]+\\.[a-z]{2,}$", var.alert_email))
    error_message = "alert_email must be null or an e-mail address."
  }
}

variable "health_check" {
  description = "Route 53 health checks of each region's /readyz: seconds between checks (10 or 30) and consecutive failures before a region is unhealthy. The sandbox's edge (HAProxy) takes the same threshold."
  type = object({
    request_interval  = optional(number, 10)
    failure_threshold = optional(number, 3)
  })
  default = {}

  validation {
    condition     = contains([10, 30], var.health_check.request_interval)
    error_message = "health_check.request_interval must be 10 or 30 (the intervals Route 53 offers)."
  }
  validation {
    condition     = var.health_check.failure_threshold >= 1 && var.health_check.failure_threshold <= 10 && floor(var.health_check.failure_threshold) == var.health_check.failure_threshold
    error_message = "health_check.failure_threshold must be a whole number from 1 to 10 (Route 53's range)."
  }
}

variable "waf_rate_limit" {
  description = "Requests per 5 minutes one client IP may send before the WAF blocks it (CloudFront and both ALBs)."
  type        = number
  default     = 2000

  validation {
    condition     = var.waf_rate_limit >= 100 && var.waf_rate_limit <= 2000000000
    error_message = "waf_rate_limit must be between 100 and 2,000,000,000 (the WAF limits)."
  }
}

variable "log_retention_days" {
  description = "Retention of the CloudWatch log groups (WAF, DNS query logs, flow logs, EKS control plane) and of the access-log buckets."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of CloudWatch Logs' allowed values (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

variable "cloudfront_price_class" {
  description = "CloudFront price class (which edge locations serve the app)."
  type        = string
  default     = "PriceClass_All"

  validation {
    condition     = contains(["PriceClass_100", "PriceClass_200", "PriceClass_All"], var.cloudfront_price_class)
    error_message = "cloudfront_price_class must be PriceClass_100, PriceClass_200 or PriceClass_All."
  }
}

# --- sandbox switches (the only three) ----------------------------------------------------------------------------

variable "aws_endpoint_url" {
  description = "Sandbox only: URL of the local AWS emulator every provider sends every service call to (null: real AWS)."
  type        = string
  default     = null

  validation {
    condition     = var.aws_endpoint_url == null || can(regex("^https?://[^/\\s]+/?$", var.aws_endpoint_url))
    error_message = "aws_endpoint_url must be null or a base URL such as https://127.0.0.1:4566."
  }
}

variable "aws_max_retries" {
  description = "Maximum retries of a failing AWS API call (the provider's max_retries). Lower it against the emulator so errors surface fast."
  type        = number
  default     = 25

  validation {
    condition     = var.aws_max_retries >= 0 && var.aws_max_retries <= 100 && floor(var.aws_max_retries) == var.aws_max_retries
    error_message = "aws_max_retries must be a whole number from 0 to 100."
  }
}

variable "cloudfront_wait_for_deployment" {
  description = "Wait for the CloudFront distribution to reach Deployed (about 5-15 minutes on AWS; the emulator never reports it)."
  type        = bool
  default     = true
}
