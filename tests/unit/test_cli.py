"""The CLI's contract with people and scripts: help everywhere, one-line errors, JSON when asked."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support import ROOT, free_port

NEXUS = [sys.executable, "-c", "from nexus_platform.cli import main; main()"]


def run(*args: str, state_dir: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NEXUS_STATE_DIR": str(state_dir), "COLUMNS": "200", **extra}
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
        (["doctor", "--env", "production"], "error: the infrastructure checks of 'production' need its"),
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


def _config_with_free_ports(tmp_path: Path) -> tuple[Path, dict[str, int]]:
    """sandbox.toml with every port moved to one that is free now."""
    text = (ROOT / "sandbox.toml").read_text()
    ports: dict[str, int] = {}

    def fresh(match: re.Match[str]) -> str:
        if match.group(2).startswith("["):
            values = [str(free_port()) for _ in match.group(2).strip("[]").split(",")]
            return f"{match.group(1)}[{', '.join(values)}]"
        port = free_port()
        ports.setdefault(match.group(1).split("=")[0].strip(), port)
        return f"{match.group(1)}{port}"

    text = re.sub(r"^(\w*port\w* = )(\[[^\]]*\]|\d+)", fresh, text, flags=re.MULTILINE)
    path = tmp_path / "sandbox.toml"
    path.write_text(text)
    return path, ports


def test_a_taken_port_is_one_line_naming_its_holder_and_nothing_starts(tmp_path: Path) -> None:
    config, ports = _config_with_free_ports(tmp_path)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", ports["port"]))  # [edge] port
        holder.listen()
        result = run("up", state_dir=tmp_path / "state", NEXUS_SANDBOX_CONFIG=str(config))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"port 127.0.0.1:{ports['port']} (edge) is taken, held by pid {os.getpid()}" in lines[0]
    assert "Traceback" not in result.stderr
    # Nothing was started: no pid file, so not even the emulator.
    assert not list((tmp_path / "state").glob("run/*.json"))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("lb_port = 18080", "lb_port = 80"), "regions.primary.lb_port must be a port from 1024 to 65535"),
        (('mode = "async"', 'mode = "eventual"'), "replication.mode must be one of async, sync"),
        (("lb_port = 28080", "lb_port = 18080"), "both use port 18080"),
        (("[link]", "[link"), "is not valid TOML"),
    ],
)
def test_a_bad_sandbox_config_is_one_line(tmp_path: Path, edit: tuple[str, str], message: str) -> None:
    config = tmp_path / "sandbox.toml"
    config.write_text((ROOT / "sandbox.toml").read_text().replace(*edit))
    result = run("status", state_dir=tmp_path, NEXUS_SANDBOX_CONFIG=str(config))
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert message in result.stderr
