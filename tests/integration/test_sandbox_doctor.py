"""`nexus doctor` on the running sandbox: every section passes on the steady sandbox; a killed nexus-api
instance fails the workload and restarts checks of its region (the latter quoting its last log lines) and
nothing else; a replica whose WAL receiver is stopped fails the replication check and nothing else."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest
from tests.integration.conftest import nexus, nexus_json
from tests.integration.sandboxlib import data_plane, wait_for

pytestmark = pytest.mark.integration

APP_AND_PERF = ("doctor", "--section", "application", "--section", "performance")


def failing(sandbox: dict[str, Any]) -> list[tuple[str, str]]:
    code, report, stderr = nexus_json(*APP_AND_PERF, env=sandbox["env"])
    assert code in (0, 1), stderr
    assert code == (1 if not report["ok"] else 0)
    return [(f["check"], f["scope"]) for f in report["findings"] if not f["ok"]]


def test_the_steady_sandbox_passes_every_section(sandbox: dict[str, Any]) -> None:
    _, report, stderr = wait_for(
        lambda: (r := nexus_json("doctor", env=sandbox["env"]))[0] == 0 and r,
        "a clean doctor report",
        timeout=60,
    )
    assert report["ok"] is True, stderr
    assert {f["section"] for f in report["findings"]} == {"infrastructure", "application", "performance"}
    checks = {f["check"] for f in report["findings"]}
    assert {
        "workload",
        "restarts",
        "mesh",
        "configuration",
        "replication",
        "headroom",
        "api-latency",
    } <= checks
    mesh = [f["detail"] for f in report["findings"] if f["check"] == "mesh"]
    assert mesh and all(detail.startswith("not applicable here") for detail in mesh)


def test_a_killed_instance_fails_only_its_workload_and_restarts_checks(sandbox: dict[str, Any]) -> None:
    plane = data_plane()
    victim = plane.instances("primary")[1]
    record = plane.processes.running(victim.name)
    assert record is not None
    os.killpg(record.pid, signal.SIGKILL)
    try:
        region = plane.region("primary")
        found = wait_for(lambda: failing(sandbox) or None, "the killed instance to show", timeout=30)
        scope = f"primary ({region}) nexus-api"
        assert found == [("workload", scope), ("restarts", scope)]
        _, report, _ = nexus_json(*APP_AND_PERF, env=sandbox["env"])
        [restarts] = [f for f in report["findings"] if f["check"] == "restarts" and not f["ok"]]
        lines = restarts["detail"].splitlines()
        assert lines[0].startswith(f"{victim.name}: exited")
        # Its last log lines, as they are in its log file.
        logged = [line for line in Path(record.log_path).read_text().splitlines() if line.strip()]
        assert [line.removeprefix("  | ") for line in lines[1:]] == logged[-5:]
    finally:
        again = nexus("up", env=sandbox["env"], timeout=300)
        assert again.returncode == 0, again.stderr[-2000:]
    assert wait_for(lambda: failing(sandbox) == [], "a clean report after `nexus up`", timeout=60)


def test_a_stopped_replica_fails_only_the_replication_check(sandbox: dict[str, Any]) -> None:
    plane = data_plane()
    replica = plane.postgres("dr")
    # pg_basebackup -R wrote the replica's primary_conninfo into postgresql.auto.conf: put that value back.
    conninfo = str(replica.admin("SHOW primary_conninfo")[0][0])
    assert conninfo, "the DR replica has no primary_conninfo"
    replica.admin("ALTER SYSTEM SET primary_conninfo = ''")
    replica.admin("SELECT pg_reload_conf()")
    try:
        region = plane.region("dr")
        found = wait_for(lambda: failing(sandbox) or None, "the stopped replica to show", timeout=30)
        assert found == [("replication", f"dr ({region}) database replica")]
    finally:
        quoted = conninfo.replace("'", "''")
        replica.admin(f"ALTER SYSTEM SET primary_conninfo = '{quoted}'")
        replica.admin("SELECT pg_reload_conf()")
    assert wait_for(lambda: failing(sandbox) == [], "a clean report once it streams again", timeout=60)
