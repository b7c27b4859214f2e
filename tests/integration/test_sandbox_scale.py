"""`nexus scale show|set`, `./scripts/scaling.sh` and the autoscaler on the running sandbox: what each region
runs, read from the real processes, against the chart's autoscaler bounds; a change refused by its rule,
planned, applied; nexus-api scaled out under load through the edge and back after it."""

from __future__ import annotations

import json
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from tests.integration.conftest import nexus, nexus_json
from tests.integration.sandboxlib import data_plane, wait_for

from nexus_platform import model
from nexus_platform.world.local import api, autoscaler, haproxy, traffic
from nexus_platform.world.local.scaling import LocalScaling

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "scaling.sh"


@pytest.fixture(scope="module", autouse=True)
def settled(sandbox: dict[str, Any]) -> None:
    """Start from the sandbox's base shape, held for a few of the autoscaler's looks: an earlier module's load
    (the drill reads back every write it made) may have scaled a region out, and the autoscaler scales back
    only after its stabilization window."""
    plane = data_plane()

    def base_shape() -> bool:
        return all(
            {i.name for i in plane.slots(role) if plane.processes.record(i.name) is not None}
            == {i.name for i in plane.instances(role)}
            for role in model.ROLES
        )

    # Held, not seen once: the drill ends by reading back every write through the edge, and the autoscaler
    # may act on that last burst only at its next look, after this fixture has seen the base shape.
    quiet = 5 * plane.config.autoscaler_interval_s
    since: list[float] = []

    def held() -> bool:
        if not base_shape():
            since.clear()
            return False
        since[:] = since or [time.monotonic()]
        return time.monotonic() - since[0] >= quiet

    wait_for(held, "the autoscaler to scale back to the instances `nexus up` starts", timeout=180 + quiet)


