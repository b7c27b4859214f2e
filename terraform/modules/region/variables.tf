variable "name" {
  description = "Prefix for every resource name in this region, e.g. \"nexus-production-primary\". Lower case letters, digits and single hyphens; 3-39 characters."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,38}$", var.name))
    error_message = "name must match ^[a-z][a-z0-9-]{2,38}$ (start with a letter, 3-39 characters of a-z, 0-9 and '-')."
  }

  # ElastiCache, ALB and RDS identifiers reject consecutive or trailing hyphens.
  validation {
    condition     = !strcontains(var.name, "--") && !endswith(var.name, "-")
    error_message = "name must not contain \"--\" or end with a hyphen."
  }
}

variable "role" {
  description = "Role of this region in the platform: \"primary\" (serves writes, owns the database primary) or \"dr\" (standby with replicas)."
  type        = string

  validation {
    condition     = contains(["primary", "dr"], var.role)
    error_message = "role must be \"primary\" or \"dr\"."
  }
}

variable "environment" {
  description = "Environment name, e.g. \"production\" or \"sandbox\"; used in tags."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,31}$", var.environment))
    error_message = "environment must be 2-32 characters of a-z, 0-9 and '-', starting with a letter."
  }
}

variable "vpc_cidr" {
  description = "IPv4 CIDR of this region's VPC (/16 to /24). Public subnet i is cidrsubnet(vpc_cidr, 4, i), private subnet i is cidrsubnet(vpc_cidr, 4, i + 8)."
  type        = string

  validation {
    condition = (
      can(cidrhost(var.vpc_cidr, 0)) &&
      can(regex("/([0-9]+)$", var.vpc_cidr)) &&
      try(tonumber(regex("/([0-9]+)$", var.vpc_cidr)[0]) >= 16 && tonumber(regex("/([0-9]+)$", var.vpc_cidr)[0]) <= 24, false)
    )
    error_message = "vpc_cidr must be a valid IPv4 CIDR with a prefix length between /16 and /24."
  }

  # A host address (e.g. 10.0.0.1/16) would be silently normalised by AWS and drift forever.
  validation {
    condition     = try(cidrsubnet(var.vpc_cidr, 0, 0) == var.vpc_cidr, false)
    error_message = "vpc_cidr must be a network address (e.g. 10.10.0.0/16, not 10.10.0.1/16)."
  }
}

variable "availability_zones" {
  description = "Availability zones to spread subnets, NAT gateways and nodes over (at least 2, unique, at most 8). Resources are keyed by AZ name, so appending an AZ never replaces existing ones."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) >= 2 && length(var.availability_zones) <= 8
    error_message = "availability_zones must list between 2 and 8 zones (the subnet plan has room for 8)."
  }

  validation {
    condition     = length(distinct(var.availability_zones)) == length(var.availability_zones)
    error_message = "availability_zones must not contain duplicates."
  }

  validation {
    condition     = alltrue([for az in var.availability_zones : can(regex("^[a-z]{2}(-[a-z]+)+-[0-9][a-z]$", az))])
    error_message = "Each availability zone must be an AZ name such as \"us-east-1a\"."
  }
}

variable "kubernetes_version" {
  description = "EKS Kubernetes minor version, e.g. \"1.35\"."
  type        = string

  # 1.32 is the oldest release Istio 1.30 (cicd/argocd/versions.yaml) supports; EKS creates nothing older than 1.32
  # any more (1.31 and older have left extended support).
  validation {
    condition     = can(regex("^1\\.(3[2-9])$", var.kubernetes_version))
    error_message = "kubernetes_version must be a minor version between 1.32 (the oldest EKS still creates and Istio 1.30 supports) and 1.39, e.g. \"1.35\"."
  }
}

variable "support_type" {
  description = "EKS upgrade policy: STANDARD (upgrade automatically when standard support ends) or EXTENDED (stay, at the extended-support price)."
  type        = string
  default     = "STANDARD"

  validation {
    condition     = contains(["STANDARD", "EXTENDED"], var.support_type)
    error_message = "support_type must be STANDARD or EXTENDED."
  }
}

variable "public_access_cidrs" {
  description = "CIDRs allowed to reach the EKS API's public endpoint; empty keeps the endpoint private-only. The DR cluster lists the primary region's NAT addresses here so Argo CD (in the primary cluster) can deliver to it."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.public_access_cidrs : can(cidrhost(c, 0)) && !endswith(c, "/0")])
    error_message = "Every entry of public_access_cidrs must be an IPv4 CIDR narrower than /0 (e.g. 203.0.113.10/32): the API must never be open to the internet."
  }
}

