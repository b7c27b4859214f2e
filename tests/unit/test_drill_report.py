"""The drill's report pieces that need no sandbox: the phases and marks read from the watch's failover
report, the direct client's split-brain accounting, the alerts read from Alertmanager, the timeline picture
(a real PNG through matplotlib) and the partition's black hole (a real socket)."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from nexus_platform.drill import alerts, faults, picture
from nexus_platform.drill.load import Outcome, Sent
from nexus_platform.drill.run import direct_outcome, refused_window, timings


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


def test_phases_and_marks_come_from_the_watchs_report_in_seconds_from_the_fault() -> None:
    offset = 1_800_000_000.0  # wall - monotonic
    fault = 100.0  # monotonic
    report = {
        "detected_at": offset + 100.4,
        "started": _iso(offset + 103.0),
        "steps": [
            {"name": "readiness", "ended": _iso(offset + 103.05), "duration": 0.05},
            {"name": "fence-primary", "ended": _iso(offset + 103.1), "duration": 0.05},
            {"name": "promote-dr-database", "ended": _iso(offset + 103.3), "duration": 0.2},
            {"name": "verify", "ended": _iso(offset + 103.9), "duration": 0.5},
        ],
    }
    marks, phases = timings(report, fault, offset)
    assert marks == {"first failed check": 0.4, "decided": 3.0, "fenced": 3.1, "promoted": 3.3}
    assert phases["detect"] == 3.0 and phases["fence"] == 0.05 and phases["promote"] == 0.2
    assert phases["verify"] == 0.5 and phases["cache"] is None  # a step the report lacks


def _sent(record_id: str, at: float, outcome: Outcome) -> Sent:
    return Sent(record_id, 0, at, at + 0.01, 201 if outcome is Outcome.ACKNOWLEDGED else 503, outcome)


def test_writes_the_old_primary_acknowledges_after_its_fence_are_split_brain() -> None:
    log = [
        _sent("before", 9.0, Outcome.ACKNOWLEDGED),  # before the partition: replicated, not counted
        _sent("diverged-1", 10.5, Outcome.ACKNOWLEDGED),
        _sent("diverged-2", 11.0, Outcome.ACKNOWLEDGED),
        _sent("refused", 12.5, Outcome.NOT_STORED),
        _sent("split", 13.0, Outcome.ACKNOWLEDGED),
    ]
    direct = direct_outcome(log, fault_at=10.0, fence_end=12.0)
    assert (direct.requests, direct.acknowledged_after_fault) == (5, 3)
    assert (direct.diverged, direct.split_brain) == (2, 1)
    # Without a fence time (the run never fenced), nothing is called split brain, everything diverged.
    assert direct_outcome(log, 10.0, None).split_brain == 0


def test_a_switchover_is_timed_by_the_writes_it_refused() -> None:
    log = [
        _sent("a", 9.0, Outcome.ACKNOWLEDGED),
        _sent("b", 10.2, Outcome.ACKNOWLEDGED),  # the runbook is still checking readiness
        _sent("c", 10.5, Outcome.NOT_STORED),  # fenced
        _sent("d", 10.7, Outcome.UNKNOWN),
        _sent("e", 10.9, Outcome.ACKNOWLEDGED),  # answered at 10.91
    ]
    assert refused_window(log, since=10.0) == pytest.approx(0.41)
    assert refused_window(log[:2], since=10.0) == 0.0  # nothing refused
    assert refused_window(log[:4], since=10.0) is None  # never recovered


def test_alerts_fired_after_the_fault_are_read_until_the_wanted_one_shows() -> None:
    fault = 1_000.0
    answers: list[list[dict[str, object]]] = [
        [],
        [{"labels": {"alertname": "Old"}, "startsAt": _iso(fault - 60)}],
        [
            {"labels": {"alertname": "Old"}, "startsAt": _iso(fault - 60)},
            {
                "labels": {"alertname": "NexusRegionDown", "region": "us-east-1"},
                "startsAt": _iso(fault + 19.5),
            },
        ],
    ]
    now = [fault + 10]

    def read() -> list[dict[str, object]]:
        if len(answers) == 3:
            answers.pop(0)
            raise OSError("connection refused")  # an Alertmanager that does not answer is read again
        return answers.pop(0)

    def sleep(seconds: float) -> None:
        now[0] += seconds

    fired = alerts.watch_for(
        read, fault_wall=fault, wanted="NexusRegionDown", within=60, poll=5, clock=lambda: now[0], sleep=sleep
    )
    assert [(f.name, f.fired_after, f.seen_after, f.labels["region"]) for f in fired] == [
        ("NexusRegionDown", 19.5, 20.0, "us-east-1")
    ]


def test_alerts_stop_being_read_after_the_wait() -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    fired = alerts.watch_for(
        list, fault_wall=0.0, wanted="NexusRegionDown", within=3, poll=1, clock=lambda: now[0], sleep=sleep
    )
    assert fired == [] and now[0] == 3


@pytest.mark.skipif(not picture.available(), reason="matplotlib (the drill extra) is not installed")
def test_the_timeline_picture_is_a_png(tmp_path: Path) -> None:
    log = [
        _sent(f"w{i}", i * 0.05, Outcome.ACKNOWLEDGED if i < 40 or i > 80 else Outcome.NOT_STORED)
        for i in range(120)
    ]
    path = picture.draw(
        tmp_path / "run1.png",
        log,
        start=0.0,
        marks={"fault": 2.0, "decided": 4.0, "promoted": None, "first success": 4.1},
        title="test",
    )
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_the_black_hole_accepts_nothing_so_a_request_times_out() -> None:
    hole = faults.black_hole()
    try:
        client = socket.create_connection(hole.getsockname(), timeout=0.3)
        client.sendall(b"GET /readyz HTTP/1.0\r\n\r\n")
        began = time.monotonic()
        with pytest.raises(TimeoutError):
            client.recv(1)
        assert time.monotonic() - began >= 0.25
        client.close()
    finally:
        hole.close()


def test_an_acknowledged_write_that_cannot_be_read_back_is_unverified_not_lost() -> None:
    from nexus_platform.drill.truth import ground_truth  # noqa: PLC0415

    log = [_sent("kept", 1.0, Outcome.ACKNOWLEDGED), _sent("unreadable", 1.1, Outcome.ACKNOWLEDGED)]

    def exists(record_id: str) -> bool:
        if record_id == "unreadable":
            raise OSError("reading unreadable answered HTTP 503")
        return True

    truth = ground_truth(log, exists=exists, resend=lambda _: log[0], fault_at=0.5)
    assert truth.lost == () and truth.unverified == ("unreadable",)


def test_a_failed_read_back_is_tried_again(monkeypatch: pytest.MonkeyPatch) -> None:
    from nexus_platform.drill import truth  # noqa: PLC0415

    failures = iter([OSError("503"), OSError("reset")])

    def flaky(host: str, port: int, record_id: str, **_: object) -> bool:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return True

    monkeypatch.setattr(truth, "record_exists", flaky)
    assert truth.reader("127.0.0.1", 1, attempts=3)("id") is True
