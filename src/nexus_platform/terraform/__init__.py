"""Running Terraform offline-capable and reading what it produced."""
