"""Cache-aside in Redis for record reads and for the recent-records list.

The cache is an accelerator, never a source of truth: any Redis error is counted and logged, and the request
is answered from PostgreSQL. What is cached is the response body itself, so a hit costs no JSON work.

Invalidation of the list uses a generation number instead of deleting keys: a reader reads the generation
before it queries the database and stores its result under that generation; a write bumps the generation after
its commit. A reader that raced the write can only fill an old generation that nobody reads again, so a list
that misses an acknowledged write is never served from the cache.
"""

from __future__ import annotations

import asyncio
import logging
import time

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from nexus_api.metrics import Metrics

log = logging.getLogger("nexus_api.cache")

KEY_PREFIX = "nexus-api:v1:"
_CACHE_ERRORS = (RedisError, OSError, asyncio.TimeoutError)


def record_key(record_id: str) -> str:
    return f"{KEY_PREFIX}record:{record_id}"


RECENT_GENERATION_KEY = f"{KEY_PREFIX}recent:generation"


def recent_key(generation: str, limit: int) -> str:
    return f"{KEY_PREFIX}recent:{generation}:{limit}"


def connect_redis(url: str, *, timeout: float, max_connections: int) -> Redis:
    """A client that fails fast: no retries, short timeouts, a bounded pool that waits at most ``timeout``."""
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=timeout,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        # The default retries with backoff; with Redis down that would add latency to every read for nothing.
        retry=Retry(NoBackoff(), 0),
    )
    return Redis(connection_pool=pool)


class RecordCache:
    def __init__(self, redis: Redis, *, ttl_seconds: int, list_ttl_seconds: int, metrics: Metrics) -> None:
        self._redis = redis
        self._ttl = ttl_seconds
        self._list_ttl = list_ttl_seconds
        self._metrics = metrics
        self._last_warning = 0.0

    def _failed(self, operation: str, exc: BaseException) -> None:
        # At hundreds of requests per second an outage would flood the log: one line per 10 s is enough,
        # the metrics count every failure.
        now = time.monotonic()
        if now - self._last_warning >= 10.0:
            self._last_warning = now
            log.warning(
                "cache unavailable, serving from the database",
                extra={"operation": operation, "error": repr(exc)},
            )

    async def _lookup(self, key: str) -> tuple[bytes | None, str]:
        try:
            value = await self._redis.get(key)
        except _CACHE_ERRORS as exc:
            self._metrics.cache_error.inc()
            self._failed("get", exc)
            return None, "error"
        if not isinstance(value, bytes):  # None: the key is absent (the client never decodes to str)
            self._metrics.cache_miss.inc()
            return None, "miss"
        self._metrics.cache_hit.inc()
        return value, "hit"

    async def _store(self, key: str, body: bytes, ttl: int) -> None:
        try:
            await self._redis.set(key, body, ex=ttl)
        except _CACHE_ERRORS as exc:
            # A standby region's cache may be a read-only replica: reads still hit, fills fail. Both are fine.
            self._failed("set", exc)

    async def get_record(self, record_id: str) -> tuple[bytes | None, str]:
        """The cached body and the lookup's result: hit, miss or error."""
        return await self._lookup(record_key(record_id))

    async def set_record(self, record_id: str, body: bytes) -> None:
        await self._store(record_key(record_id), body, self._ttl)

    async def recent_generation(self) -> str | None:
        """The list's current generation, or None when the cache cannot be used."""
        try:
            value = await self._redis.get(RECENT_GENERATION_KEY)
        except _CACHE_ERRORS as exc:
            self._metrics.cache_error.inc()
            self._failed("get", exc)
            return None
        return value.decode() if isinstance(value, bytes) else "0"

    async def get_recent(self, generation: str, limit: int) -> tuple[bytes | None, str]:
        return await self._lookup(recent_key(generation, limit))

    async def set_recent(self, generation: str, limit: int, body: bytes) -> None:
        await self._store(recent_key(generation, limit), body, self._list_ttl)

    async def invalidate_after_write(self, record_id: str) -> bool:
        """Called after a write commits, before it is acknowledged. False if the cache was unreachable."""
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                # Stored records never change, so the record key can only hold this same record; deleting it
                # still guards against an entry left by an earlier life of the database (restore, failback).
                pipe.delete(record_key(record_id))
                pipe.incr(RECENT_GENERATION_KEY)
                await pipe.execute()
        except _CACHE_ERRORS as exc:
            self._metrics.cache_invalidations.labels("error").inc()
            self._failed("invalidate", exc)
            return False
        self._metrics.cache_invalidations.labels("ok").inc()
        return True

    async def ping(self) -> None:
        """Raise if Redis does not answer."""
        await self._redis.ping()
