"""`nexus status`: both planes side by side, per region, read from the live processes in well under a second.

Every probe has a short timeout and they all run at once, so a dead or hung process costs one timeout, not
one per question asked of it. The JSON shape is a contract (README "nexus status --output json"): automation
and the DR drill read endpoints from it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from nexus_platform import model
from nexus_platform.errors import NexusError
from nexus_platform.sandbox.dataplane import ALERTMANAGER, EDGE, LINK, PROMETHEUS, DataPlane
from nexus_platform.sandbox.processes import port_accepts
from nexus_platform.world.local import link

_TIMEOUT = 0.4


def _process(plane: DataPlane, name: str) -> dict[str, Any]:
    record = plane.processes.running(name)
    ports = plane.ports_of(name)
    listening = bool(record) and all(port_accepts(model.LOCALHOST, port, timeout=_TIMEOUT) for port in ports)
    return {"name": name, "pid": record.pid if record else None, "ports": ports, "up": listening}


def _database(plane: DataPlane, role: str) -> dict[str, Any]:
    server = plane.postgres(role)
    result: dict[str, Any] = {"port": server.port, "url": f"postgresql://{model.LOCALHOST}:{server.port}"}
    try:
        in_recovery = server.in_recovery()
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


def collect(plane: DataPlane, cache_token: str | None) -> dict[str, Any]:
    """The data plane's status (the `dataplane` part of `nexus status --output json`)."""
    names = plane.process_names()
    with ThreadPoolExecutor(max_workers=16) as pool:
        processes = dict(zip(names, pool.map(lambda name: _process(plane, name), names), strict=True))
        databases = {role: pool.submit(_database, plane, role) for role in model.ROLES}
        caches = {role: pool.submit(_cache, plane, role, cache_token) for role in model.ROLES}
        link_state = pool.submit(_link, plane)
        edge = pool.submit(_edge, plane)
        regions: dict[str, Any] = {}
        for role in model.ROLES:
            region = plane.region(role)
            regions[role] = {
                "region": region,
                "api_urls": [instance.url for instance in plane.instances(role)],
                "lb_url": plane.lb_url(role),
                "database": databases[role].result(),
                "cache": caches[role].result(),
                "processes": [processes[name] for name in names if name.startswith(f"{region}.")],
            }
        edge_state = edge.result()
        edge_state["process"] = processes[EDGE]
        for role in model.ROLES:
            regions[role]["edge"] = edge_state.get("regions", {}).get(plane.region(role))
        return {
            "running": all(p["up"] for p in processes.values()),
            "mode": plane.mode(),
            "edge": edge_state,
            "link": {**link_state.result(), "process": processes[LINK]},
            "regions": regions,
            "monitoring": {
                "prometheus_url": f"http://{model.LOCALHOST}:{plane.config.prometheus_port}",
                "alertmanager_url": f"http://{model.LOCALHOST}:{plane.config.alertmanager_port}",
                "processes": [processes[name] for name in (PROMETHEUS, ALERTMANAGER, "blackbox")],
            },
        }
