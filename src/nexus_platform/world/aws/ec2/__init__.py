"""EC2: the security-group rules between the workload and its database."""
