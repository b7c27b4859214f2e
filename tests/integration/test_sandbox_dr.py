"""The DR runbooks on the running sandbox (tests/integration/conftest.py): readiness, a dry run that changes
nothing, then a real failover and failback with writes flowing through the edge before, during and after."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import psycopg
import pytest
from tests.integration.conftest import killed_at_step, nexus, nexus_json
from tests.integration.sandboxlib import data_plane, wait_for

from nexus_platform import model
from nexus_platform.secrets import read_secrets
from nexus_platform.world.local import api, traffic
from nexus_platform.world.local.processes import descendants

pytestmark = pytest.mark.integration


def dr(sandbox: dict[str, Any], *args: str, timeout: float = 600) -> tuple[int, dict[str, Any], str]:
    return nexus_json("dr", *args, env=sandbox["env"], timeout=timeout)


class Writer(threading.Thread):
    """Writes through the edge with client ids until stopped; keeps the ids it got acknowledged."""

    def __init__(self, edge_url: str, prefix: str) -> None:
        super().__init__(daemon=True)
        self.client = traffic.Client(edge_url, timeout=5)
        self.prefix = prefix
        self.acknowledged: list[str] = []
        self.refused = 0
        self.halt = threading.Event()

    def run(self) -> None:
        n = 0
        while not self.halt.is_set():
            n += 1
            record_id = f"{self.prefix}-{n}"
            try:
                status, _, _ = self.client.request("PUT", f"/api/v1/records/{record_id}", {"data": {"n": n}})
            except OSError:
                status = 0
            if status in (200, 201):
                self.acknowledged.append(record_id)
            else:
                self.refused += 1
            time.sleep(0.02)


def sandbox_status(sandbox: dict[str, Any], *, serving: str) -> dict[str, Any]:
    """`nexus status` once the edge serves from `serving`: the edge marks a region up or down after its own
    health checks, a few seconds after the runbook's last step."""

    def read() -> dict[str, Any]:
        payload: dict[str, Any] = json.loads(nexus("status", "--output", "json", env=sandbox["env"]).stdout)
        return payload

    return wait_for(lambda: (s := read())["edge"]["serving_region"] == serving and s, f"edge on {serving}")


def assert_fenced(sandbox: dict[str, Any], plane: Any) -> None:
    """The old primary takes no write from the application's own credentials, even one that asks for a
    read-write transaction: its login is refused."""
    secrets = read_secrets(
        sandbox["plane"].client("secretsmanager", plane.region("primary")), sandbox["model"].name_prefix
    )
    with (
        pytest.raises(psycopg.OperationalError, match="rejects connection"),
        psycopg.connect(
            host="127.0.0.1",
            port=plane.postgres("primary").port,
            user=secrets.app.username,
            password=secrets.app.password,
            dbname=api.database_name(plane.chart),
            sslmode="require",
            connect_timeout=5,
        ) as conn,
    ):
        conn.execute("SET default_transaction_read_only = off")
        conn.execute("CREATE TABLE split_brain (n int)")


def assert_restored(sandbox: dict[str, Any], report: dict[str, Any]) -> None:
    """Failback left the topology the failover found: who writes, replicates and serves, and each region's
    compute, as its report says; the edge's view of DR (a health check that may still be settling right after
    DR was put back) is waited for, bounded, through `dr status`."""
    wanted, after = report["topology_wanted"], report["topology_after"]
    for part in ("database", "cache", "serving", "compute"):
        assert after[part] == wanted[part], (part, after, wanted)
    if report["topology_restored"] is not True:
        settled = wait_for(
            lambda: (r := dr(sandbox, "status"))[1].get("topology", {}).get("edge") == wanted["edge"] and r,
            "the edge to see both regions healthy after the failback",
            60,
        )
        assert settled[1]["topology"]["edge"] == wanted["edge"]


def test_dr_status_passes_on_the_steady_sandbox(sandbox: dict[str, Any]) -> None:
    # A previous test's `nexus up` may have just restarted a process: the replica reconnects a moment later.
    code, payload, stderr = wait_for(lambda: (r := dr(sandbox, "status"))[0] == 0 and r, "dr status", 60)
    assert code == 0, (stderr, payload)
    names = {check["name"] for check in payload["checks"]}
    assert {"dr-database", "replica-lag", "dr-capacity", "secret-replica", "kms-key", "backup-age"} <= names
    assert payload["topology"]["database"] == {"primary": "primary", "dr": "replica"}


def test_a_dry_run_changes_nothing(sandbox: dict[str, Any]) -> None:
    state: Path = sandbox["state"]
    journals = set((state / "runs").glob("*.jsonl")) if (state / "runs").exists() else set()
    code, plan, stderr = dr(sandbox, "failover")
    assert code == 0, stderr
    assert [step["name"] for step in plan["steps"]][:3] == [
        "readiness",
        "fence-primary",
        "promote-dr-database",
    ]
    code, after, _ = dr(sandbox, "status")
    assert after["topology"] == plan["topology"]
    assert (set((state / "runs").glob("*.jsonl")) if (state / "runs").exists() else set()) == journals
    audit = [json.loads(line) for line in (state / "audit.log").read_text().splitlines()]
    assert audit[-1]["operation"] == "dr.failover" and audit[-1]["executed"] is False


