# Address plan of the two regions. The VPCs themselves (subnets, NAT gateways, route tables, flow logs) are built by
# modules/region; this file is the single place that says which address space and zones each region gets.
#
# Rules (enforced by validations in variables.tf, so a bad plan fails before anything is created):
#   * each VPC is a /16../24 IPv4 block;
#   * the primary and DR blocks are disjoint (var.dr_vpc_cidr's third validation) - they must be routable to each
#     other for failback re-seeding and operator access through either region;
#   * each region uses >= 2 availability zones of its own region, one public + one private subnet and one NAT
#     gateway per zone (no cross-AZ NAT dependency).
#
# Subnet layout inside a VPC of prefix /p (the region module's contract): the VPC is cut into 16 equal blocks;
# public subnet of AZ i = block i, private subnet of AZ i = block i + 8. For a /16: public /20s at 10.x.0.0,
# 10.x.16.0, ...; private /20s from 10.x.128.0.

locals {
  name_prefix = "${var.project}-${var.environment}"

  regions = {
    primary = {
      role               = "primary"
      region             = var.primary_region
      name               = "${local.name_prefix}-primary"
      vpc_cidr           = var.primary_vpc_cidr
      availability_zones = var.primary_availability_zones
    }
    dr = {
      role               = "dr"
      region             = var.dr_region
      name               = "${local.name_prefix}-dr"
      vpc_cidr           = var.dr_vpc_cidr
      availability_zones = var.dr_availability_zones
    }
  }

  # The planned subnets, per region and AZ (documentation for operators and the `nexus` CLI's `status`; the region
  # module computes the same values from the same inputs).
  address_plan = {
    for key, r in local.regions : key => {
      vpc_cidr = r.vpc_cidr
      subnets = {
        for i, az in r.availability_zones : az => {
          public  = cidrsubnet(r.vpc_cidr, 4, i)
          private = cidrsubnet(r.vpc_cidr, 4, i + 8)
        }
      }
    }
  }
}
