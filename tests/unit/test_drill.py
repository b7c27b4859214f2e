"""The drill's load generator and ground truth (src/nexus_platform/drill) against a scripted HTTP server that
plays the edge: it stores writes by id and, on cue, refuses them, fails after storing, drops the connection,
or answers like an edge without servers. Real sockets and threads; the outage is the server's, the
accounting the drill's."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from tests.support import free_port

from nexus_platform.drill.load import LoadGenerator, Outcome, Sent, classify, put_record
from nexus_platform.drill.truth import ground_truth, record_exists, recovery, summary, timeline


class Edge:
    """What the fake edge does with the next writes."""

    def __init__(self) -> None:
        self.records: set[str] = set()
        self.mode = "ok"
        self.lock = threading.Lock()


def _handler(edge: Edge) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_: Any) -> None:
            pass

        def _answer(self, status: int, payload: Any, content_type: str = "application/json") -> None:
            body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_PUT(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            record_id = self.path.rsplit("/", 1)[-1]
            mode = edge.mode
            if mode in ("ok", "unavailable_stored", "drop_stored"):
                with edge.lock:
                    edge.records.add(record_id)
            if mode == "ok":
                self._answer(201, {"id": record_id})
            elif mode == "read_only":
                self._answer(503, {"error": "read_only", "detail": "fenced"})
            elif mode in ("unavailable_stored", "unavailable_lost"):
                self._answer(503, {"error": "unavailable", "detail": "database went away"})
            elif mode == "no_server":
                self._answer(503, b"<html>503 Service Unavailable</html>", "text/html")
            elif mode == "drop_stored":
                self.close_connection = True
                self.connection.shutdown(2)
            elif mode == "conflict":
                self._answer(409, {"error": "conflict"})
            elif mode == "hang":
                time.sleep(0.6)  # a partitioned path: the answer comes after the client's timeout
                self._answer(504, {"error": "timeout"})

        def do_GET(self) -> None:
            record_id = self.path.rsplit("/", 1)[-1]
            with edge.lock:
                found = record_id in edge.records
            self._answer(200 if found else 404, {"id": record_id} if found else {"error": "not_found"})

    return Handler


@pytest.fixture
def edge() -> Iterator[tuple[Edge, int]]:
    state = Edge()
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, port
    server.shutdown()
    server.server_close()


def test_answers_are_classified_by_what_they_mean_for_the_write() -> None:
    assert classify(201, b"{}")[0] is Outcome.ACKNOWLEDGED
    assert classify(200, b"{}")[0] is Outcome.ACKNOWLEDGED
    assert classify(503, b'{"error": "read_only"}')[0] is Outcome.NOT_STORED
    assert classify(503, b'{"error": "not_ready"}')[0] is Outcome.NOT_STORED
    assert classify(503, b"<html>no server</html>")[0] is Outcome.NOT_STORED
    assert classify(503, b'{"error": "unavailable"}')[0] is Outcome.UNKNOWN
    assert classify(502, b"bad gateway")[0] is Outcome.UNKNOWN
    assert classify(504, b"")[0] is Outcome.UNKNOWN
    assert classify(409, b'{"error": "conflict"}')[0] is Outcome.REJECTED


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("ok", Outcome.ACKNOWLEDGED),
        ("read_only", Outcome.NOT_STORED),
        ("no_server", Outcome.NOT_STORED),
        ("unavailable_stored", Outcome.UNKNOWN),
        ("drop_stored", Outcome.UNKNOWN),
        ("conflict", Outcome.REJECTED),
    ],
)
def test_a_write_is_logged_with_its_outcome(edge: tuple[Edge, int], mode: str, expected: Outcome) -> None:
    state, port = edge
    state.mode = mode
    sent = put_record("127.0.0.1", port, f"w-{mode}")
    assert sent.outcome is expected, sent
    assert sent.answered >= sent.sent


def test_a_refused_connection_stored_nothing() -> None:
    sent = put_record("127.0.0.1", free_port(), "nobody-listens")
    assert sent.outcome is Outcome.NOT_STORED and sent.status is None


def test_a_client_whose_requests_hung_does_not_burst_afterwards(edge: tuple[Edge, int]) -> None:
    """Missed slots are dropped and counted, not sent all at once when the path answers again."""
    state, port = edge
    load = LoadGenerator("127.0.0.1", port, rate=40, clients=2, timeout=0.5)
    load.start()
    time.sleep(0.3)
    state.mode = "hang"
    time.sleep(1.2)
    state.mode = "ok"
    time.sleep(0.5)
    log = load.stop()
    assert load.slips > 0
    assert any(s.outcome is Outcome.UNKNOWN for s in log)  # timed out after sending
    per_bucket = timeline(log, load.started or 0.0, 0.1)
    busiest = max(sum(column) for column in zip(*per_bucket.values(), strict=True))
    # 40/s is 4 per 100 ms; a client back from a hang may add its one write at once, never the missed ones.
    assert busiest <= 4 + 2, per_bucket


def test_an_outage_is_accounted_from_the_ground_truth(edge: tuple[Edge, int]) -> None:
    """Writes flow, the edge fails in every way for a while, then recovers. Afterwards one acknowledged
    write is deleted behind the drill's back (a loss it must find), every unknown outcome is settled (stored,
    or not and then sent again), and the RTO runs from the fault to the first acknowledgement after writes
    began failing."""
    state, port = edge
    load = LoadGenerator("127.0.0.1", port, rate=100, clients=4)
    load.start()
    time.sleep(0.3)
    fault = time.monotonic()
    for mode in ("drop_stored", "unavailable_lost", "unavailable_stored", "read_only", "no_server"):
        state.mode = mode
        time.sleep(0.15)
    state.mode = "ok"
    time.sleep(0.3)
    log = load.stop()

    outcomes = {s.outcome for s in log}
    assert {Outcome.ACKNOWLEDGED, Outcome.UNKNOWN, Outcome.NOT_STORED} <= outcomes
    assert len({s.id for s in log}) == len(log)  # client-side ids, never reused
    acknowledged = [s for s in log if s.outcome is Outcome.ACKNOWLEDGED]
    victim = next(s for s in acknowledged if s.sent < fault)
    state.records.discard(victim.id)

    truth = ground_truth(
        log,
        exists=lambda record_id: record_exists("127.0.0.1", port, record_id),
        resend=lambda record_id: put_record("127.0.0.1", port, record_id),
        fault_at=fault,
    )
    assert truth.lost == (victim.id,) and truth.lost_window == 0.0
    assert truth.requests == len(log) and truth.acknowledged == len(acknowledged)
    settled = {r.outcome for r in truth.unknown}
    assert settled <= {"stored", "not_stored"} and truth.unresolved == 0
    assert "not_stored" in settled  # the unavailable_lost writes, sent again
    assert all(record_exists("127.0.0.1", port, r.id) for r in truth.unknown)
    assert truth.rto is not None and truth.first_failure is not None
    assert 0 <= truth.first_failure < truth.rto
    first_ack_after = min(s.answered for s in acknowledged if s.sent >= fault + truth.first_failure)
    assert truth.rto == pytest.approx(first_ack_after - fault)


def test_no_failure_after_the_fault_is_no_outage(edge: tuple[Edge, int]) -> None:
    _, port = edge
    before = time.monotonic()
    log = [put_record("127.0.0.1", port, f"calm-{i}") for i in range(3)]
    assert recovery(log, before) == (0.0, None)


def test_summary_and_timeline() -> None:
    assert summary([]) is None
    assert summary([2.0]) == {"min": 2.0, "median": 2.0, "p95": 2.0, "max": 2.0}
    stats = summary([1.0, 2.0, 3.0, 4.0, 5.0])
    assert stats is not None
    assert (stats["min"], stats["median"], stats["max"]) == (1.0, 3.0, 5.0)
    assert 4.0 < stats["p95"] <= 5.0
    log = [
        Sent("a", 0, 10.00, 10.01, 201, Outcome.ACKNOWLEDGED),
        Sent("b", 0, 10.05, 10.06, 503, Outcome.NOT_STORED),
        Sent("c", 1, 10.25, 10.30, None, Outcome.UNKNOWN),
    ]
    counts = timeline(log, 10.0, 0.1)
    assert counts["acknowledged"] == [1, 0, 0] and counts["not_stored"] == [1, 0, 0]
    assert counts["unknown"] == [0, 0, 1]


def test_bad_load_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="rate"):
        LoadGenerator("127.0.0.1", 1, rate=0)
