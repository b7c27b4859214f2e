"""Route 53: the health checks behind the api.<domain> failover records, and the records' TTLs."""
