"""AWS and PostgreSQL failures reach the user as one line with a hint, never a traceback, and the audit log
records runs that failed before they could plan.

The AWS side is real botocore against: no credentials at all; a local HTTP server answering every call with
AWS's AccessDeniedException (at the HTTP boundary, through AWS_ENDPOINT_URL); and an endpoint nothing listens
on. PostgreSQL: a port nothing listens on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import pytest
from tests.support import free_port

from nexus_platform import errormap

NEXUS = [sys.executable, "-c", "from nexus_platform.cli import main; main()"]
# Commands that call AWS outside the sandbox.
AWS_COMMANDS = [["db", "app-role", "--env", "production"]]


def run(args: list[str], state: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    base.update(
        {
            "NEXUS_STATE_DIR": str(state),
            "AWS_CONFIG_FILE": str(state / "no-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(state / "no-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_MAX_ATTEMPTS": "2",
            **env,
        }
    )
    return subprocess.run([*NEXUS, *args], capture_output=True, text=True, env=base, timeout=120, check=False)


def one_line(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert expected in lines[0], lines[0]


@pytest.fixture
def denying_endpoint() -> Iterator[str]:
    class Deny(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            body = json.dumps({"__type": "AccessDeniedException", "message": "not for you"}).encode()
            self.send_response(400)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Deny)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


@pytest.mark.parametrize("command", AWS_COMMANDS)
def test_no_credentials_is_one_line(command: list[str], tmp_path: Path) -> None:
    one_line(run(command, tmp_path), "error: no AWS credentials found (configure them")


@pytest.mark.parametrize("command", AWS_COMMANDS)
def test_access_denied_is_one_line(command: list[str], tmp_path: Path, denying_endpoint: str) -> None:
    result = run(
        command, tmp_path, AWS_ENDPOINT_URL=denying_endpoint, AWS_ACCESS_KEY_ID="a", AWS_SECRET_ACCESS_KEY="b"
    )
    one_line(result, "error: access denied: GetSecretValue (AccessDeniedException: not for you)")


@pytest.mark.parametrize("command", AWS_COMMANDS)
def test_unreachable_endpoint_is_one_line(command: list[str], tmp_path: Path) -> None:
    result = run(
        command,
        tmp_path,
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}",
        AWS_ACCESS_KEY_ID="a",
        AWS_SECRET_ACCESS_KEY="b",
    )
    one_line(result, "error: cannot reach the AWS endpoint")


def test_a_run_that_fails_before_planning_is_audited(tmp_path: Path) -> None:
    result = run(["db", "app-role", "--env", "production", "--execute"], tmp_path)
    assert result.returncode == 1
    entries = [json.loads(line) for line in (tmp_path / "audit.log").read_text().splitlines()]
    assert len(entries) == 1
    assert entries[0]["operation"] == "db.app-role" and entries[0]["executed"] is True
    assert entries[0]["outcome"].startswith("failed before planning: no AWS credentials found")


def test_postgres_connection_errors_are_mapped() -> None:
    with pytest.raises(psycopg.OperationalError) as caught:
        psycopg.connect(host="127.0.0.1", port=free_port(), user="x", dbname="x", connect_timeout=2)
    mapped = errormap.describe(caught.value)
    assert mapped is not None and str(mapped).startswith("cannot use the PostgreSQL database:")
    assert "\n" not in str(mapped)


def test_other_errors_are_not_mapped() -> None:
    assert errormap.describe(ValueError("a bug")) is None