def test_failover_then_failback_keep_every_acknowledged_write(sandbox: dict[str, Any]) -> None:
    plane = data_plane()
    writer = Writer(plane.edge_url(), "it-dr")
    writer.start()
    try:
        time.sleep(1)
        code, report, stderr = dr(sandbox, "failover", "--planned", "--execute")
        assert code == 0, stderr[-3000:]
        assert report["outcome"] == "complete", report
        assert report["topology_after"]["database"]["dr"] == "primary"
        assert report["topology_after"]["serving"] == "dr"
        print(f"\nfailover: RTO {report['rto_seconds']} s, RPO bound {report['rpo_bound_seconds']} s; steps:")
        for step in report["steps"]:
            print(f"  {step['name']:28} {step['status']:9} {step.get('duration')}")
        status = sandbox_status(sandbox, serving=sandbox["model"].region("dr").name)
        assert status["regions"]["dr"]["database"]["role"] == "primary"
        assert_fenced(sandbox, plane)
        time.sleep(1)
        code, report, stderr = dr(sandbox, "failback", "--execute")
        assert code == 0, stderr[-3000:]
        assert report["outcome"] == "complete", report
        assert_restored(sandbox, report)
        print(f"failback: {report['rto_seconds']} s")
        time.sleep(1)
    finally:
        writer.halt.set()
        writer.join(timeout=10)
    assert len(writer.acknowledged) > 20, (len(writer.acknowledged), writer.refused)
    edge = traffic.Client(plane.edge_url())
    missing = []
    for record_id in writer.acknowledged:
        status_code, _, _ = edge.request(
            "GET", f"/api/v1/records/{record_id}", headers={"Cache-Control": "no-cache"}
        )
        if status_code != 200:
            missing.append(record_id)
    assert not missing, (
        f"{len(missing)} of {len(writer.acknowledged)} acknowledged writes lost: {missing[:5]}"
    )
    status = sandbox_status(sandbox, serving=sandbox["model"].region("primary").name)
    assert status["regions"]["primary"]["database"]["role"] == "primary"
    assert status["regions"]["dr"]["database"]["role"] == "replica"


def test_bad_inputs_are_one_line_with_exit_code_2(sandbox: dict[str, Any]) -> None:
    for args in (
        ("failover", "--env", "staging"),
        ("failover", "--execute", "--resume", "no-such-run"),
        ("status", "--env", "production"),
    ):
        result = nexus("dr", *args, env=sandbox["env"])
        assert result.returncode == 2, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "Traceback" not in result.stderr


def kill_region(names: list[str]) -> None:
    """SIGKILL each process and everything below it (PostgreSQL's backends leave the process group)."""
    plane = data_plane()
    baseline = {instance.name for role in ("primary", "dr") for instance in plane.instances(role)}
    spares = {instance.name for role in ("primary", "dr") for instance in plane.slots(role)} - baseline
    for name in names:
        record = plane.processes.running(name)
        if record is None and name in spares:
            continue  # the autoscaler stopped it since it was listed
        assert record is not None, name
        below = descendants(record.pid)
        os.killpg(record.pid, signal.SIGKILL)
        for pid in below:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def primary_processes() -> list[str]:
    """Everything the primary region runs: a regional outage takes the autoscaler's spare instances too
    (sparing them left a failover recording the region half alive)."""
    plane = data_plane()
    return [plane.postgres("primary").name, plane.redis("primary").name] + [
        instance.name for instance in plane.slots("primary") if plane.processes.running(instance.name)
    ]


@pytest.fixture
def no_cool_down(sandbox: dict[str, Any]) -> None:
    """Each watch test starts outside any cool-down window: the failover another test's watch ran must not
    change what this one sees (the tests pass in any order)."""
    (sandbox["state"] / "dr" / "watch-sandbox.json").unlink(missing_ok=True)


