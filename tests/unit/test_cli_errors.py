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
OUTPUTS = "{state}/outputs.json"  # written by `run` (a production platform model: names only)
# Commands that call AWS outside the sandbox.
AWS_COMMANDS = [
    ["db", "app-role", "--env", "production"],
    ["dr", "status", "--env", "production", "--outputs", OUTPUTS],
    ["dr", "failover", "--env", "production", "--outputs", OUTPUTS],
    ["dr", "failback", "--env", "production", "--outputs", OUTPUTS, "--execute"],
]
# The first AWS call of each, as an access-denied error names it.
FIRST_CALL = {"db": "GetSecretValue", "dr": "DescribeDBInstances"}


def production_outputs() -> dict[str, object]:
    """`terraform output -json`'s shape for production (the names only: nothing here exists)."""
    regions = {"primary": "us-east-1", "dr": "eu-west-1"}
    return {
        "regions": {
            role: {
                "region": region,
                "cluster_name": f"nexus-production-{region}",
                "db_instance_identifier": f"nexus-production-{region}-postgres",
                "db_instance_arn": f"arn:aws:rds:{region}:111122223333:db:nexus-production-{region}-postgres",
                "db_endpoint": f"db.{region}.example.com:5432",
                "cache_replication_group_id": f"nexus-production-{region}-redis",
                "health_check_id": f"hc-{role}",
                "origin_fqdn": f"{region}.origin.example.com",
                "alb_dns_name": f"alb.{region}.example.com",
                "backup_vault_name": f"{region}-vault",
                "backup_role_arn": "arn:aws:iam::123456789012:role/nexus-backup",
                "state_bucket": f"nexus-production-{region}-state",
            }
            for role, region in regions.items()
        },
        "database": {"rpo_target_seconds": 300, "replica_lag_alarm_s": 60, "backup_retention_days": 30},
        "health_check": {"path": "/readyz", "request_interval": 10, "failure_threshold": 3},
        "api_fqdn": "api.example.com",
        "app_fqdn": "app.example.com",
        "zone_id": "Z1",
        "global_datastore_id": "g-nexus",
        "cloudfront_distribution_id": "E2EXAMPLE",
    }


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
    (state / "outputs.json").write_text(json.dumps(production_outputs()))
    args = [arg.format(state=state) for arg in args]
    return subprocess.run([*NEXUS, *args], capture_output=True, text=True, env=base, timeout=120, check=False)


def one_line(result: subprocess.CompletedProcess[str], expected: str, code: int = 1) -> None:
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert expected in lines[0], lines[0]


@pytest.fixture
def denying_endpoint() -> Iterator[str]:
    class Deny(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
                # The query protocol (RDS, EC2...): AWS answers with an XML error document.
                body = (
                    b"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
                    b"<Message>not for you</Message></Error><RequestId>1</RequestId></ErrorResponse>"
                )
                kind = "text/xml"
            else:
                body = json.dumps({"__type": "AccessDeniedException", "message": "not for you"}).encode()
                kind = "application/x-amz-json-1.1"
            self.send_response(403 if kind == "text/xml" else 400)
            self.send_header("Content-Type", kind)
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
    one_line(run(command, tmp_path), "no AWS credentials found (configure them")


@pytest.mark.parametrize("command", AWS_COMMANDS)
def test_access_denied_is_one_line(command: list[str], tmp_path: Path, denying_endpoint: str) -> None:
    result = run(
        command, tmp_path, AWS_ENDPOINT_URL=denying_endpoint, AWS_ACCESS_KEY_ID="a", AWS_SECRET_ACCESS_KEY="b"
    )
    one_line(result, f"access denied: {FIRST_CALL[command[0]]} (AccessDenied")
    assert "not for you" in result.stderr


@pytest.mark.parametrize("command", AWS_COMMANDS)
def test_unreachable_endpoint_is_one_line(command: list[str], tmp_path: Path) -> None:
    result = run(
        command,
        tmp_path,
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}",
        AWS_ACCESS_KEY_ID="a",
        AWS_SECRET_ACCESS_KEY="b",
    )
    # Every region unreachable, Route 53's global API included: nothing to act on, one line saying so. (One
    # region down is what DR is for: tests/unit/test_world_aws.py runs that failover to completion.)
    one_line(result, "cannot reach the AWS endpoint")


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


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--env", "production", "--world", "local"], "production runs on AWS: there is no local world"),
        (["--env", "production", "--outage", "primary"], "--outage rehearses a regional outage against the"),
        (["--env", "production", "--world", "moon"], "unknown world 'moon'"),
        (["--env", "production", "--kube-api", "dr"], "--kube-api 'dr' is not ROLE=URL"),
        (["--env", "production", "--api-url", "west=http://x"], "unknown region role 'west'"),
        (
            ["--env", "sandbox", "--world", "local", "--kube-api", "dr=http://x"],
            "--kube-api: for the AWS world",
        ),
        (["--env", "sandbox", "--outage", "primary"], "--outage: for the AWS world only"),
    ],
)
@pytest.mark.parametrize("command", ["status", "failover", "failback", "watch"])
def test_how_to_reach_the_platform_is_checked_first(
    command: str, options: list[str], expected: str, tmp_path: Path
) -> None:
    """Options that cannot go together fail in one line before anything is read or changed."""
    result = run(["dr", command, "--outputs", OUTPUTS, *options], tmp_path)
    one_line(result, expected, code=2)  # bad input: the usage error's code
    assert not (tmp_path / "journal").exists()
