"""A steady write load through the global edge, every request logged with its outcome class.

Each of `clients` threads sends `PUT /api/v1/records/{id}` (the id chosen by the client, so a write can be
sent again and read back) on its own schedule, `rate / clients` per second, and logs: the id, when it was
sent and when the answer came (monotonic clock), the HTTP status, and what the answer means for the write:

  acknowledged  200/201: the write is stored; losing it afterwards is data loss (RPO).
  not_stored    refused before it could be stored: the connection was refused, the edge had no server (503
                without nexus-api's JSON), or nexus-api refused it (503 read_only / not_ready).
  unknown       it may or may not have been stored: an error after the request was sent (reset, timeout),
                the edge's 502/504, nexus-api's 503 "unavailable" (the database went away mid-write) or
                another 5xx. Only the ground truth (reading the id back, or sending it again) settles it.
  rejected      a 4xx: the request itself was wrong (a 409 would mean an id was reused): a drill bug, not an
                outage.

A client whose schedule slips (a request that hung until its timeout, or a machine that cannot keep up)
sends the next write at once and drops the slots it missed, counting the slip: a burst of catch-up writes
after an outage would be load no real client sends, and the achieved rate shows what was missed.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

RECORDS_PATH = "/api/v1/records/"
#: nexus-api's 503 error codes that mean "refused, nothing stored" (services/nexus-api api.py).
REFUSALS = frozenset({"read_only", "not_ready"})


class Outcome(StrEnum):
    ACKNOWLEDGED = "acknowledged"
    NOT_STORED = "not_stored"
    UNKNOWN = "unknown"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Sent:
    """One request and its answer (times on the monotonic clock)."""

    id: str
    client: int
    sent: float
    answered: float
    status: int | None
    outcome: Outcome
    detail: str = ""


def classify(status: int, body: bytes) -> tuple[Outcome, str]:
    """What an HTTP answer to a write means for the write."""
    if status in (200, 201):
        return Outcome.ACKNOWLEDGED, ""
    if 400 <= status < 500:
        return Outcome.REJECTED, f"HTTP {status}"
    code = ""
    try:
        payload = json.loads(body)
        if isinstance(payload, dict):
            code = str(payload.get("error", ""))
    except ValueError:
        pass
    if status == 503 and (code in REFUSALS or not code):
        # nexus-api refused it, or the edge had no server to send it to: it reached no database.
        return Outcome.NOT_STORED, f"HTTP 503 {code or 'from the edge'}"
    return Outcome.UNKNOWN, f"HTTP {status} {code}".strip()


def put_record(
    host: str,
    port: int,
    record_id: str,
    *,
    client: int = 0,
    timeout: float = 2.0,
    clock: Callable[[], float] = time.monotonic,
) -> Sent:
    """Send one write and classify its answer; a connection refused is `not_stored` (nothing was sent), any
    other failure once connected is `unknown`."""
    body = json.dumps({"data": {"drill": record_id}}).encode()
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    sent = clock()
    try:
        try:
            connection.connect()
        except OSError as exc:
            return Sent(record_id, client, sent, clock(), None, Outcome.NOT_STORED, type(exc).__name__)
        try:
            connection.request(
                "PUT", f"{RECORDS_PATH}{record_id}", body, {"Content-Type": "application/json"}
            )
            response = connection.getresponse()
            answer = response.read()
        except (OSError, http.client.HTTPException) as exc:
            return Sent(record_id, client, sent, clock(), None, Outcome.UNKNOWN, type(exc).__name__)
        outcome, detail = classify(response.status, answer)
        return Sent(record_id, client, sent, clock(), response.status, outcome, detail)
    finally:
        connection.close()


class LoadGenerator:
    """`clients` threads writing `rate` records per second in total through `host:port` until `stop()`."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        rate: float,
        clients: int = 4,
        timeout: float = 2.0,
        prefix: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0 or clients < 1:
            raise ValueError("rate must be above 0 and clients at least 1")
        self.host, self.port, self.rate, self.clients, self.timeout = host, port, rate, clients, timeout
        self.prefix = prefix or f"drill-{uuid.uuid4().hex[:8]}"
        self.clock = clock
        self.log: list[Sent] = []
        self.slips = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.started: float | None = None
        self.stopped: float | None = None

    def start(self) -> None:
        self.started = self.clock()
        for client in range(self.clients):
            thread = threading.Thread(
                target=self._run, args=(client,), name=f"drill-load-{client}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _run(self, client: int) -> None:
        interval = self.clients / self.rate
        # Clients start spread over one interval so the edge sees a steady stream, not bursts.
        due = (self.started or self.clock()) + interval * client / self.clients
        sequence = 0
        while not self._stop.is_set():
            now = self.clock()
            if due > now:
                if self._stop.wait(due - now):
                    break
            elif now - due > interval:
                with self._lock:
                    self.slips += 1
                due = now
            record_id = f"{self.prefix}-{client}-{sequence}"
            sequence += 1
            entry = put_record(
                self.host, self.port, record_id, client=client, timeout=self.timeout, clock=self.clock
            )
            with self._lock:
                self.log.append(entry)
            due += interval

    def stop(self) -> list[Sent]:
        """Stop every client (each finishes its request in flight) and return the log in send order."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.timeout + 5)
        self.stopped = self.clock()
        with self._lock:
            return sorted(self.log, key=lambda s: s.sent)

    def achieved_rate(self) -> float:
        """Requests per second actually sent between start and stop."""
        if self.started is None or self.stopped is None or self.stopped <= self.started:
            return 0.0
        return len(self.log) / (self.stopped - self.started)
