"""One sandbox for the whole integration session: `nexus up` from an empty state (both planes), shared by the
control-plane and data-plane suites (the apply takes minutes); `nexus down` at the end."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nexus_platform import model
from nexus_platform.sandbox.controlplane import ControlPlane

NEXUS = [sys.executable, "-c", "from nexus_platform.cli import main; main()"]
# The CLI as a terminal runs it, Ctrl-C included: a suite started in the background (`cmd &`) hands its
# children SIGINT ignored, and Python then never raises KeyboardInterrupt.
NEXUS_CTRL_C = [
    sys.executable,
    "-c",
    "import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "from nexus_platform.cli import main; main()",
]


def nexus(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*NEXUS, *args], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )


def nexus_json(*args: str, env: dict[str, str], timeout: float = 300) -> tuple[int, dict[str, Any], str]:
    """`nexus ARGS --output json`: its exit code, its JSON (empty when it printed none) and its stderr."""
    result = nexus(*args, "--output", "json", env=env, timeout=timeout)
    try:
        payload = json.loads(result.stdout) if result.stdout.strip() else {}
    except json.JSONDecodeError:
        payload = {}
    return result.returncode, payload, result.stderr


def killed_at_step(args: list[str], env: dict[str, str], step: str, timeout: float = 180) -> Path:
    """Start `nexus ARGS`, SIGKILL it once a run it started has journaled the end of `step`; that run's
    journal (its stem is the run id to resume)."""
    from tests.integration.sandboxlib import journal_reaching, wait_for  # noqa: PLC0415

    runs = Path(env["NEXUS_STATE_DIR"]) / "runs"
    known = set(runs.glob("*.jsonl")) if runs.exists() else set()
    process = subprocess.Popen([*NEXUS, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        journal = wait_for(
            lambda: journal_reaching(runs, known, step), f"`nexus {args[0]} {args[1]}` to end {step}", timeout
        )
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    return journal


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sandbox_teardown: runs after every other test (it stops the sandbox)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The session's sandbox is shared by every module; a test that takes it down must come last.
    items.sort(key=lambda item: item.get_closest_marker("sandbox_teardown") is not None)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[dict[str, Any]]:
    # Not pytest's tmp_path: its folders are 0700 root-owned, and PostgreSQL runs as the postgres user.
    state = Path(tempfile.mkdtemp(prefix="nexus-it-"))
    state.chmod(0o755)
    env = {**os.environ, "NEXUS_STATE_DIR": str(state)}
    sandbox_model = model.environment("sandbox")
    try:
        first = nexus("up", "--output", "json", env=env, timeout=800)
        assert first.returncode == 0, first.stderr[-3000:]
        os.environ["NEXUS_STATE_DIR"] = str(state)
        plane = ControlPlane()
        outputs = plane.root().outputs()
        yield {
            "env": env,
            "state": state,
            "first": json.loads(first.stdout),
            "outputs": outputs,
            "endpoint": sandbox_model.endpoint_url,
            "model": sandbox_model,
            "plane": plane,
        }
    finally:
        os.environ.pop("NEXUS_STATE_DIR", None)
        if os.environ.get("NEXUS_IT_KEEP"):
            # Debugging a failure: leave the sandbox running and its state (journals, logs) for a look.
            print(f"\nNEXUS_IT_KEEP: sandbox left running, NEXUS_STATE_DIR={state}")
        else:
            down = nexus("down", env=env, timeout=120)
            print(down.stdout, down.stderr)
            shutil.rmtree(state, ignore_errors=True)