def test_scale_show_reads_the_running_sandbox(sandbox: dict[str, Any]) -> None:
    code, shown, stderr = nexus_json("scale", "show", env=sandbox["env"])
    assert code == 0, stderr
    assert shown["world"] == "sandbox"
    plane = data_plane()
    views = {view["role"]: view for view in shown["regions"]}
    for role in model.ROLES:
        view = views[role]
        hpa = api.chart_values(plane.chart, role)["autoscaling"]
        # The chart's bounds, held to the sandbox's ports (its floor to the instances `nexus up` starts).
        assert (view["api_min"], view["api_max"]) == (
            min(hpa["minReplicas"], len(plane.instances(role))),
            min(hpa["maxReplicas"], len(plane.slots(role))),
        )
        running = [i for i in plane.instances(role) if plane.processes.running(i.name)]
        assert view["api_desired"] == len(running) > 0
        assert view["node_groups"] == []
    # The primary's database streams to one replica (the DR region's); the replica has none of its own.
    assert (views["primary"]["db_read_replicas"], views["dr"]["db_read_replicas"]) == (1, 0)

    result = subprocess.run(
        [str(SCRIPT)], env=sandbox["env"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "nexus scale show (sandbox, sandbox world)" in result.stdout


def test_scale_set_refuses_by_rule_plans_then_applies(sandbox: dict[str, Any]) -> None:
    env, plane = sandbox["env"], data_plane()
    for args, why in (
        (["--region", "dr", "--api-replicas", "0:4"], "rule warm-standby-floor"),
        (["--region", "primary", "--api-replicas", "3:2"], "rule bounds-ordered"),
        (["--region", "primary", "--db-read-replicas", "0"], "rule dr-replica-kept"),
        (["--region", "primary", "--nodes", "1:1:2"], "has no node groups"),
        (["--region", "primary"], "nothing to change"),
        (["--region", "dr", "--api-replicas", "2:3", "--write-tfvars"], "goes with --execute"),
    ):
        result = nexus("scale", "set", *args, env=env)
        assert result.returncode == 2, (args, result.stderr)
        assert why in result.stderr and "Traceback" not in result.stderr, result.stderr
    before = plane.api_bounds("dr")
    try:
        code, plan, stderr = nexus_json("scale", "set", "--region", "dr", "--api-replicas", "2:3", env=env)
        assert code == 0, stderr
        assert [step["name"] for step in plan["steps"]] == ["set-api-autoscaling"]
        assert plane.api_bounds("dr") == before  # a dry run changes nothing

        args = ("scale", "set", "--region", "dr", "--api-replicas", "2:3", "--execute")
        code, report, stderr = nexus_json(*args, env=env)
        assert code == 0, stderr
        assert report["outcome"] == "complete", report
        assert plane.api_bounds("dr") == (2, 3)
        code, shown, stderr = nexus_json("scale", "show", env=env)
        dr = next(view for view in shown["regions"] if view["role"] == "dr")
        assert (dr["api_min"], dr["api_max"]) == (2, 3)
        # Again: the world already has it, the step is not applied twice.
        code, again, stderr = nexus_json(*args, env=env)
        assert code == 0, stderr
        assert [step["status"] for step in again["steps"]] == ["skipped"], again
    finally:
        plane.clear_api_bounds("dr")


def test_read_and_cache_replicas_are_added_in_region_and_removed(sandbox: dict[str, Any]) -> None:
    """The writer's database gets an in-region streaming replica beside the DR one, its Redis a replica of
    its own; a write on the primary shows up on both; back down, the processes and the replica's data go."""
    env, plane = sandbox["env"], data_plane()
    writer = plane.writer()
    args = ("scale", "set", "--region", writer, "--db-read-replicas", "2", "--cache-replicas", "1")
    try:
        code, report, stderr = nexus_json(*args, "--execute", env=env)
        assert code == 0, stderr
        assert report["outcome"] == "complete", report
        [read] = [r for r in plane.read_replicas(writer) if plane.processes.running(r.name)]
        [cache] = [r for r in plane.cache_replicas(writer) if plane.processes.running(r.name)]
        view = next(v for v in nexus_json("scale", "show", env=env)[1]["regions"] if v["role"] == writer)
        assert (view["db_read_replicas"], view["cache_replicas_per_shard"]) == (2, 1)
        # Both replicate what the writer takes now.
        marker = uuid.uuid4().hex
        plane.postgres(writer).admin(f"CREATE TABLE scale_probe_{marker} (n int)")
        wait_for(
            lambda: read.admin(f"SELECT to_regclass('scale_probe_{marker}') IS NOT NULL")[0][0] is True,
            "the read replica to replay the write",
        )
        plane.postgres(writer).admin(f"DROP TABLE scale_probe_{marker}")
        token = plane.cache_token() or ""
        with plane.redis(writer).client(token) as client:
            client.set(f"scale-probe-{marker}", "1")
        with cache.client(token) as replica:
            wait_for(lambda: replica.get(f"scale-probe-{marker}") == "1", "the cache replica to have the key")
        # Again: the world has it already.
        code, again, stderr = nexus_json(*args, "--execute", env=env)
        assert code == 0 and {s["status"] for s in again["steps"]} == {"skipped"}, again
    finally:
        down = ("scale", "set", "--region", writer, "--db-read-replicas", "1", "--execute")
        code, _, stderr = nexus_json(*down, env=env)
        # The sandbox starts with no cache replica; `scale set` refuses fewer than one (cache-failover).
        LocalScaling(plane, plane.chart).set_cache_replicas(writer, 0)
    assert code == 0, stderr
    assert plane.replicas_started(writer) == []
    assert not any(r.exists() for r in plane.read_replicas(writer))


def _load(url: str, record: str, rate: float, stop: threading.Event) -> None:
    def client() -> None:
        http, count, began = traffic.Client(url), 0, time.monotonic()
        while not stop.is_set():
            try:
                http.request("GET", f"/api/v1/records/{record}")
            except OSError:
                http.close()
            count += 1
            delay = began + count * 4 / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(4)]
    for thread in threads:
        thread.start()
    stop.wait()
    for thread in threads:
        thread.join()


def test_the_autoscaler_scales_the_writer_out_under_load_and_back(sandbox: dict[str, Any]) -> None:
    """Reads through the edge at three times the per-instance target: a third instance starts, the region's
    load balancer marks it UP, Prometheus discovers it; after the load, the stabilization window, then back
    to the floor."""
    plane = data_plane()
    role, region = plane.writer(), plane.region(plane.writer())
    target = plane.config.autoscaler_target_requests_per_s
    assert target is not None
    before = [i.name for i in plane.slots(role) if plane.processes.record(i.name)]
    edge = traffic.Client(plane.edge_url())
    record = f"autoscaler-{uuid.uuid4().hex[:8]}"
    assert edge.request("PUT", f"/api/v1/records/{record}", {"data": {"test": "autoscaler"}})[0] in (200, 201)
    began, stop = time.time(), threading.Event()
    loader = threading.Thread(target=_load, args=(plane.edge_url(), record, 3 * target, stop))
    loader.start()
    proxy = haproxy.region_proxy(region)
    try:
        grew = wait_for(
            lambda: [
                e for e in autoscaler.events(plane.autoscaler_events)
                if e["role"] == role and e["at"] >= began and e["desired"] > e["current"]
            ],
            "a scale-up decision",
            timeout=60,
        )  # fmt: skip
        added = plane.slots(role)[len(before)]
        wait_for(
            lambda: any(s.backend == proxy and s.server == added.name and s.state == "UP"
                        for s in plane.runtime().servers()),
            f"{added.name} UP in {region}'s load balancer",
            timeout=30,
        )  # fmt: skip
        targets = json.loads((plane.root / "monitoring" / "targets" / "nexus-api.json").read_text())
        assert f"127.0.0.1:{added.port}" in {t for group in targets for t in group["targets"]}
        assert grew[0]["rate"] > target * len(before)
    finally:
        stop.set()
        loader.join()
    stopped = time.time()
    window = plane.config.autoscaler_scale_down_s
    wait_for(
        lambda: [i.name for i in plane.slots(role) if plane.processes.record(i.name)] == before,
        "the region back at its floor",
        timeout=window + 30,
    )
    shrank = [
        e for e in autoscaler.events(plane.autoscaler_events) if e["role"] == role and e["at"] >= stopped
    ]
    assert shrank and shrank[-1]["at"] - stopped >= window - 2  # not before the window
