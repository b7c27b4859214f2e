"""Cache-aside in a real Redis: miss then hit, TTL, invalidation on write, bypass, metrics."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import httpx
import pytest
import redis

from nexus_api.cache import record_key
from nexus_api.localservers import RedisServer

pytestmark = pytest.mark.anyio

AppClient = Callable[[dict[str, str]], AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def cache(redis_server: RedisServer) -> redis.Redis:
    return redis.Redis.from_url(redis_server.url)


def counter(metrics_text: str, name: str, **labels: str) -> float:
    label_text = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = rf"^{re.escape(name)}{re.escape('{' + label_text + '}') if labels else ''} (\S+)$"
    match = re.search(pattern, metrics_text, re.MULTILINE)
    assert match, f"{name}{labels} not in the exposition"
    return float(match[1])


async def metric(client: httpx.AsyncClient, name: str, **labels: str) -> float:
    return counter((await client.get("/metrics")).text, name, **labels)


async def test_first_read_misses_and_fills_then_hits(
    client: httpx.AsyncClient, cache: redis.Redis, unique: Callable[[str], str]
) -> None:
    record_id = unique("aside")
    created = await client.put(f"/api/v1/records/{record_id}", json={"data": {"k": "v"}})
    assert cache.get(record_key(record_id)) is None
    hits_before = await metric(client, "nexus_api_cache_requests_total", result="hit")
    misses_before = await metric(client, "nexus_api_cache_requests_total", result="miss")

    first = await client.get(f"/api/v1/records/{record_id}")
    assert first.headers["x-cache"] == "miss"
    cached = cache.get(record_key(record_id))
    assert cached is not None and isinstance(cached, bytes)
    assert httpx.Response(200, content=cached).json() == created.json()

    second = await client.get(f"/api/v1/records/{record_id}")
    assert second.headers["x-cache"] == "hit"
    assert second.json() == created.json()
    assert await metric(client, "nexus_api_cache_requests_total", result="miss") == misses_before + 1
    assert await metric(client, "nexus_api_cache_requests_total", result="hit") == hits_before + 1


async def test_entries_expire_after_the_configured_ttl(
    app_client: AppClient,
    env: dict[str, str],
    cache: redis.Redis,
    unique: Callable[[str], str],
) -> None:
    record_id = unique("ttl")
    async with app_client({**env, "NEXUS_API_CACHE_TTL_SECONDS": "120"}) as client:
        await client.put(f"/api/v1/records/{record_id}", json={"data": {}})
        await client.get(f"/api/v1/records/{record_id}")
    ttl = cache.ttl(record_key(record_id))
    assert isinstance(ttl, int) and 0 < ttl <= 120


async def test_a_write_invalidates_the_cached_list(
    client: httpx.AsyncClient, unique: Callable[[str], str]
) -> None:
    await client.put(f"/api/v1/records/{unique('before')}", json={"data": {}})
    await client.get("/api/v1/records", params={"limit": 5})
    cached = await client.get("/api/v1/records", params={"limit": 5})
    assert cached.headers["x-cache"] == "hit"

    new_id = unique("after")
    # The counter is the session's: compare this write's before and after, not with a constant.
    before = await metric(client, "nexus_api_cache_invalidations_total", result="ok")
    assert (await client.put(f"/api/v1/records/{new_id}", json={"data": {}})).status_code == 201
    fresh = await client.get("/api/v1/records", params={"limit": 5})
    assert fresh.headers["x-cache"] == "miss"
    assert fresh.json()["records"][0]["id"] == new_id
    after = await metric(client, "nexus_api_cache_invalidations_total", result="ok")
    assert after >= before + 1


async def test_a_write_removes_a_stale_record_entry(
    client: httpx.AsyncClient, cache: redis.Redis, unique: Callable[[str], str]
) -> None:
    # An entry left by an earlier life of the database (restore, failback) for an id that is now written.
    record_id = unique("stale")
    cache.set(record_key(record_id), b'{"id":"stale"}')
    created = await client.put(f"/api/v1/records/{record_id}", json={"data": {"fresh": 1}})
    assert created.status_code == 201
    assert cache.get(record_key(record_id)) is None
    read = await client.get(f"/api/v1/records/{record_id}")
    assert read.headers["x-cache"] == "miss"
    assert read.json() == created.json()


async def test_no_cache_reads_the_database_and_refreshes(
    client: httpx.AsyncClient, cache: redis.Redis, unique: Callable[[str], str]
) -> None:
    record_id = unique("bypass")
    created = await client.put(f"/api/v1/records/{record_id}", json={"data": {"truth": True}})
    cache.set(record_key(record_id), b'{"id":"wrong"}')
    assert (await client.get(f"/api/v1/records/{record_id}")).json() == {"id": "wrong"}

    bypass = await client.get(f"/api/v1/records/{record_id}", headers={"cache-control": "no-cache"})
    assert bypass.headers["x-cache"] == "bypass"
    assert bypass.json() == created.json()
    after = await client.get(f"/api/v1/records/{record_id}")
    assert after.headers["x-cache"] == "hit"
    assert after.json() == created.json()
