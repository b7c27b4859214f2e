"""/healthz and /readyz in each state: ready, database down, cache down, standby on a replica, and a primary
whose database is a replica. Each failure is real: a server stopped, or an app pointed at a replica."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest

from nexus_api.localservers import PostgresServer, RedisServer

pytestmark = pytest.mark.anyio

AppClient = Callable[[dict[str, str]], AbstractAsyncContextManager[httpx.AsyncClient]]
WaitFor = Callable[..., Any]


@pytest.fixture
def own_pg(pg: PostgresServer, database: str) -> Iterator[PostgresServer]:
    """A primary of this test's own (a copy of the session's), free to be stopped."""
    server = pg.clone("readiness-pg")
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = RedisServer.create("readiness-redis")
    server.start()
    try:
        yield server
    finally:
        server.destroy()


async def readiness(client: httpx.AsyncClient) -> tuple[int, dict[str, Any]]:
    resp = await client.get("/readyz")
    return resp.status_code, resp.json()


async def test_healthz_says_alive(client: httpx.AsyncClient) -> None:
    resp = await client.get("/healthz")
    assert (resp.status_code, resp.json()) == (200, {"status": "alive"})


async def test_ready_primary_proves_it_can_write(client: httpx.AsyncClient, pg: PostgresServer) -> None:
    status, body = await readiness(client)
    assert status == 200, body
    assert body["status"] == "ready"
    assert body["role"] == "primary" and body["read_only"] is False
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True,
        "cache": True,
        "schema": True,
    }
    assert body["checks"]["database"]["detail"] == "writable"
    # The write that proved it: the heartbeat of this region, fresh.
    rows = pg.execute(
        "SELECT now() - checked_at < interval '10 seconds' FROM region_heartbeats WHERE region = 'us-east-1'",
        "nexus",
    )
    assert rows == [(True,)]


async def test_database_down(
    app_client: AppClient,
    env_for: Callable[..., dict[str, str]],
    own_pg: PostgresServer,
    redis_server: RedisServer,
    wait_for: WaitFor,
) -> None:
    async with app_client(env_for(own_pg.dsn("nexus"), redis_server.url)) as client:
        assert (await readiness(client))[0] == 200
        own_pg.stop()

        status, body = await readiness(client)
        assert status == 503
        assert body["status"] == "not ready"
        assert body["checks"]["database"]["ok"] is False
        assert body["checks"]["cache"]["ok"] is True
        assert (await client.get("/healthz")).status_code == 200, "liveness must not depend on the database"
        write = await client.put("/api/v1/records/while-down", json={"data": {}})
        assert write.status_code == 503
        assert write.headers["retry-after"]
        assert "same id" in write.json()["detail"]

        own_pg.start()
        await wait_for(lambda: readiness(client), lambda r: r[0] == 200)
        write = await wait_for(
            lambda: client.put("/api/v1/records/while-down", json={"data": {}}),
            lambda r: r.status_code != 503,
        )
        assert write.status_code == 201


async def test_cache_down_reads_and_writes_go_on(
    app_client: AppClient,
    env_for: Callable[..., dict[str, str]],
    database: str,
    own_redis: RedisServer,
    unique: Callable[[str], str],
    wait_for: WaitFor,
) -> None:
    env = env_for(database, own_redis.url, cache_timeout_seconds="0.2")
    async with app_client(env) as client:
        record_id = unique("cache-down")
        created = await client.put(f"/api/v1/records/{record_id}", json={"data": {"n": 1}})
        assert (await readiness(client))[0] == 200
        own_redis.stop()

        status, body = await readiness(client)
        assert status == 503
        assert body["checks"]["cache"]["ok"] is False
        assert body["checks"]["database"]["ok"] is True
        read = await client.get(f"/api/v1/records/{record_id}")
        assert read.status_code == 200
        assert read.headers["x-cache"] == "error"
        assert read.json() == created.json()
        other = await client.put(f"/api/v1/records/{unique('cache-down')}", json={"data": {}})
        assert other.status_code == 201
        metrics = (await client.get("/metrics")).text
        assert 'nexus_api_cache_requests_total{result="error"} 0.0' not in metrics
        assert 'nexus_api_cache_invalidations_total{result="error"} 1.0' in metrics

        own_redis.start()
        await wait_for(lambda: readiness(client), lambda r: r[0] == 200)


async def test_standby_on_a_replica_is_ready_reads_and_refuses_writes(
    app_client: AppClient,
    env_for: Callable[..., dict[str, str]],
    client: httpx.AsyncClient,
    pg: PostgresServer,
    replica: PostgresServer,
    redis_server: RedisServer,
    unique: Callable[[str], str],
) -> None:
    record_id = unique("replicated")
    created = await client.put(f"/api/v1/records/{record_id}", json={"data": {"from": "primary"}})
    replica.wait_replayed(pg)

    standby_env = env_for(replica.dsn("nexus"), redis_server.url, role="standby", region="eu-west-1")
    async with app_client(standby_env) as standby:
        status, body = await readiness(standby)
        assert status == 200, body
        assert body["read_only"] is True
        assert body["checks"]["database"]["detail"] == "readable (replica)"

        read = await standby.get(f"/api/v1/records/{record_id}", headers={"cache-control": "no-cache"})
        assert read.status_code == 200
        assert read.json() == created.json()
        listed = await standby.get("/api/v1/records", params={"limit": 100})
        assert record_id in [r["id"] for r in listed.json()["records"]]

        write = await standby.put(f"/api/v1/records/{unique('refused')}", json={"data": {}})
        assert write.status_code == 503
        assert int(write.headers["retry-after"]) >= 1
        assert write.json()["error"] == "read_only"
        assert "replica" in write.json()["detail"]
        assert "nexus_api_read_only 1.0" in (await standby.get("/metrics")).text


async def test_primary_role_on_a_replica_is_not_ready(
    app_client: AppClient,
    env_for: Callable[..., dict[str, str]],
    replica: PostgresServer,
    redis_server: RedisServer,
) -> None:
    async with app_client(env_for(replica.dsn("nexus"), redis_server.url, role="primary")) as client:
        status, body = await readiness(client)
        assert status == 503
        assert body["checks"]["database"]["ok"] is False
        assert "read-only" in body["checks"]["database"]["detail"]
        assert (await client.put("/api/v1/records/nope", json={"data": {}})).status_code == 503
