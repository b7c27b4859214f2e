"""What the sandbox leaves behind: processes of a state folder and listeners on its ports."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from nexus_platform import model
from nexus_platform.sandbox import dataplane, planes
from nexus_platform.world.local.processes import port_accepts

T = TypeVar("T")


def journal_reaching(runs: Path, known: set[Path], step: str) -> Path | None:
    """The journal in `runs` (not one of `known`) whose step `step` has ended, if any (a line being written
    is skipped)."""
    for journal in set(runs.glob("*.jsonl")) - known if runs.exists() else ():
        for line in journal.read_text().splitlines():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if event.get("event") == "step-end" and event.get("step") == step:
                return journal
    return None


def wait_for(condition: Callable[[], T], what: str, timeout: float = 30) -> T:
    """Poll `condition` until it returns something truthy (bounded): a test asserts the state it waits for,
    never a state read once right after the event that leads to it."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def data_plane() -> dataplane.DataPlane:
    return planes.both()[1]


def sandbox_ports() -> list[int]:
    return [*model.sandbox_config().ports().values(), model.environment("sandbox").emulator_port]


def leftovers(state: Path) -> tuple[list[str], list[int]]:
    """Live processes started from, or working in, `state` (PostgreSQL's backends work in their data
    directory), and the sandbox ports that still accept connections."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if proc.joinpath("stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            cmdline = proc.joinpath("cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = str(proc.joinpath("cwd").readlink())
        except OSError:
            continue
        if str(state) in cmdline or cwd.startswith(str(state)):
            found.append(f"{proc.name}: {cmdline[:160]} (cwd {cwd})")
    listening = [port for port in sandbox_ports() if port_accepts(model.LOCALHOST, port, timeout=0.2)]
    return found, listening
