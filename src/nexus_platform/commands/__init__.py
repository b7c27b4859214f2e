"""`nexus` command groups, one module each (the root and the sandbox commands live in cli.py)."""
