"""JSON-structured logs on stderr (for machines) alongside the human output on stdout."""

from __future__ import annotations

import logging
import os
import sys

from pythonjsonlogger.json import JsonFormatter

_CONFIGURED = False


def setup(level: str | None = None) -> None:
    """Route the `nexus` loggers to stderr as JSON, once. NEXUS_LOG_LEVEL sets the level (default WARNING)."""
    global _CONFIGURED  # noqa: PLW0603 - logging configuration is process-wide by nature
    if _CONFIGURED:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s", rename_fields={"levelname": "level"})
    )
    root = logging.getLogger("nexus")
    root.addHandler(handler)
    root.setLevel((level or os.environ.get("NEXUS_LOG_LEVEL", "WARNING")).upper())
    root.propagate = False
    _CONFIGURED = True


def get(name: str) -> logging.Logger:
    return logging.getLogger(f"nexus.{name}")
