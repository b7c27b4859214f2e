"""The worlds the runbooks drive: AWS and the sandbox's local processes (architecture §5)."""
