"""CloudWatch: the metrics AWS publishes about the platform (RDS ReplicaLag)."""