variable "cluster_admins" {
  description = "EKS access entries with the AmazonEKSClusterAdminPolicy, keyed by a short name: the principal ARNs (IAM roles or users) that may administer the cluster (Argo CD's role, the operators' roles)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for arn in values(var.cluster_admins) : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/.+$", arn))])
    error_message = "Every value of cluster_admins must be an IAM role or user ARN (arn:aws:iam::<account>:role/<name>)."
  }
}

variable "node_groups" {
  description = "EKS managed node groups keyed by a short name (becomes part of the node group name): instance types, scaling bounds, capacity type (ON_DEMAND or SPOT) and root volume size in GiB."
  type = map(object({
    instance_types = list(string)
    min_size       = number
    desired_size   = number
    max_size       = number
    capacity_type  = optional(string, "ON_DEMAND")
    disk_size      = optional(number, 50)
  }))

  validation {
    condition     = length(var.node_groups) >= 1
    error_message = "At least one node group is required."
  }

  validation {
    condition     = alltrue([for k, ng in var.node_groups : can(regex("^[a-z][a-z0-9-]{0,19}$", k))])
    error_message = "node_groups keys must be 1-20 characters of a-z, 0-9 and '-', starting with a letter."
  }

  validation {
    condition = alltrue([
      for ng in var.node_groups :
      ng.min_size >= 0 && ng.min_size <= ng.desired_size && ng.desired_size <= ng.max_size && ng.max_size >= 1
    ])
    error_message = "Each node group needs 0 <= min_size <= desired_size <= max_size and max_size >= 1."
  }

  validation {
    condition = alltrue([
      for ng in var.node_groups :
      floor(ng.min_size) == ng.min_size && floor(ng.desired_size) == ng.desired_size && floor(ng.max_size) == ng.max_size
    ])
    error_message = "Node group sizes must be whole numbers."
  }

  validation {
    condition     = alltrue([for ng in var.node_groups : length(ng.instance_types) >= 1 && alltrue([for t in ng.instance_types : can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", t))])])
    error_message = "Each node group needs at least one EC2 instance type such as \"m6i.large\"."
  }

  # One AMI per group: mixing Graviton (arm64) and x86 instance types in a group cannot work.
  validation {
    condition = alltrue([
      for ng in var.node_groups :
      length(distinct([for t in ng.instance_types : can(regex("^[a-z]+[0-9]+g[a-z]*\\.", t))])) <= 1
    ])
    error_message = "All instance_types of a node group must share one CPU architecture (all Graviton or all x86)."
  }

  validation {
    condition     = alltrue([for ng in var.node_groups : contains(["ON_DEMAND", "SPOT"], ng.capacity_type)])
    error_message = "capacity_type must be ON_DEMAND or SPOT."
  }

  validation {
    condition     = alltrue([for ng in var.node_groups : ng.disk_size >= 20 && ng.disk_size <= 16384])
    error_message = "disk_size must be between 20 and 16384 GiB."
  }
}

variable "db" {
  description = "RDS PostgreSQL settings: engine version, instance class, storage (GiB, autoscaling ceiling), automated backup retention in days (30-35), Multi-AZ, deletion protection and Performance Insights."
  type = object({
    engine_version        = string
    instance_class        = string
    allocated_storage     = number
    max_allocated_storage = number
    backup_retention_days = number
    multi_az              = bool
    deletion_protection   = bool
    performance_insights  = bool
  })

  validation {
    condition     = var.db.backup_retention_days >= 30 && var.db.backup_retention_days <= 35
    error_message = "db.backup_retention_days must be between 30 and 35 (30-day retention is required; 35 is the RDS maximum)."
  }

  validation {
    condition     = can(regex("^db\\.[a-z0-9]+\\.[a-z0-9]+$", var.db.instance_class))
    error_message = "db.instance_class must be an RDS instance class such as \"db.r6g.large\"."
  }

  validation {
    condition     = var.db.allocated_storage >= 20 && var.db.allocated_storage <= 65536
    error_message = "db.allocated_storage must be between 20 and 65536 GiB."
  }

  validation {
    condition     = var.db.max_allocated_storage >= var.db.allocated_storage && var.db.max_allocated_storage <= 65536
    error_message = "db.max_allocated_storage must be >= db.allocated_storage and <= 65536 GiB."
  }

  validation {
    condition     = can(regex("^[0-9]{2}(\\.[0-9]+)?$", var.db.engine_version))
    error_message = "db.engine_version must be a PostgreSQL version such as \"15\" or \"15.7\"."
  }
}

variable "db_replicate_source_arn" {
  description = "ARN of an RDS instance in another region. When set, this region's database is a cross-region read replica of it (encrypted with this module's KMS key); null makes it a standalone primary."
  type        = string
  default     = null

  validation {
    condition     = var.db_replicate_source_arn == null || can(regex("^arn:aws[a-z-]*:rds:[a-z0-9-]+:[0-9]{12}:db:[a-z][a-z0-9-]*$", var.db_replicate_source_arn))
    error_message = "db_replicate_source_arn must be null or an RDS DB instance ARN (arn:aws:rds:<region>:<account>:db:<identifier>)."
  }
}

variable "cache" {
  description = "ElastiCache Redis settings: node type, engine version and number of cache clusters (primary + replicas, at least 2 for automatic failover)."
  type = object({
    node_type          = string
    engine_version     = string
    num_cache_clusters = number
  })

  validation {
    condition     = can(regex("^cache\\.[a-z0-9]+\\.[a-z0-9]+$", var.cache.node_type))
    error_message = "cache.node_type must be an ElastiCache node type such as \"cache.r7g.large\"."
  }

  validation {
    condition     = var.cache.num_cache_clusters >= 2 && var.cache.num_cache_clusters <= 6 && floor(var.cache.num_cache_clusters) == var.cache.num_cache_clusters
    error_message = "cache.num_cache_clusters must be a whole number between 2 (automatic failover needs a replica) and 6."
  }

  validation {
    condition     = can(regex("^[6-9]\\.[0-9x]+$", var.cache.engine_version))
    error_message = "cache.engine_version must be a Redis version 6.x or later, e.g. \"7.1\"."
  }
}

variable "cache_auth_token" {
  description = "Redis AUTH token (16-128 printable characters, no spaces, '/', '\"' or '@'); the same in both regions."
  type        = string
  sensitive   = true

  validation {
    condition     = length(var.cache_auth_token) >= 16 && length(var.cache_auth_token) <= 128
    error_message = "cache_auth_token must be 16-128 characters long."
  }

  validation {
    condition     = can(regex("^[!#-.0-?A-~]+$", var.cache_auth_token))
    error_message = "cache_auth_token may only contain printable ASCII characters other than space, '\"', '/' and '@'."
  }
}

variable "cache_global_replication_group_id" {
  description = "ID of an ElastiCache global datastore. When set, this region's replication group joins it as a secondary (engine, node type and parameter group then come from the global datastore); null makes it a standalone/primary group."
  type        = string
  default     = null

  validation {
    condition     = var.cache_global_replication_group_id == null || can(regex("^[a-z0-9][a-zA-Z0-9-]{0,62}$", var.cache_global_replication_group_id))
    error_message = "cache_global_replication_group_id must be null or a global replication group ID."
  }
}

variable "certificate_arn" {
  description = "ARN of the ACM certificate (in this region) served by the ALB HTTPS listener."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/.+$", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN."
  }
}

variable "app_port" {
  description = "Container port the ALB target group forwards to (pods are registered as IP targets)."
  type        = number
  default     = 8080

  validation {
    condition     = var.app_port >= 1024 && var.app_port <= 65535 && floor(var.app_port) == var.app_port
    error_message = "app_port must be an unprivileged port between 1024 and 65535."
  }
}

variable "target_health_check" {
  description = "Port and HTTP path the ALB target group health-checks its targets on. The targets are the Istio ingress gateway pods (TargetGroupBinding), so the default is the gateway's own readiness endpoint: the gateway answers it for any Host, while its port-80 server answers only the platform's host names. End-to-end readiness of nexus-api behind the gateway is what the Route 53 health checks probe."
  type = object({
    port = number
    path = string
  })
  default = {
    port = 15021
    path = "/healthz/ready"
  }

  validation {
    condition     = var.target_health_check.port >= 1024 && var.target_health_check.port <= 65535 && floor(var.target_health_check.port) == var.target_health_check.port
    error_message = "target_health_check.port must be an unprivileged port between 1024 and 65535."
  }

  validation {
    condition     = can(regex("^/[A-Za-z0-9._~/-]*$", var.target_health_check.path)) && length(var.target_health_check.path) <= 1024
    error_message = "target_health_check.path must be an absolute URL path such as \"/healthz/ready\"."
  }
}

variable "origin_verify_secret" {
  description = "The value CloudFront sends in the x-nexus-origin-verify header of its origin requests: only such requests are rate-limited per X-Forwarded-For client by the regional WAF; every other request per source address."
  type        = string
  sensitive   = true

  validation {
    condition     = length(var.origin_verify_secret) >= 16
    error_message = "origin_verify_secret must be at least 16 characters (it is a shared secret between CloudFront and the WAF)."
  }
}

variable "waf_rate_limit" {
  description = "WAF rate-based rule limit: requests per 5-minute window per client IP before blocking."
  type        = number
  default     = 2000

  validation {
    condition     = var.waf_rate_limit >= 100 && var.waf_rate_limit <= 2000000000 && floor(var.waf_rate_limit) == var.waf_rate_limit
    error_message = "waf_rate_limit must be a whole number between 100 and 2000000000."
  }
}

variable "log_retention_days" {
  description = "Retention in days for every CloudWatch log group of this region (flow logs, EKS, RDS, Redis, WAF)."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of CloudWatch Logs' allowed values: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "alb_deletion_protection" {
  description = "Enable deletion protection on the ALB (true in production; the sandbox turns it off so it can be torn down)."
  type        = bool
  default     = true
}

variable "platform_prefix" {
  description = "<project>-<environment> shared by both regions, e.g. \"nexus-production\". The names the Kubernetes side is configured with derive from it: the nexus-api IAM role <platform_prefix>-nexus-api-<region> (helm/nexus values-*.yaml) and the Secrets Manager secrets <platform_prefix>/... External Secrets may read."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}[a-z0-9]$", var.platform_prefix)) && !strcontains(var.platform_prefix, "--")
    error_message = "platform_prefix must be 2-32 characters of a-z, 0-9 and single hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "nexus_api_namespace" {
  description = "Kubernetes namespace nexus-api is installed in (helm/nexus, ArgoCD destination namespace); part of the nexus-api IRSA trust."
  type        = string
  default     = "nexus"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.nexus_api_namespace))
    error_message = "nexus_api_namespace must be a Kubernetes namespace name (DNS-1123 label: 1-63 characters of a-z, 0-9 and '-', alphanumeric at both ends)."
  }
}

