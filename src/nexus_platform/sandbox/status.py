"""`nexus status`: both planes side by side, per region, read from the live processes in well under a second.

Every probe has a short timeout and they all run at once under one deadline (DEADLINE): a dead or hung
process (SIGSTOP) costs at most that, and shows as not answering. The probes run on daemon threads, so one
stuck in a socket call does not hold the command's exit either. The JSON shape is a contract (README
"nexus status --output json"): automation and the DR drill read endpoints from it.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import Any

from nexus_platform import model
from nexus_platform.errors import NexusError
from nexus_platform.sandbox.dataplane import EDGE, LINK, DataPlane
from nexus_platform.world.local import autoscaler, link
from nexus_platform.world.local.processes import port_accepts
from nexus_platform.world.local.topology import AUTOSCALER, MONITORING

_TIMEOUT = 0.4
# The whole status answers within this, whatever hangs (each probe's own timeouts are shorter).
DEADLINE = 1.5


class _Probes:
    """Calls run at once on daemon threads; `result` waits for one until the shared deadline."""

    def __init__(self, deadline: float) -> None:
        self.until = time.monotonic() + deadline
        self.deadline = deadline
        self._results: dict[str, Any] = {}
        self._done: dict[str, threading.Event] = {}

    def submit(self, key: str, call: Callable[[], Any]) -> None:
        done = self._done[key] = threading.Event()

        def run() -> None:
            try:
                self._results[key] = call()
            except Exception as exc:  # a probe's failure is its answer: not up
                self._results[key] = exc
            done.set()

        threading.Thread(target=run, name=f"status-{key}", daemon=True).start()

    def result(self, key: str, missing: Callable[[str], Any]) -> Any:
        if not self._done[key].wait(max(0.0, self.until - time.monotonic())):
            return missing(f"no answer within {self.deadline:g}s (hung?)")
        value = self._results[key]
        return missing(f"{type(value).__name__}: {value}") if isinstance(value, Exception) else value


def _process(plane: DataPlane, name: str) -> dict[str, Any]:
    record = plane.processes.running(name)
    ports = plane.ports_of(name)
    listening = bool(record) and all(port_accepts(model.LOCALHOST, port, timeout=_TIMEOUT) for port in ports)
    return {"name": name, "pid": record.pid if record else None, "ports": ports, "up": listening}


def _database(plane: DataPlane, role: str) -> dict[str, Any]:
    server = plane.postgres(role)
    result: dict[str, Any] = {"port": server.port, "url": f"postgresql://{model.LOCALHOST}:{server.port}"}
    try:
        in_recovery = bool(server.admin("SELECT pg_is_in_recovery()", timeout=_TIMEOUT)[0][0])
    except NexusError as exc:
        return {**result, "up": False, "role": None, "error": str(exc)}
    result.update(up=True, role="replica" if in_recovery else "primary")
    if in_recovery:
        other = plane.region(plane.other(role))
        rows = (
            server.admin(
                "SELECT extract(epoch FROM now() - max(checked_at))::float8 FROM region_heartbeats "
                "WHERE region = %s",
                (other,),
                dbname=plane_database(plane),
            )
            if _has_schema(server, plane)
            else []
        )
        result.update(
            streaming=server.streaming(),
            replay_gap_bytes=server.replay_gap(),
            heartbeat_age_seconds=round(rows[0][0], 3) if rows and rows[0][0] is not None else None,
        )
    else:
        lag_bytes, lag_seconds = server.replication_lag()
        result.update(replica_lag_bytes=lag_bytes, replica_lag_seconds=lag_seconds)
    return result


def plane_database(plane: DataPlane) -> str:
    from nexus_platform.world.local import api  # noqa: PLC0415 - reads the chart's values only when needed

    return api.database_name(plane.chart)


def _has_schema(server: Any, plane: DataPlane) -> bool:
    rows = server.admin(
        "SELECT to_regclass('public.region_heartbeats') IS NOT NULL", dbname=plane_database(plane)
    )
    return bool(rows and rows[0][0])


def _cache(plane: DataPlane, role: str, token: str | None) -> dict[str, Any]:
    server = plane.redis(role)
    result: dict[str, Any] = {"port": server.port, "url": f"rediss://{model.LOCALHOST}:{server.port}"}
    if token is None:
        return {**result, "up": port_accepts(model.LOCALHOST, server.port, timeout=_TIMEOUT), "role": None}
    try:
        info = server.replication(token, timeout=_TIMEOUT)
    except NexusError as exc:
        return {**result, "up": False, "role": None, "error": str(exc)}
    result.update(up=True, role=info.get("role"))
    if info.get("role") == "slave":
        result.update(role="replica", link_status=info.get("master_link_status"))
    elif info.get("role") == "master":
        result.update(role="primary", replicas=info.get("connected_slaves"))
    return result


def _link(plane: DataPlane) -> dict[str, Any]:
    control = link.LinkControl(model.LOCALHOST, plane.config.link_control_port, timeout=_TIMEOUT)
    try:
        state = control.state()
    except NexusError as exc:
        return {"up": False, "state": None, "error": str(exc)}
    return {
        "up": True,
        "state": state.get("state"),
        "delay_ms": state.get("delay_ms"),
        "jitter_ms": state.get("jitter_ms"),
    }


def _edge(plane: DataPlane) -> dict[str, Any]:
    result: dict[str, Any] = {"url": plane.edge_url()}
    try:
        runtime = plane.runtime()
        regions = {plane.region(role): runtime.region_state(plane.region(role)) for role in model.ROLES}
        serving = runtime.serving_region()
    except NexusError as exc:
        return {**result, "up": False, "serving_region": None, "regions": {}, "error": str(exc)}
    result.update(
        up=True, serving_region=serving, regions={name: state.state for name, state in regions.items()}
    )
    return result


def collect(plane: DataPlane, cache_token: str | None, deadline: float = DEADLINE) -> dict[str, Any]:
    """The data plane's status (the `dataplane` part of `nexus status --output json`), within `deadline`."""
    names = plane.process_names()
    probes = _Probes(deadline)
    for name in names:
        probes.submit(f"process:{name}", functools.partial(_process, plane, name))
    for role in model.ROLES:
        probes.submit(f"database:{role}", functools.partial(_database, plane, role))
        probes.submit(f"cache:{role}", functools.partial(_cache, plane, role, cache_token))
    probes.submit("link", functools.partial(_link, plane))
    probes.submit("edge", functools.partial(_edge, plane))

    def process(name: str) -> dict[str, Any]:
        return dict(
            probes.result(
                f"process:{name}",
                lambda error: {
                    "name": name,
                    "pid": None,
                    "ports": plane.ports_of(name),
                    "up": False,
                    "error": error,
                },
            )
        )

    processes = {name: process(name) for name in names}
    regions: dict[str, Any] = {}
    for role in model.ROLES:
        region = plane.region(role)
        database = probes.result(f"database:{role}", lambda e: {"up": False, "role": None, "error": e})
        cache = probes.result(f"cache:{role}", lambda e: {"up": False, "role": None, "error": e})
        regions[role] = {
            "region": region,
            "api_urls": [instance.url for instance in plane.instances(role)],
            "lb_url": plane.lb_url(role),
            "database": database,
            "cache": cache,
            "processes": [processes[name] for name in names if name.startswith(f"{region}.")],
        }
    edge_state = dict(
        probes.result(
            "edge",
            lambda e: {
                "url": plane.edge_url(),
                "up": False,
                "serving_region": None,
                "regions": {},
                "error": e,
            },
        )
    )
    edge_state["process"] = processes[EDGE]
    for role in model.ROLES:
        regions[role]["edge"] = edge_state.get("regions", {}).get(plane.region(role))
    link_state = probes.result("link", lambda e: {"up": False, "state": None, "error": e})
    return {
        "running": all(p["up"] for p in processes.values()),
        "mode": plane.mode(),
        "edge": edge_state,
        "link": {**link_state, "process": processes[LINK]},
        "regions": regions,
        "monitoring": {
            "prometheus_url": f"http://{model.LOCALHOST}:{plane.config.prometheus_port}",
            "alertmanager_url": f"http://{model.LOCALHOST}:{plane.config.alertmanager_port}",
            "processes": [processes[name] for name in MONITORING],
        },
        # The last few scaling decisions (world/local/autoscaler.py), newest last.
        "autoscaler": {
            "process": processes[AUTOSCALER],
            "decisions": autoscaler.events(plane.autoscaler_events)[-5:],
        },
    }
