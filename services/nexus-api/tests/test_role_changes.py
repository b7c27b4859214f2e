"""The database's role changes while the app runs: a promoted replica becomes writable without a restart (the
DR drill depends on it), and a fenced primary (default_transaction_read_only) stops taking writes."""

from __future__ import annotations

import re
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
def own_replica(pg: PostgresServer, database: str) -> Iterator[PostgresServer]:
    server = pg.replica("promotable")
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture
def own_pg(pg: PostgresServer, database: str) -> Iterator[PostgresServer]:
    server = pg.clone("fenceable")
    try:
        yield server
    finally:
        server.destroy()


def gauge(metrics_text: str, name: str) -> float:
    match = re.search(rf"^{name} (\S+)$", metrics_text, re.MULTILINE)
    assert match, name
    return float(match[1])


async def test_promotion_makes_the_standby_writable_without_restart(
    app_client: AppClient,
    env_for: Callable[..., dict[str, str]],
    own_replica: PostgresServer,
    redis_server: RedisServer,
    unique: Callable[[str], str],
    wait_for: WaitFor,
) -> None:
    env = env_for(own_replica.dsn("nexus"), redis_server.url, role="standby", region="eu-west-1")
    record_id = unique("after-promotion")
    async with app_client(env) as client:
        refused = await client.put(f"/api/v1/records/{record_id}", json={"data": {"n": 1}})
        assert refused.status_code == 503
        assert refused.headers["retry-after"]
        assert gauge((await client.get("/metrics")).text, "nexus_api_read_only") == 1

        own_replica.promote()
        accepted = await wait_for(
            lambda: client.put(f"/api/v1/records/{record_id}", json={"data": {"n": 1}}),
            lambda r: r.status_code != 503,
            timeout=10,
        )
        assert accepted.status_code == 201
        assert accepted.json()["region"] == "eu-west-1"
        metrics = (await client.get("/metrics")).text
        assert gauge(metrics, "nexus_api_read_only") == 0
        assert gauge(metrics, "nexus_api_db_role_changes_total") == 1
        assert (await client.get("/readyz")).status_code == 200
    assert own_replica.execute(f"SELECT region FROM records WHERE id = '{record_id}'", "nexus") == [
        ("eu-west-1",)
    ]


async def test_fencing_the_primary_stops_writes_and_unfencing_resumes_them(
    app_client: AppClient,
    env_for: Callable[..., dict[str, str]],
    own_pg: PostgresServer,
    redis_server: RedisServer,
    unique: Callable[[str], str],
    wait_for: WaitFor,
) -> None:
    async with app_client(env_for(own_pg.dsn("nexus"), redis_server.url)) as client:
        written = await client.put(f"/api/v1/records/{unique('pre-fence')}", json={"data": {}})
        assert written.status_code == 201

        own_pg.execute("ALTER SYSTEM SET default_transaction_read_only = on")
        own_pg.execute("SELECT pg_reload_conf()")
        refused = await wait_for(
            lambda: client.put(f"/api/v1/records/{unique('fenced')}", json={"data": {}}),
            lambda r: r.status_code == 503,
            timeout=10,
        )
        assert refused.json()["error"] == "read_only"
        assert "transaction_read_only" in refused.json()["detail"]
        assert (await client.get("/readyz")).status_code == 503
        read = await client.get(
            f"/api/v1/records/{written.json()['id']}", headers={"cache-control": "no-cache"}
        )
        assert read.status_code == 200

        own_pg.execute("ALTER SYSTEM RESET default_transaction_read_only")
        own_pg.execute("SELECT pg_reload_conf()")
        resumed = await wait_for(
            lambda: client.put(f"/api/v1/records/{unique('unfenced')}", json={"data": {}}),
            lambda r: r.status_code != 503,
            timeout=10,
        )
        assert resumed.status_code == 201


async def test_a_refused_write_sees_the_promotion_before_the_next_poll(
    app_client: AppClient,
    env_for: Callable[..., dict[str, str]],
    own_replica: PostgresServer,
    redis_server: RedisServer,
    unique: Callable[[str], str],
    wait_for: WaitFor,
) -> None:
    """With a poll every 60 s, the promotion is seen only because refused writes ask for a check."""
    env = env_for(
        own_replica.dsn("nexus"),
        redis_server.url,
        role="standby",
        region="eu-west-1",
        db_role_poll_interval_seconds="60",
    )
    async with app_client(env) as client:
        assert (await client.put(f"/api/v1/records/{unique('before')}", json={"data": {}})).status_code == 503
        own_replica.promote()
        accepted = await wait_for(
            lambda: client.put(f"/api/v1/records/{unique('after')}", json={"data": {}}),
            lambda r: r.status_code != 503,
            timeout=5,
        )
        assert accepted.status_code == 201
