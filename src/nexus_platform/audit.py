"""The audit log: one JSON line per operation that changes (or would change) something outside the checkout.

Append-only, in the state directory (`.nexus/audit.log`, or under NEXUS_STATE_DIR). Dry runs are logged too:
the log shows what was looked at before anything was done.
"""

from __future__ import annotations

import getpass
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nexus_platform import model


def log_path() -> Path:
    return model.paths().state_dir / "audit.log"


def append(operation: str, *, executed: bool, outcome: str, **details: Any) -> Path:
    """Record one operation; returns the log's path. Values must be JSON-serialisable and never secrets."""
    entry = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "user": getpass.getuser(),
        "pid": os.getpid(),
        "operation": operation,
        "executed": executed,
        "outcome": outcome,
        **details,
    }
    path = log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    # One write of one line in append mode: concurrent writers interleave whole lines, never parts of them.
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry, sort_keys=True) + "\n")
    return path
