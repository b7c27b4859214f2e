"""The alerts a drill run raised, read from the sandbox's Alertmanager (its v2 API, as an on-call tool
would): which fired after the fault, and when, relative to it.

Alertmanager lists only active alerts, so the drill reads them while the region is still down (before the
failback resolves them); `startsAt` is when Prometheus started firing the alert (after its `for:`).
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Fired:
    name: str
    labels: dict[str, str]
    #: Seconds from the fault to Prometheus firing the alert (startsAt), and to the drill first seeing it.
    fired_after: float
    seen_after: float


def active(url: str, timeout: float = 2.0) -> list[dict[str, object]]:
    """Alertmanager's active alerts (`GET /api/v2/alerts?active=true&silenced=false&inhibited=true`)."""
    request = urllib.request.Request(  # noqa: S310 - the sandbox's own http URL
        url.rstrip("/") + "/api/v2/alerts?active=true&silenced=false&inhibited=true"
    )
    with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
        data = json.loads(answer.read())
    return [a for a in data if isinstance(a, dict)]


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def watch_for(
    read: Callable[[], list[dict[str, object]]],
    *,
    fault_wall: float,
    wanted: str,
    within: float,
    poll: float = 1.0,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Fired]:
    """Every alert that started firing after the fault, reading until `wanted` is among them or `within`
    seconds from the fault have passed; an Alertmanager that does not answer is read again."""
    seen: dict[tuple[str, tuple[tuple[str, str], ...]], Fired] = {}
    while True:
        try:
            alerts = read()
        except OSError:
            alerts = []
        now = clock()
        for alert in alerts:
            raw = alert.get("labels")
            labels = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
            try:
                started = _epoch(str(alert.get("startsAt")))
            except ValueError:
                continue
            if started < fault_wall:
                continue  # firing before the fault: not this run's
            key = (labels.get("alertname", ""), tuple(sorted(labels.items())))
            seen.setdefault(
                key,
                Fired(key[0], labels, round(started - fault_wall, 2), round(now - fault_wall, 2)),
            )
        if any(f.name == wanted for f in seen.values()) or now - fault_wall >= within:
            return sorted(seen.values(), key=lambda f: f.fired_after)
        sleep(poll)
