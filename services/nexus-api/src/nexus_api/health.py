"""/healthz (the process answers) and /readyz (it can do its job in its role), and /metrics.

Liveness never looks at dependencies: restarting a pod because the database is down would not bring the
database back. Readiness does, so a region whose database or cache is gone stops receiving traffic, and the
edge's health checks (Route 53, HAProxy in the sandbox) fail over. What "can do its job" means depends on the
role: a primary must write (proved by a real write), a standby must read.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from nexus_api.api import json_response
from nexus_api.runtime import Runtime, runtime_of

HEARTBEAT = (
    "INSERT INTO region_heartbeats (region, checked_at) VALUES (%s, now()) "
    "ON CONFLICT (region) DO UPDATE SET checked_at = excluded.checked_at"
)


class NotReady(Exception):
    pass


async def healthz(request: Request) -> Response:
    return json_response(200, {"status": "alive"})


async def _check_database(runtime: Runtime) -> str:
    settings = runtime.settings
    async with runtime.pool.connection(timeout=settings.readiness_timeout_seconds) as conn:
        cur = await conn.execute(
            "SELECT pg_is_in_recovery(), current_setting('transaction_read_only') = 'on'"
        )
        row = await cur.fetchone()
        assert row is not None
        in_recovery, tx_read_only = bool(row[0]), bool(row[1])
        if settings.role == "primary":
            if in_recovery or tx_read_only:
                runtime.monitor.note_read_only()
                raise NotReady(
                    "role is primary but the database is read-only"
                    + (" (in recovery)" if in_recovery else " (transaction_read_only)")
                )
            await conn.execute(HEARTBEAT, (settings.region,))
            return "writable"
        await conn.execute("SELECT 1 FROM records LIMIT 1")
        return "readable (replica)" if in_recovery else "readable and writable"


async def _check_cache(runtime: Runtime) -> str:
    await runtime.cache.ping()
    return "reachable"


async def _run_check(name: str, check: Any, timeout: float) -> tuple[str, dict[str, Any]]:
    start = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            detail = await check
        ok = True
    except TimeoutError:
        ok, detail = False, f"no answer within {timeout:g} s"
    except Exception as exc:
        ok, detail = False, str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    took = round((time.perf_counter() - start) * 1000, 1)
    return name, {"ok": ok, "detail": detail, "ms": took}


async def readyz(request: Request) -> Response:
    runtime = runtime_of(request)
    timeout = runtime.settings.readiness_timeout_seconds
    results = dict(
        await asyncio.gather(
            _run_check("database", _check_database(runtime), timeout),
            _run_check("cache", _check_cache(runtime), timeout),
        )
    )
    state = runtime.monitor.state
    results["schema"] = {
        "ok": state.schema_ready,
        "detail": state.schema_error
        or ("up to date" if state.schema_ready else "pending migrations or not checked yet"),
    }
    ready = all(check["ok"] for check in results.values())
    body = {
        "status": "ready" if ready else "not ready",
        "region": runtime.settings.region,
        "role": runtime.settings.role,
        "read_only": state.read_only,
        "checks": results,
    }
    return json_response(200 if ready else 503, body)


async def metrics(request: Request) -> Response:
    runtime = runtime_of(request)
    return Response(runtime.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


ROUTES = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
]
