"""`nexus doctor`: the specification's troubleshooting guide as automated checks (read-only)."""
