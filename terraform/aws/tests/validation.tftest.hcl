# Bad inputs are rejected before anything is planned. Each run starts from production (tests/terraform.tfvars ->
# ../production.tfvars), breaks one thing, and expects exactly that variable's validation to fail.
# mocks

mock_provider "aws" {
  source = "./tests/mocks"

  mock_data "aws_region" {
    defaults = { name = "us-east-1", id = "us-east-1", description = "mock region", endpoint = "ec2.us-east-1.amazonaws.com" }
  }
}

mock_provider "aws" {
  alias  = "dr"
  source = "./tests/mocks"

  mock_data "aws_region" {
    defaults = { name = "eu-west-1", id = "eu-west-1", description = "mock region", endpoint = "ec2.eu-west-1.amazonaws.com" }
  }
}

mock_provider "aws" {
  alias  = "global"
  source = "./tests/mocks"

  mock_data "aws_region" {
    defaults = { name = "us-east-1", id = "us-east-1", description = "mock region", endpoint = "ec2.us-east-1.amazonaws.com" }
  }
}

run "malformed_cidr" {
  command = plan
  variables {
    primary_vpc_cidr = "10.10.0.0/33"
  }
  expect_failures = [var.primary_vpc_cidr]
}

run "cidr_not_an_address" {
  command = plan
  variables {
    dr_vpc_cidr = "ten.twenty.0.0/16"
  }
  expect_failures = [var.dr_vpc_cidr]
}

run "cidr_with_host_bits" {
  command = plan
  variables {
    primary_vpc_cidr = "10.10.0.1/16"
  }
  expect_failures = [var.primary_vpc_cidr]
}

run "cidr_prefix_too_large" {
  command = plan
  variables {
    primary_vpc_cidr = "10.0.0.0/8"
  }
  expect_failures = [var.primary_vpc_cidr]
}

run "overlapping_vpc_cidrs_identical" {
  command = plan
  variables {
    dr_vpc_cidr = "10.10.0.0/16"
  }
  expect_failures = [var.dr_vpc_cidr]
}

run "overlapping_vpc_cidrs_nested" {
  command = plan
  variables {
    dr_vpc_cidr = "10.10.200.0/24"
  }
  expect_failures = [var.dr_vpc_cidr]
}

run "adjacent_vpc_cidrs_are_fine" {
  command = plan
  variables {
    primary_vpc_cidr = "10.10.0.0/17"
    dr_vpc_cidr      = "10.10.128.0/17"
  }
}

run "backup_retention_under_30_days" {
  command = plan
  variables {
    backup_retention_days = 29
  }
  expect_failures = [var.backup_retention_days]
}

run "backup_retention_over_rds_maximum" {
  command = plan
  variables {
    backup_retention_days = 36
  }
  expect_failures = [var.backup_retention_days]
}

run "primary_region_equals_dr_region" {
  command = plan
  variables {
    dr_region             = "us-east-1"
    dr_availability_zones = ["us-east-1c", "us-east-1d"]
    dr_vpc_cidr           = "10.20.0.0/16"
  }
  expect_failures = [var.dr_region]
}

run "unknown_region_name" {
  command = plan
  variables {
    primary_region             = "us-middle-1"
    primary_availability_zones = ["us-middle-1a", "us-middle-1b"]
  }
  expect_failures = [var.primary_region]
}

run "primary_node_min_above_max" {
  command = plan
  variables {
    primary_node_groups = {
      general = { instance_types = ["m6i.large"], min_size = 11, desired_size = 11, max_size = 10 }
    }
  }
  expect_failures = [var.primary_node_groups]
}

run "dr_node_desired_above_max" {
  command = plan
  variables {
    dr_node_groups = {
      general = { instance_types = ["m6i.large"], min_size = 1, desired_size = 12, max_size = 10 }
    }
  }
  expect_failures = [var.dr_node_groups]
}

run "single_availability_zone" {
  command = plan
  variables {
    primary_availability_zones = ["us-east-1a"]
  }
  expect_failures = [var.primary_availability_zones]
}

