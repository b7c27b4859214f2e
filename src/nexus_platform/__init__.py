"""Nexus Platform: multi-region AWS infrastructure and the toolkit that runs it."""

__version__ = "0.1.0"
