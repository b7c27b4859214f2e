"""The CLI's contract with people and scripts: help everywhere, one-line errors, JSON when asked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

NEXUS = [sys.executable, "-c", "from nexus_platform.cli import main; main()"]


def run(*args: str, state_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NEXUS_STATE_DIR": str(state_dir), "COLUMNS": "200"}
    return subprocess.run([*NEXUS, *args], capture_output=True, text=True, env=env, timeout=60, check=False)


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["up"],
        ["down"],
        ["status"],
        ["infra"],
        ["infra", "env"],
        ["infra", "drift"],
        ["db"],
        ["db", "app-role"],
        ["doctor"],
    ],
)
def test_every_command_has_help(command: list[str], tmp_path: Path) -> None:
    result = run(*command, "--help", state_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout


def test_unknown_environment_is_one_line_without_traceback(tmp_path: Path) -> None:
    result = run("infra", "drift", "--env", "staging", state_dir=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: unknown environment 'staging'")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_bad_flag_is_a_usage_error(tmp_path: Path) -> None:
    result = run("up", "--frobnicate", state_dir=tmp_path)
    assert result.returncode == 2
    assert "No such option" in result.stderr
    assert "Traceback" not in result.stderr


def test_status_and_down_report_json_when_nothing_runs(tmp_path: Path) -> None:
    status = run("status", "--output", "json", state_dir=tmp_path)
    assert status.returncode == 0, status.stderr
    payload = json.loads(status.stdout)
    assert payload["control_plane"]["emulator"]["running"] is False
    assert payload["control_plane"]["emulator"]["pid"] is None
    assert payload["running"] is False
    # The documented shape holds with nothing running: endpoints are known, every process is down.
    assert payload["edge"]["url"].startswith("http://127.0.0.1:")
    for role in ("primary", "dr"):
        region = payload["regions"][role]
        assert region["api_urls"] and all(url.startswith("http://127.0.0.1:") for url in region["api_urls"])
        assert region["database"]["role"] is None
        assert region["processes"] and not any(process["up"] for process in region["processes"])
    down = run("down", "-o", "json", state_dir=tmp_path)
    assert json.loads(down.stdout) == {"stopped": False, "processes": []}


def test_drift_needs_a_running_sandbox(tmp_path: Path) -> None:
    result = run("infra", "drift", state_dir=tmp_path)
    assert result.returncode == 1
    assert "the sandbox is not running" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["doctor"], "error: the sandbox is not running (run `nexus up` first)"),
        (["doctor", "--env", "production"], "error: doctor for 'production' needs that environment's"),
        (["doctor", "--env", "staging"], "error: unknown environment 'staging'"),
    ],
)
def test_doctor_refuses_what_it_cannot_check(args: list[str], message: str, tmp_path: Path) -> None:
    result = run(*args, state_dir=tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith(message) and len(result.stderr.strip().splitlines()) == 1


def test_infra_env_prints_exports_for_an_offline_terraform(tmp_path: Path) -> None:
    result = run("infra", "env", state_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = dict(line.removeprefix("export ").split("=", 1) for line in result.stdout.splitlines())
    assert lines["CHECKPOINT_DISABLE"] == "1"
    assert Path(lines["TF_CLI_CONFIG_FILE"]).is_file()