run "availability_zone_of_another_region" {
  command = plan
  variables {
    dr_availability_zones = ["eu-west-1a", "us-east-1b"]
  }
  expect_failures = [var.dr_availability_zones]
}

run "dns_zone_is_existing_or_create" {
  command = plan
  variables {
    dns_zone = "imported"
  }
  expect_failures = [var.dns_zone]
}

run "kubernetes_too_old" {
  command = plan
  variables {
    kubernetes_version = "1.26"
  }
  expect_failures = [var.kubernetes_version]
}

# EKS no longer creates 1.31 (its extended support has ended), and Istio 1.30 (cicd/argocd) supports 1.32+.
run "kubernetes_1_31_no_longer_created" {
  command = plan
  variables {
    kubernetes_version = "1.31"
  }
  expect_failures = [var.kubernetes_version]
}

run "eks_api_open_to_the_internet" {
  command = plan
  variables {
    eks_public_access_cidrs = ["0.0.0.0/0"]
  }
  expect_failures = [var.eks_public_access_cidrs]
}

run "cluster_admin_not_an_iam_arn" {
  command = plan
  variables {
    cluster_admin_arns = ["oncall"]
  }
  expect_failures = [var.cluster_admin_arns]
}

run "eks_support_type_unknown" {
  command = plan
  variables {
    eks_support_type = "BASIC"
  }
  expect_failures = [var.eks_support_type]
}

run "db_app_username_is_the_master_user" {
  command = plan
  variables {
    db_app_username = "nexus_admin"
  }
  expect_failures = [var.db_app_username]
}

run "db_app_username_not_an_identifier" {
  command = plan
  variables {
    db_app_username = "nexus-app"
  }
  expect_failures = [var.db_app_username]
}

run "db_instance_class_malformed" {
  command = plan
  variables {
    db = {
      engine_version        = "16"
      instance_class        = "r6g.large"
      allocated_storage     = 100
      max_allocated_storage = 1000
      multi_az              = true
      performance_insights  = true
    }
  }
  expect_failures = [var.db]
}

run "cache_single_node" {
  command = plan
  variables {
    cache = { node_type = "cache.r6g.large", engine_version = "7.1", num_cache_clusters = 1 }
  }
  expect_failures = [var.cache]
}

run "log_retention_not_a_cloudwatch_value" {
  command = plan
  variables {
    log_retention_days = 100
  }
  expect_failures = [var.log_retention_days]
}

run "alert_email_malformed" {
  command = plan
  variables {
    alert_email = "oncall-at-example.com"
  }
  expect_failures = [var.alert_email]
}

run "endpoint_url_without_scheme" {
  command = plan
  variables {
    aws_endpoint_url = "127.0.0.1:4566"
  }
  expect_failures = [var.aws_endpoint_url]
}

run "domain_name_malformed" {
  command = plan
  variables {
    domain_name = "Nexus_Platform.example.com."
  }
  expect_failures = [var.domain_name]
}

run "db_engine_version_pinned_minor" {
  command = plan
  variables {
    db = {
      engine_version        = "16.8"
      instance_class        = "db.r6g.large"
      allocated_storage     = 100
      max_allocated_storage = 1000
      multi_az              = true
      performance_insights  = true
    }
  }
  expect_failures = [var.db]
}

run "db_engine_version_not_a_number" {
  command = plan
  variables {
    db = {
      engine_version        = "latest"
      instance_class        = "db.r6g.large"
      allocated_storage     = 100
      max_allocated_storage = 1000
      multi_az              = true
      performance_insights  = true
    }
  }
  expect_failures = [var.db]
}

run "cidr_without_prefix" {
  command = plan
  variables {
    dr_vpc_cidr = "10.20.0.0"
  }
  expect_failures = [var.dr_vpc_cidr]
}

run "health_check_interval_route53_lacks" {
  command = plan
  variables {
    health_check = { request_interval = 1 }
  }
  expect_failures = [var.health_check]
}

run "health_check_threshold_out_of_range" {
  command = plan
  variables {
    health_check = { failure_threshold = 11 }
  }
  expect_failures = [var.health_check]
}
