"""`nexus scale show` and `./scripts/scaling.sh` on the running sandbox: what each region runs, read from the
real processes, against the chart's autoscaler bounds."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from tests.integration.conftest import nexus_json
from tests.integration.sandboxlib import data_plane

from nexus_platform import model
from nexus_platform.world.local import api

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "scaling.sh"


def test_scale_show_reads_the_running_sandbox(sandbox: dict[str, Any]) -> None:
    code, shown, stderr = nexus_json("scale", "show", env=sandbox["env"])
    assert code == 0, stderr
    assert shown["world"] == "sandbox"
    plane = data_plane()
    views = {view["role"]: view for view in shown["regions"]}
    for role in model.ROLES:
        view = views[role]
        hpa = api.chart_values(plane.chart, role)["autoscaling"]
        assert (view["api_min"], view["api_max"]) == (hpa["minReplicas"], hpa["maxReplicas"])
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
