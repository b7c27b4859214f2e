"""The live objects of one app instance (pool, cache client, monitor), started and stopped by the lifespan."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

from psycopg import AsyncConnection
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis
from starlette.requests import Request

from nexus_api.cache import RecordCache, connect_redis
from nexus_api.config import Settings
from nexus_api.dbmonitor import DatabaseMonitor
from nexus_api.metrics import Metrics
from nexus_api.migrations import load_migrations
from nexus_api.records import Pool, RecordStore

log = logging.getLogger("nexus_api")


@dataclass
class Runtime:
    settings: Settings
    metrics: Metrics
    pool: Pool
    redis: Redis
    cache: RecordCache
    store: RecordStore
    monitor: DatabaseMonitor

    async def close(self) -> None:
        await self.monitor.stop()
        await self.pool.close(timeout=5.0)
        with contextlib.suppress(Exception):
            await self.redis.aclose()


def session_conninfo(settings: Settings) -> str:
    """The database URL plus what every session needs: bounded connect and statement time, UTC timestamps."""
    return make_conninfo(
        settings.conninfo(),
        connect_timeout=settings.db_connect_timeout_seconds,
        application_name=f"nexus-api-{settings.region}",
        options=f"-c statement_timeout={settings.db_statement_timeout_ms} -c TimeZone=UTC",
    )


def describe_database(settings: Settings) -> dict[str, str]:
    """Where the database is, for the start-up log line: no user, no password."""
    parts = conninfo_to_dict(settings.conninfo())
    return {key: str(parts[key]) for key in ("host", "port", "dbname") if key in parts}


async def start_runtime(settings: Settings, metrics: Metrics) -> Runtime:
    conninfo = session_conninfo(settings)
    pool: Pool = AsyncConnectionPool(
        conninfo,
        connection_class=AsyncConnection[TupleRow],
        min_size=settings.db_pool_min_size,
        max_size=settings.db_pool_max_size,
        timeout=settings.db_pool_timeout_seconds,
        kwargs={"autocommit": True},
        name="nexus-api",
        open=False,
    )
    # wait=False: the process starts (and answers /healthz) while the database is down; /readyz tells.
    await pool.open(wait=False)
    metrics.watch_pool(pool.get_stats)
    redis = connect_redis(
        settings.redis_url.get_secret_value(),
        timeout=settings.cache_timeout_seconds,
        max_connections=settings.cache_max_connections,
    )
    monitor = DatabaseMonitor(
        conninfo=conninfo,
        interval=settings.db_role_poll_interval_seconds,
        recheck_floor=settings.db_role_recheck_seconds,
        check_timeout=settings.readiness_timeout_seconds + settings.db_connect_timeout_seconds,
        migrations=load_migrations(),
        metrics=metrics,
        on_change=pool.check,
    )
    runtime = Runtime(
        settings=settings,
        metrics=metrics,
        pool=pool,
        redis=redis,
        cache=RecordCache(
            redis,
            ttl_seconds=settings.cache_ttl_seconds,
            list_ttl_seconds=settings.cache_list_ttl_seconds,
            metrics=metrics,
        ),
        store=RecordStore(pool, settings.region, settings.db_pool_timeout_seconds),
        monitor=monitor,
    )
    await monitor.start()
    state = monitor.state
    log.info(
        "nexus-api started",
        extra={
            "database": describe_database(settings),
            "database_reachable": state.reachable,
            "read_only": state.read_only,
            "schema_ready": state.schema_ready,
        },
    )
    return runtime


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime
