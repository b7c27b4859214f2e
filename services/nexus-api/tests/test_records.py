"""The records API against real PostgreSQL and Redis: idempotent writes, reads, the list, input checks."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime

import httpx
import pytest

from nexus_api.localservers import PostgresServer

pytestmark = pytest.mark.anyio


async def test_create_stores_the_record_with_region_and_database_time(
    client: httpx.AsyncClient, pg: PostgresServer, unique: Callable[[str], str]
) -> None:
    record_id = unique("create")
    before = pg.execute("SELECT now()", "nexus")[0][0]
    resp = await client.put(f"/api/v1/records/{record_id}", json={"data": {"amount": 12, "tags": ["a"]}})
    assert resp.status_code == 201
    assert resp.headers["idempotent-replayed"] == "false"
    assert resp.headers["location"] == f"/api/v1/records/{record_id}"
    body = resp.json()
    assert body["id"] == record_id
    assert body["data"] == {"amount": 12, "tags": ["a"]}
    assert body["region"] == "us-east-1"
    created_at = datetime.fromisoformat(body["created_at"])
    assert isinstance(before, datetime) and created_at >= before
    rows = pg.execute(f"SELECT data, region, created_at FROM records WHERE id = '{record_id}'", "nexus")
    assert rows == [({"amount": 12, "tags": ["a"]}, "us-east-1", created_at)]


async def test_replay_with_the_same_body_returns_the_stored_record(
    client: httpx.AsyncClient, unique: Callable[[str], str]
) -> None:
    record_id = unique("replay")
    first = await client.put(f"/api/v1/records/{record_id}", json={"data": {"a": 1, "b": [1, 2]}})
    # Same JSON value, other key order and spacing: still the same body.
    again = await client.put(
        f"/api/v1/records/{record_id}",
        content=b'{ "data" : { "b" : [1, 2], "a" : 1 } }',
        headers={"content-type": "application/json"},
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()


async def test_same_id_with_another_body_is_a_conflict_and_changes_nothing(
    client: httpx.AsyncClient, pg: PostgresServer, unique: Callable[[str], str]
) -> None:
    record_id = unique("conflict")
    first = await client.put(f"/api/v1/records/{record_id}", json={"data": {"v": 1}})
    clash = await client.put(f"/api/v1/records/{record_id}", json={"data": {"v": 2}})
    assert clash.status_code == 409
    assert clash.json()["error"] == "conflict"
    stored = await client.get(f"/api/v1/records/{record_id}", headers={"cache-control": "no-cache"})
    assert stored.json() == first.json()
    assert pg.execute(f"SELECT count(*) FROM records WHERE id = '{record_id}'", "nexus") == [(1,)]


async def test_post_with_idempotency_key(client: httpx.AsyncClient, unique: Callable[[str], str]) -> None:
    key = unique("post")
    first = await client.post("/api/v1/records", json={"data": {"x": True}}, headers={"Idempotency-Key": key})
    again = await client.post("/api/v1/records", json={"data": {"x": True}}, headers={"Idempotency-Key": key})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == key
    missing = await client.post("/api/v1/records", json={"data": {"x": True}})
    assert missing.status_code == 400
    assert "Idempotency-Key" in missing.json()["detail"]


async def test_concurrent_writes_of_one_id_create_it_once(
    client: httpx.AsyncClient, unique: Callable[[str], str]
) -> None:
    record_id = unique("race")
    responses = await asyncio.gather(
        *(client.put(f"/api/v1/records/{record_id}", json={"data": {"n": 1}}) for _ in range(12))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 11 + [201]
    assert len({r.json()["created_at"] for r in responses}) == 1


async def test_get_unknown_record_is_404(client: httpx.AsyncClient, unique: Callable[[str], str]) -> None:
    resp = await client.get(f"/api/v1/records/{unique('absent')}")
    assert resp.status_code == 404
    assert resp.json()["error"] == "not_found"


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/api/v1/records/ok-id", b"{not json", 400),
        ("/api/v1/records/ok-id", b'{"payload": {}}', 400),
        ("/api/v1/records/ok-id", b'{"data": [1, 2]}', 400),
        ("/api/v1/records/ok-id", b'{"data": {}, "extra": 1}', 400),
        ("/api/v1/records/ok-id", b'{"data": {"deep": ' + b"[" * 30_000 + b"]" * 30_000 + b"}}", 400),
        ("/api/v1/records/bad%20id", b'{"data": {}}', 400),
        ("/api/v1/records/" + "x" * 129, b'{"data": {}}', 400),
        ("/api/v1/records/big", b'{"data": {"s": "' + b"x" * 70_000 + b'"}}', 413),
    ],
)
async def test_bad_writes_are_refused_before_the_database(
    client: httpx.AsyncClient, pg: PostgresServer, path: str, body: bytes, status: int
) -> None:
    count_before = pg.execute("SELECT count(*) FROM records", "nexus")[0][0]
    resp = await client.put(path, content=body, headers={"content-type": "application/json"})
    assert resp.status_code == status
    assert pg.execute("SELECT count(*) FROM records", "nexus")[0][0] == count_before


async def test_list_returns_the_most_recent_first(
    client: httpx.AsyncClient, unique: Callable[[str], str]
) -> None:
    ids = [unique("list") for _ in range(3)]
    for record_id in ids:
        assert (await client.put(f"/api/v1/records/{record_id}", json={"data": {}})).status_code == 201
    resp = await client.get("/api/v1/records", params={"limit": 3})
    assert resp.status_code == 200
    body = resp.json()
    assert body["count"] == 3
    assert [r["id"] for r in body["records"]] == list(reversed(ids))
    default = (await client.get("/api/v1/records")).json()
    assert 3 <= default["count"] <= 20


@pytest.mark.parametrize("limit", ["0", "101", "ten", "-1"])
async def test_list_limit_is_checked(client: httpx.AsyncClient, limit: str) -> None:
    resp = await client.get("/api/v1/records", params={"limit": limit})
    assert resp.status_code == 400
    assert "limit" in json.loads(resp.content)["detail"]


async def test_unknown_route_and_method(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v2/records")).status_code == 404
    assert (await client.delete("/api/v1/records/x")).status_code == 405
