"""The versioned JSON API: /api/v1/records.

PUT /api/v1/records/{id}       create the record with the client's id; a replay of the same body answers
                               200 with ``Idempotent-Replayed: true``, another body under that id 409.
POST /api/v1/records           the same, with the id in the ``Idempotency-Key`` header.
GET /api/v1/records/{id}       cache-aside read; ``Cache-Control: no-cache`` reads the database (and refills).
GET /api/v1/records?limit=N    the N most recent records (1..100, default 20), cached per generation.

While the database is read-only (a replica, or fenced) writes answer 503 with ``Retry-After`` and reads go on.
When the outcome of a write is unknown (the database went away mid-request) the answer says so: the same write
sent again with the same id tells whether it was stored.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import psycopg
import psycopg.errors
from psycopg_pool import PoolTimeout
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from nexus_api.records import MAX_LIST_LIMIT, RECORD_ID_RE, WriteOutcome, dump_json
from nexus_api.runtime import Runtime, runtime_of

log = logging.getLogger("nexus_api.api")

JSON = "application/json"
DEFAULT_LIST_LIMIT = 20
# Errors that mean "the database could not answer", as opposed to a bug: the client may retry.
_UNAVAILABLE = (PoolTimeout, psycopg.OperationalError)


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(dump_json(payload), status_code=status, media_type=JSON, headers=headers)


def error(status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> Response:
    return json_response(status, {"error": code, "detail": detail}, headers)


def _read_only(runtime: Runtime) -> Response:
    runtime.metrics.record_writes.labels("read_only").inc()
    return error(
        503,
        "read_only",
        f"writes are refused: {runtime.monitor.state.read_only_reason}; reads keep working",
        {"Retry-After": str(runtime.settings.read_only_retry_after_seconds)},
    )


def _unavailable(runtime: Runtime, exc: Exception, *, write: bool) -> Response:
    runtime.monitor.note_unavailable()
    log.warning("database unavailable", extra={"error": f"{type(exc).__name__}: {exc}"})
    detail = "database unavailable"
    if write:
        runtime.metrics.record_writes.labels("unavailable").inc()
        detail += "; the write may or may not have been stored: send it again with the same id to find out"
    return error(503, "unavailable", detail, {"Retry-After": "1"})


def _schema_not_ready(runtime: Runtime) -> Response | None:
    state = runtime.monitor.state
    if state.schema_ready:
        return None
    return error(503, "not_ready", "database schema not ready", {"Retry-After": "1"})


def _parse_body(raw: bytes) -> dict[str, Any] | str:
    """The record's data, or a message saying what is wrong with the body."""
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return "body is not valid JSON"
    except RecursionError:
        return "body is nested too deeply"
    if not isinstance(body, dict) or set(body) != {"data"}:
        return 'body must be a JSON object with exactly one key, "data"'
    data = body["data"]
    if not isinstance(data, dict):
        return '"data" must be a JSON object'
    return data


async def put_record(request: Request) -> Response:
    return await _write(request, request.path_params["record_id"])


async def post_record(request: Request) -> Response:
    key = request.headers.get("idempotency-key")
    if not key:
        return error(
            400, "bad_request", "the Idempotency-Key header is required (it becomes the record's id)"
        )
    return await _write(request, key)


async def _write(request: Request, record_id: str) -> Response:
    runtime = runtime_of(request)
    if not RECORD_ID_RE.match(record_id):
        return error(400, "bad_request", "record id must match " + RECORD_ID_RE.pattern)
    data = _parse_body(await request.body())
    if isinstance(data, str):
        return error(400, "bad_request", data)
    if runtime.monitor.state.read_only:
        runtime.monitor.note_write_refused()
        return _read_only(runtime)
    if (not_ready := _schema_not_ready(runtime)) is not None:
        return not_ready
    try:
        outcome, record = await runtime.store.put(record_id, data)
    except psycopg.errors.ReadOnlySqlTransaction:
        # The database turned read-only since the last check (fencing, demotion): nothing was stored.
        runtime.monitor.note_read_only()
        return _read_only(runtime)
    except _UNAVAILABLE as exc:
        return _unavailable(runtime, exc, write=True)
    runtime.metrics.record_writes.labels(outcome.value).inc()
    location = f"/api/v1/records/{record.id}"
    if outcome is WriteOutcome.CREATED:
        # Before the acknowledgement, so a client that reads after its write sees it.
        await runtime.cache.invalidate_after_write(record.id)
        return json_response(201, record.to_dict(), {"Location": location, "Idempotent-Replayed": "false"})
    if outcome is WriteOutcome.REPLAYED:
        return json_response(200, record.to_dict(), {"Location": location, "Idempotent-Replayed": "true"})
    return error(
        409,
        "conflict",
        f"record {record.id!r} already exists with a different body (stored by {record.region} "
        f"at {record.created_at.isoformat()})",
    )


def _bypass_cache(request: Request) -> bool:
    return "no-cache" in request.headers.get("cache-control", "")


async def get_record(request: Request) -> Response:
    runtime = runtime_of(request)
    record_id: str = request.path_params["record_id"]
    if not RECORD_ID_RE.match(record_id):
        return error(400, "bad_request", "record id must match " + RECORD_ID_RE.pattern)
    result = "bypass"
    if not _bypass_cache(request):
        cached, result = await runtime.cache.get_record(record_id)
        if cached is not None:
            return Response(cached, media_type=JSON, headers={"X-Cache": "hit"})
    if (not_ready := _schema_not_ready(runtime)) is not None:
        return not_ready
    try:
        record = await runtime.store.get(record_id)
    except _UNAVAILABLE as exc:
        return _unavailable(runtime, exc, write=False)
    if record is None:
        # Absence is not cached: the record may be written a moment later.
        return error(404, "not_found", f"no record {record_id!r}")
    body = record.to_json()
    if result != "error":
        await runtime.cache.set_record(record_id, body)
    return Response(body, media_type=JSON, headers={"X-Cache": result})


async def list_records(request: Request) -> Response:
    runtime = runtime_of(request)
    raw_limit = request.query_params.get("limit", str(DEFAULT_LIST_LIMIT))
    try:
        limit = int(raw_limit)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_LIST_LIMIT:
        return error(400, "bad_request", f"limit must be an integer from 1 to {MAX_LIST_LIMIT}")
    generation = None if _bypass_cache(request) else await runtime.cache.recent_generation()
    result = "bypass" if _bypass_cache(request) else "error"
    if generation is not None:
        cached, result = await runtime.cache.get_recent(generation, limit)
        if cached is not None:
            return Response(cached, media_type=JSON, headers={"X-Cache": "hit"})
    if (not_ready := _schema_not_ready(runtime)) is not None:
        return not_ready
    try:
        records = await runtime.store.recent(limit)
    except _UNAVAILABLE as exc:
        return _unavailable(runtime, exc, write=False)
    body = dump_json({"records": [r.to_dict() for r in records], "count": len(records)})
    if generation is not None:
        await runtime.cache.set_recent(generation, limit, body)
    return Response(body, media_type=JSON, headers={"X-Cache": result})


ROUTES = [
    Route("/api/v1/records", list_records, methods=["GET"]),
    Route("/api/v1/records", post_record, methods=["POST"]),
    Route("/api/v1/records/{record_id}", get_record, methods=["GET"]),
    Route("/api/v1/records/{record_id}", put_record, methods=["PUT"]),
]
