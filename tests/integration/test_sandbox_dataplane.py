"""The sandbox's data plane, on the session's sandbox (tests/integration/conftest.py): real PostgreSQL, Redis,
nexus-api, HAProxy, the link emulator, Prometheus and Alertmanager, driven through the `nexus` CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.integration.conftest import NEXUS_CTRL_C, nexus
from tests.integration.sandboxlib import data_plane, wait_for
from tests.support import ROOT

from nexus_platform import model
from nexus_platform.world.local import traffic

pytestmark = pytest.mark.integration


def status(sandbox: dict[str, Any]) -> dict[str, Any]:
    result = nexus("status", "--output", "json", env=sandbox["env"], timeout=60)
    assert result.returncode == 0, result.stderr
    payload: dict[str, Any] = json.loads(result.stdout)
    return payload


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def test_first_up_started_both_planes_and_proved_the_path(sandbox: dict[str, Any]) -> None:
    first = sandbox["first"]
    env = sandbox["model"]
    assert set(first["dataplane"]["started"]) == set(data_plane().process_names())
    proof = first["proof"]
    assert proof["written_in"] == env.region("primary").name
    assert proof["served_by"] == env.region("primary").name
    assert proof["read_from"] == env.region("dr").name
    print(
        f"\ndata plane started in {first['dataplane']['seconds']} s; write visible in DR after "
        f"{proof['visible_after_ms']:.0f} ms"
    )


def test_status_shows_both_planes_in_the_documented_shape(sandbox: dict[str, Any]) -> None:
    payload = wait_for(lambda: (s := status(sandbox))["running"] and s, "every process up")
    assert payload["control_plane"]["emulator"]["running"] is True
    assert payload["regions"]["primary"]["database"]["role"] == "primary"
    assert payload["regions"]["dr"]["database"]["role"] == "replica"
    assert payload["regions"]["dr"]["database"]["streaming"] is True
    assert payload["regions"]["primary"]["cache"]["role"] == "primary"
    assert payload["regions"]["dr"]["cache"]["role"] == "replica"
    assert payload["link"]["state"] == "up"
    assert payload["link"]["delay_ms"] == model.sandbox_config().link_delay_ms
    assert payload["edge"]["serving_region"] == sandbox["model"].region("primary").name
    for role in model.ROLES:
        assert len(payload["regions"][role]["api_urls"]) == len(model.sandbox_config().regions[role].apis)


def test_a_write_at_the_edge_is_readable_in_the_dr_region(sandbox: dict[str, Any]) -> None:
    plane = data_plane()
    edge, dr_api = traffic.Client(plane.edge_url()), traffic.Client(plane.instances("dr")[0].url)
    write = traffic.write_and_follow(edge, dr_api, plane.region("dr"), prefix="it-edge")
    assert write.written_in == plane.region("primary")
    code, _, record = edge.request("GET", f"/api/v1/records/{write.record_id}")
    assert code == 200 and record["id"] == write.record_id
    # The DR region refuses writes (read-only standby): the edge, not the client, decides where writes go.
    code, _, _ = dr_api.request("PUT", "/api/v1/records/it-dr-direct", {"data": {"x": 1}})
    assert code == 503


def test_redis_replicates_across_the_link_over_tls(sandbox: dict[str, Any]) -> None:
    """Not only the roles' names: the DR replica's link to the primary is up, and a key written on the primary
    is read on the replica (both over TLS with the AUTH token; the replication crosses the link emulator)."""
    plane = data_plane()
    token = plane.cache_token()
    assert token
    primary, replica = plane.redis("primary"), plane.redis("dr")
    info = wait_for(
        lambda: (r := replica.replication(token))["master_link_status"] == "up" and r, "the replica's link up"
    )
    assert info["role"] == "slave"
    key = f"it-redis-{time.time_ns()}"
    with primary.client(token) as writer:
        writer.set(key, "crossed", ex=60)
    with replica.client(token) as reader:
        assert wait_for(lambda: reader.get(key), "the key on the DR replica") == "crossed"


def test_status_answers_within_its_deadline_when_a_process_hangs(sandbox: dict[str, Any]) -> None:
    """SIGSTOP of the DR database (it accepts connections and answers nothing): `nexus status` still answers
    within its deadline (plus the CLI's start-up), and shows that database as not answering. Before, each of
    the replica's five queries waited out its own 3 s timeout in turn."""
    from nexus_platform.sandbox.status import DEADLINE  # noqa: PLC0415

    plane = data_plane()
    record = plane.processes.running(plane.postgres("dr").name)
    assert record is not None
    os.kill(record.pid, signal.SIGSTOP)
    try:
        began = time.monotonic()
        payload = status(sandbox)
        took = time.monotonic() - began
    finally:
        os.kill(record.pid, signal.SIGCONT)
    print(f"\nnexus status with a hung database: {took:.2f} s")
    database = payload["regions"]["dr"]["database"]
    assert database["up"] is False and database["error"], database
    assert payload["regions"]["primary"]["database"]["up"] is True
    assert took < DEADLINE + 5, took  # generous for the CLI's own start; the old sequence took 15 s


def test_the_database_role_command_works_in_the_sandbox(sandbox: dict[str, Any]) -> None:
    result = nexus("db", "app-role", "--env", "sandbox", "--execute", "--output", "json", env=sandbox["env"])
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["steps"] == []  # `nexus up` made the role through the same code path


def test_prometheus_runs_the_repository_rules_against_live_targets(sandbox: dict[str, Any]) -> None:
    base = f"http://127.0.0.1:{model.sandbox_config().prometheus_port}"
    expected = sum(
        len(group["rules"])
        for path in sorted((ROOT / "monitoring" / "rules").glob("*.yaml"))
        for group in yaml.safe_load(path.read_text())["groups"]
    )
    # A previous test may have restarted Prometheus: its rules load after its port opens.
    groups = wait_for(lambda: get_json(f"{base}/api/v1/rules")["data"]["groups"], "the rules loaded")
    assert sum(len(group["rules"]) for group in groups) == expected

    def all_up() -> list[dict[str, Any]] | None:
        targets = get_json(f"{base}/api/v1/targets")["data"]["activeTargets"]
        return targets if targets and all(t["health"] == "up" for t in targets) else None

    targets = wait_for(all_up, "every scrape target up", timeout=60)
    jobs = {t["labels"]["job"] for t in targets}
    assert {"nexus-api", "blackbox", "postgres", "haproxy", "link", "nexus-ops"} <= jobs
    # The replica's lag reaches the rules' recording rule under the DR region's name.
    dr = sandbox["model"].region("dr").name
    lag = wait_for(
        lambda: get_json(f"{base}/api/v1/query?query=nexus:db_replica_lag_seconds:max")["data"]["result"],
        "the replica lag series",
        timeout=60,
    )
    assert [series["metric"]["region"] for series in lag] == [dr]


def test_a_killed_process_shows_down_and_up_restarts_only_it(sandbox: dict[str, Any]) -> None:
    plane = data_plane()
    victim = plane.instances("primary")[1]
    record = plane.processes.running(victim.name)
    assert record is not None
    os.killpg(record.pid, signal.SIGKILL)

    def victim_row() -> tuple[dict[str, Any], dict[str, Any]]:
        after = status(sandbox)
        return after, next(p for p in after["regions"]["primary"]["processes"] if p["name"] == victim.name)

    # SIGKILL is delivered, and the port closed, a moment after killpg returns.
    after, row = wait_for(lambda: (r := victim_row())[1]["up"] is False and r, "the killed process down")
    assert row["up"] is False and after["running"] is False
    again = nexus("up", "--output", "json", env=sandbox["env"], timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    report = json.loads(again.stdout)
    assert report["applied"] is False
    assert report["dataplane"]["started"] == [victim.name]
    noop = nexus("up", "--output", "json", env=sandbox["env"], timeout=300)
    assert json.loads(noop.stdout)["dataplane"]["started"] == []


def test_sync_mode_makes_the_primary_wait_for_the_replica(sandbox: dict[str, Any]) -> None:
    plane = data_plane()
    try:
        result = nexus("up", "--sync", "--output", "json", env=sandbox["env"], timeout=300)
        assert result.returncode == 0, result.stderr[-2000:]
        assert json.loads(result.stdout)["dataplane"]["mode"] == "sync"
        primary, replica = plane.postgres("primary"), plane.postgres("dr")
        assert primary.admin("SHOW synchronous_commit") == [("remote_apply",)]
        assert primary.admin("SHOW synchronous_standby_names") == [(f'"{plane.standby_name("dr")}"',)]
        # Set on the primary only: a promoted replica must not wait for a standby it does not have.
        assert replica.admin("SHOW synchronous_standby_names") == [("",)]
        # The standby turns sync when the primary has reloaded and the walsender has seen it.
        rows = wait_for(
            lambda: (r := primary.admin("SELECT sync_state FROM pg_stat_replication")) == [("sync",)] and r,
            "the standby to turn sync",
        )
        assert rows == [("sync",)]
        assert status(sandbox)["mode"] == "sync"
    finally:
        back = nexus("up", "--async", env=sandbox["env"], timeout=300)
        assert back.returncode == 0, back.stderr[-2000:]
    assert data_plane().postgres("primary").admin("SHOW synchronous_standby_names") == [("",)]


@pytest.mark.parametrize("phase", ["first-process", "last-phase"])
def test_ctrl_c_during_up_stops_what_it_started(sandbox: dict[str, Any], phase: str) -> None:
    plane = data_plane()
    plane.stop(plane.process_names())
    state: Path = sandbox["state"]
    up = subprocess.Popen(
        [*NEXUS_CTRL_C, "up"], env=sandbox["env"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    # Interrupt as soon as `up` has started its first data-plane process (the link): most of its work is still
    # ahead then, so the signal lands while it runs even on a loaded machine. (Waiting for a later process
    # with a coarse poll let a fast `up` finish first, and the test then saw exit 0.) Or once it started the
    # last one: then it is waiting for that process, the edge, or the proof write (its last phase).
    names = plane.process_names()
    first = names[0] if phase == "first-process" else names[-1]
    deadline = time.monotonic() + 120
    while not (state / "run" / f"{first}.json").exists() and up.poll() is None:
        assert time.monotonic() < deadline, "nexus up never started the data plane"
        time.sleep(0.01)
    assert up.poll() is None, "nexus up ended before it could be interrupted"
    up.send_signal(signal.SIGINT)
    output, _ = up.communicate(timeout=120)
    assert up.returncode == 130, output
    assert not any(plane.running().values()), plane.running()
    assert plane.processes.running("emulator") is not None  # it was running before this `up`: it stays
    restored = nexus("up", env=sandbox["env"], timeout=300)
    assert restored.returncode == 0, restored.stderr[-2000:]