@pytest.mark.usefixtures("no_cool_down")
def test_watch_refuses_to_fail_over_when_the_replica_is_down_too(sandbox: dict[str, Any]) -> None:
    plane = data_plane()
    kill_region([*primary_processes(), plane.postgres("dr").name])
    result = nexus("dr", "watch", "--execute", "--max-seconds", "8", env=sandbox["env"], timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "not failing over: the DR database is down" in result.stdout
    assert plane.processes.running(plane.postgres("dr").name) is None  # nothing was promoted or started
    restored = nexus("up", "--output", "json", env=sandbox["env"], timeout=300)
    assert restored.returncode == 0, restored.stderr[-2000:]
    # The next tests start from a steady sandbox: `up` returns once the edge serves the primary again, and
    # both restarted regions need their `rise` checks before the edge has a region to fall back on.
    regions = [plane.region(role) for role in ("primary", "dr")]
    wait_for(
        lambda: all(plane.runtime().region_state(region).state == "UP" for region in regions),
        "both regions healthy at the edge",
        60,
    )
    assert (
        json.loads(nexus("status", "-o", "json", env=sandbox["env"]).stdout)["regions"]["dr"]["database"][
            "role"
        ]
        == "replica"
    )


@pytest.mark.usefixtures("no_cool_down")
def test_watch_fails_over_a_killed_primary_and_failback_restores_it(sandbox: dict[str, Any]) -> None:
    plane = data_plane()
    edge = traffic.Client(plane.edge_url())
    before = traffic.write_and_follow(edge, traffic.Client(plane.instances("dr")[0].url), plane.region("dr"))
    kill_region(primary_processes())
    result = nexus(
        "dr",
        "watch",
        "--execute",
        "--max-seconds",
        "120",
        "--output",
        "json",
        env=sandbox["env"],
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["outcome"] == "complete"
    assert report["topology_after"]["database"]["dr"] == "primary"
    print(f"\nwatch: failover RTO from the first failed check {report['rto_seconds']} s")
    # The repository's NexusRegionDown (its `for:` shortened by sandbox.toml) fires in Alertmanager.
    alertmanager = f"http://127.0.0.1:{model.sandbox_config().alertmanager_port}/api/v2/alerts"
    primary_region = plane.region("primary")

    def region_down() -> list[dict[str, Any]]:
        with urllib.request.urlopen(alertmanager, timeout=5) as answer:
            alerts = json.loads(answer.read())
        return [
            a
            for a in alerts
            if a["labels"].get("alertname") == "NexusRegionDown"
            and a["labels"].get("region") == primary_region
            and a["status"]["state"] == "active"
        ]

    fired = wait_for(region_down, "NexusRegionDown firing in Alertmanager", 120)
    print(f"NexusRegionDown active in Alertmanager: {fired[0]['startsAt']}")
    # Replicated before the kill, so it survives the failover.
    code, _, _ = edge.request(
        "GET", f"/api/v1/records/{before.record_id}", headers={"Cache-Control": "no-cache"}
    )
    assert code == 200
    code, payload, stderr = dr(sandbox, "failback", "--execute")
    assert code == 0, stderr[-3000:]
    assert_restored(sandbox, payload)


@pytest.mark.usefixtures("no_cool_down")
def test_a_watch_started_failover_killed_mid_way_resumes_from_the_cli(sandbox: dict[str, Any]) -> None:
    """SIGKILL of `dr watch` once its failover has fenced the primary; `dr failover --resume RUN_ID` finishes
    it with the parameters the watch journaled, and the RTO still counts from the watch's detection."""
    kill_region(primary_processes())
    journal = killed_at_step(
        ["dr", "watch", "--execute", "--max-seconds", "120"], sandbox["env"], "fence-primary", 120
    )
    run_id = journal.stem
    events = [json.loads(line) for line in journal.read_text().splitlines() if line.strip()]
    detected_at = next(e for e in events if e["event"] == "run-start")["params"]["detected_at"]
    resumed_at = time.time()
    code, report, stderr = dr(sandbox, "failover", "--execute", "--resume", run_id)
    assert code == 0, stderr[-3000:]
    assert report["outcome"] == "complete" and report["resumed"] is True, report
    assert report["topology_after"]["database"]["dr"] == "primary"
    # From the detection, not from the resume command: it includes the time before the kill.
    assert report["rto_seconds"] >= round(resumed_at - detected_at, 2), (report["rto_seconds"], detected_at)
    code, payload, stderr = dr(sandbox, "failback", "--execute")
    assert code == 0, stderr[-3000:]
    assert_restored(sandbox, payload)


def test_dr_sh_keeps_the_seed_entry_point(sandbox: dict[str, Any]) -> None:
    script = Path(__file__).resolve().parents[2] / "scripts" / "dr.sh"
    env = {**sandbox["env"], "NEXUS": str(Path(sys.executable).with_name("nexus"))}
    # After the previous tests' failbacks the readiness checks may still be settling: bounded wait first.
    wait_for(lambda: dr(sandbox, "status")[0] == 0, "dr status to pass", 60)
    bare = subprocess.run([str(script)], capture_output=True, text=True, env=env, timeout=120, check=False)
    assert bare.returncode == 0, bare.stderr
    assert "nexus dr status (sandbox)" in bare.stdout
    passed = subprocess.run(
        [str(script), "failover", "--output", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert passed.returncode == 0, passed.stderr
    assert json.loads(passed.stdout)["steps"][0]["name"] == "readiness"  # a dry run: nothing changed
