"""The sandbox's compute (world/local/world.py LocalCompute): how long a stopping nexus-api instance may
drain, and whether the scale-down waits for it, by whether its region's database is fenced."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from nexus_platform.world.local import world
from nexus_platform.world.local.api import Instance


@dataclass
class Processes:
    graces: dict[str, float] = field(default_factory=dict)

    def stop(self, name: str, grace: float) -> bool:
        self.graces[name] = grace
        return True


@dataclass
class Postgres:
    fenced: bool

    def fenced_on_disk(self) -> bool:
        return self.fenced


@dataclass
class Plane:
    fenced: dict[str, bool]
    processes: Processes = field(default_factory=Processes)
    changed: int = 0

    def postgres(self, role: str) -> Postgres:
        return Postgres(self.fenced[role])

    def api_targets_changed(self) -> None:
        self.changed += 1


def _instance(role: str, n: int) -> Instance:
    region = {"primary": "us-east-1", "dr": "eu-west-1"}[role]
    return Instance(f"{region}.api-{n}", region, role, 18080 + n)


@pytest.mark.parametrize(
    ("fenced", "grace"),
    [(True, world.FENCED_STOP_GRACE_SECONDS), (False, world.STOP_GRACE_SECONDS)],
    ids=["database-fenced", "database-serving"],
)
def test_a_stopping_instance_drains_only_while_its_database_can_serve(fenced: bool, grace: float) -> None:
    plane = Plane({"primary": fenced, "dr": False})
    compute = world.LocalCompute(plane, clients=lambda region: None)  # type: ignore[arg-type]
    instances: list[Any] = [_instance("primary", 1), _instance("primary", 2), _instance("dr", 1)]
    compute.stop(instances)
    assert plane.processes.graces == {
        "us-east-1.api-1": grace,
        "us-east-1.api-2": grace,
        "eu-west-1.api-1": world.STOP_GRACE_SECONDS,
    }
    assert plane.changed == 1
    assert world.FENCED_STOP_GRACE_SECONDS < world.STOP_GRACE_SECONDS


def test_instances_whose_database_is_fenced_stop_in_the_background() -> None:
    """Nothing waits for them (a Deployment's scale-down returns before its pods end): the call returns while
    their stops still run, and they all end, with one update of the scrape targets."""
    release = threading.Event()

    class Slow(Processes):
        def stop(self, name: str, grace: float) -> bool:
            assert release.wait(10)
            return super().stop(name, grace)

    plane = Plane({"primary": True, "dr": False}, processes=Slow())
    compute = world.LocalCompute(plane, clients=lambda region: None)  # type: ignore[arg-type]
    compute.stop([_instance("primary", 1), _instance("primary", 2)])
    assert plane.processes.graces == {} and plane.changed == 0
    release.set()
    deadline = time.monotonic() + 10
    while plane.changed == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert plane.processes.graces == {
        "us-east-1.api-1": world.FENCED_STOP_GRACE_SECONDS,
        "us-east-1.api-2": world.FENCED_STOP_GRACE_SECONDS,
    }
    assert plane.changed == 1
