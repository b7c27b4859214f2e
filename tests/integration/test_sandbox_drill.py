"""`nexus dr drill` on the running sandbox (tests/integration/conftest.py): one short run, asserting
correctness only (the figures are `make bench-drill`'s): every unknown outcome settled, the topology
restored, no acknowledged write lost where replication is synchronous, the report written with every
request; bad input in one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.integration.conftest import nexus, nexus_json

from nexus_platform import model

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "args",
    [("--runs", "0"), ("--fault", "meteor"), ("--rate", "5000")],
)
def test_bad_drill_input_is_one_line(sandbox: dict[str, Any], args: tuple[str, ...]) -> None:
    result = nexus("dr", "drill", *args, env=sandbox["env"])
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_one_drill_run_accounts_for_every_write(sandbox: dict[str, Any]) -> None:
    (sandbox["state"] / "dr" / "watch-sandbox.json").unlink(missing_ok=True)
    code, report, stderr = nexus_json(
        "dr", "drill", "--runs", "1", "--rate", "30", env=sandbox["env"], timeout=900
    )
    assert code == 0, stderr[-3000:]
    (run,) = report["runs"]
    truth = run["truth"]
    print(
        f"\ndrill: RTO from the fault {truth['rto']:.2f} s (watch: {run['watch_rto_seconds']} s), "
        f"{truth['acknowledged']} acknowledged, {len(truth['lost'])} lost, {len(truth['unknown'])} unknown, "
        f"failback {run['failback_seconds']} s"
    )
    assert truth["unresolved"] == 0 and truth["rejected"] == 0
    assert truth["acknowledged"] > 0 and truth["rto"] is not None and truth["rto"] > 0
    if model.sandbox_config().replication_mode == "sync":
        assert truth["lost"] == []
    assert run["topology_restored"] is True
    assert {"fence-primary", "promote-dr-database", "verify"} <= set(run["phases"])
    saved = json.loads(Path(report["report"]).read_text())
    (detail,) = saved["runs"]
    assert len(detail["requests"]) == truth["requests"]
    assert {r["outcome"] for r in detail["requests"]} <= {"acknowledged", "not_stored", "unknown", "rejected"}
    status = json.loads(nexus("status", "-o", "json", env=sandbox["env"]).stdout)
    assert status["regions"]["primary"]["database"]["role"] == "primary"
