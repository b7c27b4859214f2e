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

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--runs", "0"), "--runs must be at least 1"),
        (("--fault", "meteor"), "unknown fault 'meteor'"),
        (("--mode", "eventual"), "unknown mode 'eventual'"),
        (("--rate", "5000"), "no steady load above it on this machine"),
    ],
)
def test_bad_drill_input_is_one_line(sandbox: dict[str, Any], args: tuple[str, ...], expected: str) -> None:
    result = nexus("dr", "drill", *args, env=sandbox["env"])
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert expected in result.stderr


def _watches() -> list[str]:
    """Command lines of `nexus dr watch` processes still running."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"dr" in argv and b"watch" in argv:
            found.append(" ".join(a.decode(errors="replace") for a in argv))
    return found


@pytest.mark.parametrize(("mode", "fault"), [("async", "kill"), ("sync", "partition")])
def test_one_drill_run_accounts_for_every_write(sandbox: dict[str, Any], mode: str, fault: str) -> None:
    """One run per mode (each with one of the faults): correctness only (the figures: `make bench-drill`)."""
    (sandbox["state"] / "dr" / "watch-sandbox.json").unlink(missing_ok=True)
    mode_before = json.loads(nexus("status", "-o", "json", env=sandbox["env"]).stdout)["mode"]
    code, report, stderr = nexus_json(
        *("dr", "drill", "--runs", "1", "--rate", "30", "--mode", mode, "--fault", fault),
        # Waiting for the alert costs ~20 s of the suite per run: one run checks it.
        *(("--alert-wait", "0") if fault == "partition" else ()),
        env=sandbox["env"],
        timeout=900,
    )
    assert code == 0, stderr[-3000:]
    (run,) = report["runs"]
    truth = run["truth"]
    print(
        f"\ndrill ({mode}, {fault}): RTO from the fault {truth['rto']:.2f} s "
        f"(watch: {run['watch_rto_seconds']} s), "
        f"{truth['acknowledged']} acknowledged, {len(truth['lost'])} lost, {len(truth['unknown'])} unknown, "
        f"split brain {run['split_brain']}, alerts {[(a['name'], a['fired_after']) for a in run['alerts']]}, "
        f"failback {run['failback_seconds']} s"
    )
    assert (run["mode"], run["fault"]) == (mode, fault)
    assert truth["unresolved"] == 0 and truth["rejected"] == 0
    assert truth["acknowledged"] > 0 and truth["rto"] is not None and truth["rto"] > 0
    if mode == "sync":
        assert truth["lost"] == []
    assert run["split_brain"] == 0
    if fault == "partition":
        assert run["direct"]["requests"] > 0  # a client kept writing to the old primary directly
    if fault == "kill":
        assert "NexusRegionDown" in {a["name"] for a in run["alerts"]}
    assert run["topology_restored"] is True
    assert {"detect", "fence", "promote", "verify"} <= set(run["phases"])
    assert Path(run["picture"]).read_bytes()[:4] == b"\x89PNG"
    saved = json.loads(Path(report["report"]).read_text())
    (detail,) = saved["runs"]
    assert len(detail["requests"]) == truth["requests"]
    assert {r["outcome"] for r in detail["requests"]} <= {"acknowledged", "not_stored", "unknown", "rejected"}
    status = json.loads(nexus("status", "-o", "json", env=sandbox["env"]).stdout)
    assert status["regions"]["primary"]["database"]["role"] == "primary"
    assert status["mode"] == mode_before  # the drill puts the sandbox's mode back
    assert _watches() == []  # no process left behind


def test_a_planned_switchover_and_back_lose_nothing(sandbox: dict[str, Any]) -> None:
    """The drill's planned fault: `failover --planned` and `failback` under load; the refused windows are
    `make bench-drill`'s figures, here only that they ended and nothing was lost."""
    code, report, stderr = nexus_json(
        *("dr", "drill", "--runs", "1", "--rate", "30", "--fault", "planned", "--alert-wait", "0"),
        env=sandbox["env"],
        timeout=900,
    )
    assert code == 0, stderr[-3000:]
    (run,) = report["runs"]
    print(f"\nplanned: writes refused {run['refused_seconds']} s, failback {run['failback_seconds']} s")
    assert run["truth"]["lost"] == [] and run["truth"]["unresolved"] == 0
    assert None not in run["refused_seconds"].values()
    assert run["topology_restored"] is True
