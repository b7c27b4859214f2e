"""`nexus scale set`'s rules, the tfvars edit that makes a change permanent, and the sandbox autoscaler's
algorithm (Kubernetes' HPA rule and scale-down stabilization) driven with a fake load balancer counter."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from tests.support import ROOT

from nexus_platform import model
from nexus_platform.errors import InputError
from nexus_platform.runbooks import scaling
from nexus_platform.terraform import tfvars
from nexus_platform.world.base import NodeGroupSize, Quotas, Scale
from nexus_platform.world.local import api
from nexus_platform.world.local import autoscaler as hpa

CHART = ROOT / "helm" / "nexus"
NO_QUOTAS = Quotas(None, None, None, None)


def _view(role: str, *, desired: int = 3, api: int = 3, group_desired: int = 3) -> Scale:
    return Scale(
        role=role,
        region={"primary": "us-east-1", "dr": "eu-west-1"}[role],
        node_groups=(NodeGroupSize("general", 1, group_desired, 10),),
        api_ready=api,
        api_desired=api,
        api_min=2,
        api_max=10,
        db_read_replicas=1 if role == "primary" else 0,
        cache_replicas_per_shard=1,
    )


VIEWS = {"primary": _view("primary", api=4, group_desired=3), "dr": _view("dr", api=2, group_desired=2)}


def _refused(request: scaling.Request, quotas: Quotas = NO_QUOTAS, writer: str = "primary") -> list[str]:
    return scaling.refusals(request, VIEWS, writer, quotas)


def test_parsing_is_strict_and_says_the_form() -> None:
    assert scaling.parse_nodes("general=1:2:5") == scaling.Nodes("general", 1, 2, 5)
    assert scaling.parse_nodes("1:2:5") == scaling.Nodes(None, 1, 2, 5)
    assert scaling.parse_pair(" 3:12 ") == (3, 12)
    for bad in ("1:2", "a=1:2:x", "-1:2:3"):
        with pytest.raises(InputError, match=r"MIN:DESIRED:MAX"):
            scaling.parse_nodes(bad)
    with pytest.raises(InputError, match="MIN:MAX"):
        scaling.parse_pair("3")


@pytest.mark.parametrize(
    ("request_", "rule"),
    [
        (scaling.Request("primary", nodes=scaling.Nodes(None, 5, 3, 10)), "bounds-ordered"),
        (scaling.Request("primary", api=(6, 4)), "bounds-ordered"),
        (scaling.Request("primary", nodes=scaling.Nodes("general", 0, 0, 0)), "writer-not-to-zero"),
        (scaling.Request("primary", api=(0, 4)), "writer-not-to-zero"),
        (scaling.Request("primary", db_read_replicas=0), "dr-replica-kept"),
        (scaling.Request("dr", db_read_replicas=2), "dr-replica-kept"),
        (scaling.Request("dr", api=(0, 6)), "warm-standby-floor"),
        (scaling.Request("dr", api=(1, 3)), "warm-standby-floor"),  # the writer runs 4
        (scaling.Request("dr", nodes=scaling.Nodes(None, 1, 1, 2)), "warm-standby-floor"),  # it runs 3 nodes
        (scaling.Request("dr", nodes=scaling.Nodes(None, 0, 1, 10)), "warm-standby-floor"),
        (scaling.Request("primary", cache_replicas=0), "cache-failover"),
    ],
)
def test_each_rule_refuses_by_name(request_: scaling.Request, rule: str) -> None:
    refused = _refused(request_)
    assert refused and refused[0].startswith(f"rule {rule}: "), refused


def test_what_keeps_the_rules_passes() -> None:
    for request in (
        scaling.Request("primary", nodes=scaling.Nodes(None, 3, 4, 12), api=(3, 12)),
        scaling.Request("primary", db_read_replicas=2, cache_replicas=2),
        scaling.Request("dr", api=(1, 4), nodes=scaling.Nodes("general", 1, 1, 3)),
    ):
        assert _refused(request) == []


def test_the_standby_is_judged_by_who_writes_now() -> None:
    """After a failover the DR region writes: the old primary is the standby, the rules move with it."""
    assert _refused(scaling.Request("dr", api=(0, 4)), writer="dr")[0].startswith("rule writer-not-to-zero")
    assert _refused(scaling.Request("primary", db_read_replicas=2), writer="dr")[0].startswith(
        "rule dr-replica-kept"
    )


def test_quotas_are_enforced_where_known() -> None:
    quotas = Quotas(api_replicas=4, node_group_size=450, db_read_replicas=15, cache_replicas_per_shard=5)
    for request in (
        scaling.Request("primary", api=(2, 5)),
        scaling.Request("primary", nodes=scaling.Nodes(None, 3, 3, 451)),
        scaling.Request("primary", db_read_replicas=16),
        scaling.Request("primary", cache_replicas=6),
    ):
        assert [r for r in _refused(request, quotas) if r.startswith("rule quota: ")], request


def test_a_node_group_must_be_named_where_there_are_several_or_exist() -> None:
    groups = (*VIEWS["primary"].node_groups, NodeGroupSize("spot", 0, 0, 5))
    views = {**VIEWS, "primary": replace(VIEWS["primary"], node_groups=groups)}
    with pytest.raises(InputError, match="2 node groups: name one"):
        scaling.refusals(
            scaling.Request("primary", nodes=scaling.Nodes(None, 1, 1, 2)), views, "primary", NO_QUOTAS
        )
    with pytest.raises(InputError, match="no node group 'gpu'"):
        scaling.refusals(
            scaling.Request("primary", nodes=scaling.Nodes("gpu", 1, 1, 2)), views, "primary", NO_QUOTAS
        )
    no_groups = {role: replace(v, node_groups=()) for role, v in VIEWS.items()}
    with pytest.raises(InputError, match="no node groups"):
        scaling.refusals(
            scaling.Request("primary", nodes=scaling.Nodes(None, 1, 1, 2)), no_groups, "primary", NO_QUOTAS
        )


def test_a_request_survives_the_journal() -> None:
    request = scaling.Request("dr", nodes=scaling.Nodes("general", 1, 2, 3), api=(2, 5), cache_replicas=2)
    assert scaling.Request.from_params(request.as_params()) == request


def test_the_permanent_edits_name_the_tfvars_and_the_values(tmp_path: Path) -> None:
    request = scaling.Request("dr", nodes=scaling.Nodes("general", 1, 2, 8), api=(2, 6), cache_replicas=2)
    edits = scaling.permanent(
        request, "general", "terraform/aws/production.tfvars", "helm/nexus/values-dr.yaml"
    )
    lines = [e.line() for e in edits]
    assert "terraform/aws/production.tfvars: dr_node_groups.general.max_size = 8" in lines
    assert any(line.startswith("helm/nexus/values-dr.yaml: autoscaling.maxReplicas = 6") for line in lines)
    assert any(
        line.startswith("terraform/aws/production.tfvars: cache.num_cache_clusters = 3") for line in lines
    )

    # --write-tfvars: exactly those numbers change, the rest of the file stays byte for byte.
    path = tmp_path / "production.tfvars"
    shutil.copy(ROOT / "terraform" / "aws" / "production.tfvars", path)
    before = path.read_text()
    wanted = {e.keys: e.value for e in edits if e.file.endswith(".tfvars")}
    done = tfvars.set_numbers(path, wanted)
    assert done["dr_node_groups.general.max_size"] == (10, 8)
    assert done["cache.num_cache_clusters"] == (2, 3)
    parsed = model.load_tfvars(path)
    assert parsed["dr_node_groups"]["general"]["min_size"] == 1
    assert parsed["dr_node_groups"]["general"]["max_size"] == 8
    assert parsed["primary_node_groups"]["general"]["max_size"] == 10  # the other region's group: untouched
    assert parsed["cache"]["num_cache_clusters"] == 3
    changed = [
        (a, b) for a, b in zip(before.splitlines(), path.read_text().splitlines(), strict=True) if a != b
    ]
    assert len(changed) == 2  # max_size, num_cache_clusters (min and desired were already 1 and 2)
    with pytest.raises(InputError, match=r"no number at dr_node_groups\.gpu\.max_size"):
        tfvars.set_numbers(path, {("dr_node_groups", "gpu", "max_size"): 3})


# --- the sandbox's autoscaler -------------------------------------------------------------------------------


def test_the_hpa_rule() -> None:
    bounds = hpa.Bounds(2, 4)
    assert hpa.recommend(0, 2, 400, bounds) == 2  # idle: the floor
    assert hpa.recommend(1000, 2, 400, bounds) == 3  # ceil(1000 / 400)
    assert hpa.recommend(5000, 2, 400, bounds) == 4  # the ceiling
    assert hpa.recommend(850, 2, 400, bounds) == 2  # 425 per instance: within the 10 % tolerance


def test_scale_down_waits_for_the_window_scale_up_does_not() -> None:
    stable = hpa.Stabilizer(window=30)
    assert stable(0, 4, 2) == 4  # up at once
    assert stable(10, 2, 4) == 4  # down: the window still holds a 4
    assert stable(29, 2, 4) == 4
    assert stable(41, 2, 4) == 2  # the 4 is older than 30 s


def test_the_sandbox_holds_the_charts_bounds_to_its_ports() -> None:
    chart = api.chart_values(CHART, "primary")["autoscaling"]
    got = hpa.settings(CHART, "primary", baseline=2, slots=4, override=None)
    assert got.chart == hpa.Bounds(chart["minReplicas"], chart["maxReplicas"])
    assert got.effective == hpa.Bounds(min(chart["minReplicas"], 2), min(chart["maxReplicas"], 4))
    assert got.target_per_instance == float(chart["requestRate"]["targetAverageValue"])
    # The floor is the baseline whatever the bounds say (the autoscaler moves only the spares).
    assert hpa.settings(CHART, "dr", baseline=2, slots=4, override=(1, 3)).effective == hpa.Bounds(2, 3)


class FakeRuntime:
    def __init__(self) -> None:
        self.total = 0

    def requests_total(self, proxy: str) -> int:
        return self.total


class FakePlane:
    chart = CHART
    config = SimpleNamespace(autoscaler_target_requests_per_s=None)  # the chart's target: 400/s

    def __init__(self) -> None:
        self.runtime_ = FakeRuntime()
        self.bounds: dict[str, tuple[int, int]] = {}

    def runtime(self) -> FakeRuntime:
        return self.runtime_

    def region(self, role: str) -> str:
        return {"primary": "us-east-1", "dr": "eu-west-1"}[role]

    def slots(self, role: str) -> list[api.Instance]:
        return [
            api.Instance(f"{self.region(role)}.api-{n}", self.region(role), role, 1000 + n)
            for n in range(1, 5)
        ]

    def instances(self, role: str) -> list[api.Instance]:
        return self.slots(role)[:2]

    def api_bounds(self, role: str) -> tuple[int, int] | None:
        return self.bounds.get(role)


class FakeCompute:
    def __init__(self, plane: FakePlane) -> None:
        self.running = {role: plane.slots(role)[:2] for role in model.ROLES}

    def wanted(self, role: str) -> list[api.Instance]:
        return list(self.running[role])

    def start(self, role: str, instances: list[api.Instance]) -> None:
        self.running[role] += instances

    def stop(self, instances: list[api.Instance]) -> None:
        for role in self.running:
            self.running[role] = [i for i in self.running[role] if i not in instances]


def test_the_loop_follows_the_load_and_stands_aside(tmp_path: Path) -> None:
    plane, clock = FakePlane(), [0.0]
    compute = FakeCompute(plane)
    busy: list[str | None] = [None]
    scaler = hpa.Autoscaler(
        plane,
        compute,
        window=30,
        busy=lambda: busy[0],
        events=tmp_path / "events.jsonl",
        clock=lambda: clock[0],
    )

    def second(requests: int) -> list[Any]:
        clock[0] += 1
        plane.runtime_.total += requests
        return scaler.tick()

    assert second(0) == []  # the first look only reads the counter
    decisions = second(1500)  # 1500 requests/s at both regions' balancer (one counter): ceil(1500/400) = 4
    assert [(d.role, d.current, d.desired) for d in decisions] == [("primary", 2, 4), ("dr", 2, 4)]
    assert [i.name for i in compute.wanted("primary")] == [f"us-east-1.api-{n}" for n in range(1, 5)]
    assert len(hpa.events(tmp_path / "events.jsonl")) == 2

    for _ in range(30):
        assert second(0) == []  # idle, but the window (30 s) still holds the 4
    assert [(d.current, d.desired) for d in second(0)] == [(4, 2), (4, 2)]
    assert [i.name for i in compute.wanted("dr")] == ["eu-west-1.api-1", "eu-west-1.api-2"]

    busy[0] = "20261205T120000Z-abc123"  # a runbook holds the lock: hands off
    assert second(5000) == []
    busy[0] = None
    compute.running["dr"] = []  # a failover scaled the region to zero: an HPA leaves it there
    assert [d.role for d in second(5000)] == ["primary"]
    assert compute.wanted("dr") == []

    # A runbook left one baseline instance: the autoscaler adds spares under load, never a baseline one, and
    # takes only its spares away again.
    compute.running["dr"] = plane.slots("dr")[:1]
    assert [(d.role, d.current, d.desired) for d in second(5000) if d.role == "dr"] == [("dr", 1, 3)]
    assert [i.name for i in compute.wanted("dr")] == ["eu-west-1.api-1", "eu-west-1.api-3", "eu-west-1.api-4"]
