"""`make bench-autoscaler`: how fast the sandbox's nexus-api autoscaler (its HorizontalPodAutoscaler) reacts.

Per run: cached reads through the global edge at a steady rate from several clients (nexus-api's benchmark's
read shape, `make bench-api`), until the writer region runs more instances; then silence until it is back at
its floor. Measured from the load's first request:
- decision: the autoscaler's scale-up decision (its events file);
- serving: the new instances UP in the region's load balancer (HAProxy's health checks: as an ALB target
  group marks a new pod healthy);
- after the load stops: the scale-down decision (the stabilization window plus a tick).

Needs the running sandbox (`nexus up`). Results: bench/results-autoscaler.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nexus_platform.sandbox import planes
from nexus_platform.world.local import autoscaler, haproxy, traffic

HERE = Path(__file__).resolve().parent


def _load(
    url: str, record: str, rate: float, clients: int, *, stop: threading.Event, sent: list[int]
) -> None:
    """`clients` threads, each pacing its share of `rate` requests/s."""

    def client() -> None:
        http, interval, count = traffic.Client(url), clients / rate, 0
        began = time.monotonic()
        while not stop.is_set():
            try:
                http.request("GET", f"/api/v1/records/{record}")
                count += 1
            except OSError:
                http.close()
            delay = began + count * interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        sent.append(count)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    stop.wait()
    for thread in threads:
        thread.join()


def _up_in_lb(plane: Any, region: str) -> int:
    proxy = haproxy.region_proxy(region)
    return sum(1 for s in plane.runtime().servers() if s.backend == proxy and s.state == "UP")


def _decisions_since(plane: Any, role: str, since: float) -> list[Mapping[str, Any]]:
    return [e for e in autoscaler.events(plane.autoscaler_events) if e["role"] == role and e["at"] >= since]


def one_run(plane: Any, rate: float, clients: int, timeout: float) -> dict[str, Any]:
    role = plane.writer()
    region = plane.region(role)
    edge = traffic.Client(plane.edge_url())
    record = f"bench-autoscaler-{uuid.uuid4().hex[:8]}"
    edge.request("PUT", f"/api/v1/records/{record}", {"data": {"bench": "autoscaler"}})
    floor = _up_in_lb(plane, region)
    stop, sent = threading.Event(), list[int]()
    began_wall, began = time.time(), time.monotonic()
    loader = threading.Thread(
        target=_load, args=(plane.edge_url(), record, rate, clients), kwargs={"stop": stop, "sent": sent}
    )
    loader.start()
    decision = serving = None
    peak = floor
    try:
        while time.monotonic() - began < timeout:
            ups = [e for e in _decisions_since(plane, role, began_wall) if e["desired"] > e["current"]]
            if ups and decision is None:
                decision = ups[0]["at"] - began_wall
            if ups:
                peak = max(e["desired"] for e in ups)
                if _up_in_lb(plane, region) >= peak:
                    serving = time.monotonic() - began
                    break
            time.sleep(0.1)
    finally:
        stop.set()
        loader.join()
    load_seconds = time.monotonic() - began
    achieved = sum(sent) / load_seconds
    stopped_wall = time.time()
    down = None
    while time.time() - stopped_wall < timeout + plane.config.autoscaler_scale_down_s:
        downs = [e for e in _decisions_since(plane, role, stopped_wall) if e["desired"] < e["current"]]
        if downs and downs[-1]["desired"] <= floor:
            down = downs[-1]["at"] - stopped_wall
            break
        time.sleep(0.2)
    return {
        "region": region,
        "rate_wanted": rate,
        "rate_achieved": round(achieved, 1),
        "instances_before": floor,
        "instances_peak": peak,
        "decision_s": None if decision is None else round(decision, 2),
        "serving_s": None if serving is None else round(serving, 2),
        "scale_down_after_load_s": None if down is None else round(down, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=float, default=400.0, help="requests/s through the edge")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()
    _, plane = planes.running()
    runs = [one_run(plane, args.rate, args.clients, args.timeout) for _ in range(args.runs)]
    header = ("run", "rate/s", "instances", "decision s", "serving s", "down after load s")
    print(" | ".join(header))
    for n, run in enumerate(runs, start=1):
        print(
            f"{n} | {run['rate_achieved']} | {run['instances_before']}->{run['instances_peak']} | "
            f"{run['decision_s']} | {run['serving_s']} | {run['scale_down_after_load_s']}"
        )
    for key in ("decision_s", "serving_s", "scale_down_after_load_s"):
        values = [r[key] for r in runs if r[key] is not None]
        if values:
            print(
                f"{key}: median {statistics.median(values):.2f}, max {max(values):.2f} ({len(values)} runs)"
            )
    (HERE / "results-autoscaler.json").write_text(json.dumps({"runs": runs}, indent=2) + "\n")


if __name__ == "__main__":
    main()
