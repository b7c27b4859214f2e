"""RDS: the PostgreSQL primary and its cross-region read replica."""