variable "nexus_api_service_account" {
  description = "Name of nexus-api's Kubernetes ServiceAccount (helm/nexus: the release's full name); the only account the nexus-api IRSA role trusts."
  type        = string
  default     = "nexus-api"

  validation {
    condition     = length(var.nexus_api_service_account) <= 253 && can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", var.nexus_api_service_account))
    error_message = "nexus_api_service_account must be a Kubernetes object name (DNS-1123 subdomain: at most 253 characters of a-z, 0-9, '-' and '.')."
  }
}

variable "nexus_api_secret_names" {
  description = "Names of the Secrets Manager secrets nexus-api reads (helm/nexus externalSecret.remote: app config, database credentials, cache AUTH token). In the DR region they are the replicas, which keep the name; the role may read exactly these, in this region."
  type        = list(string)

  validation {
    condition     = length(var.nexus_api_secret_names) >= 1 && alltrue([for n in var.nexus_api_secret_names : can(regex("^[A-Za-z0-9/_+=.@-]{1,512}$", n))])
    error_message = "nexus_api_secret_names needs at least one Secrets Manager secret name (letters, digits and /_+=.@-)."
  }

  # The six random characters Secrets Manager appends are matched by "-??????" (workload_identity.tf); a name that
  # already ends like that could match another secret's ARN.
  validation {
    condition     = alltrue([for n in var.nexus_api_secret_names : !can(regex("-[A-Za-z0-9]{6}$", n))])
    error_message = "nexus_api_secret_names must not end in a hyphen followed by six characters (it would be confused with the suffix Secrets Manager adds to ARNs)."
  }
}

variable "tags" {
  description = "Extra tags added to every resource of this module (on top of the provider's default tags)."
  type        = map(string)
  default     = {}
}

variable "alert_topic_arns" {
  description = "SNS topics Alertmanager's receivers publish to (monitoring/alertmanager.yaml): the platform's alert topics of every region."
  type        = list(string)

  validation {
    condition     = length(var.alert_topic_arns) >= 1 && alltrue([for a in var.alert_topic_arns : can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$", a))])
    error_message = "alert_topic_arns needs at least one SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)."
  }
}

variable "alert_kms_key_arns" {
  description = "KMS keys the alert topics are encrypted with: Alertmanager needs a data key from them to publish."
  type        = list(string)

  validation {
    condition     = alltrue([for a in var.alert_kms_key_arns : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", a))])
    error_message = "alert_kms_key_arns must be KMS key ARNs (arn:aws:kms:<region>:<account>:key/<id>)."
  }
}
