"""Fixtures: real PostgreSQL (a primary and a streaming replica) and a real Redis, started for the session on
free 127.0.0.1 ports; the app runs in-process over httpx's ASGI transport, with its lifespan (pool, monitor,
migrations) really running against them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest

from nexus_api.app import create_app
from nexus_api.config import load_settings
from nexus_api.localservers import PostgresServer, RedisServer

AppClient = Callable[[dict[str, str]], AbstractAsyncContextManager[httpx.AsyncClient]]
WaitFor = Callable[..., Awaitable[Any]]


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def pg() -> Iterator[PostgresServer]:
    server = PostgresServer.create(name="primary")
    try:
        server.start()
        yield server
    finally:
        server.destroy()


@pytest.fixture(scope="session")
def database(pg: PostgresServer) -> str:
    """The DSN of the session's application database on the primary."""
    return pg.create_database("nexus")


@pytest.fixture(scope="session")
def replica(pg: PostgresServer, database: str) -> Iterator[PostgresServer]:
    server = pg.replica()
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer.create()
    try:
        server.start()
        yield server
    finally:
        server.destroy()


def make_env(database_url: str, redis_url: str, **overrides: str) -> dict[str, str]:
    env = {
        "NEXUS_API_DATABASE_URL": database_url,
        "NEXUS_API_REDIS_URL": redis_url,
        "NEXUS_API_REGION": "us-east-1",
        "NEXUS_API_ROLE": "primary",
        # Fast role polling so that promotion and fencing tests need not wait long.
        "NEXUS_API_DB_ROLE_POLL_INTERVAL_SECONDS": "0.2",
        "NEXUS_API_READINESS_TIMEOUT_SECONDS": "1",
        "NEXUS_API_DB_POOL_TIMEOUT_SECONDS": "1",
        "NEXUS_API_DB_CONNECT_TIMEOUT_SECONDS": "1",
    }
    env.update({f"NEXUS_API_{key.upper()}": value for key, value in overrides.items()})
    return env


@pytest.fixture
def env(database: str, redis_server: RedisServer) -> dict[str, str]:
    """The environment of a primary-region app on the session's servers."""
    return make_env(database, redis_server.url)


@pytest.fixture
def env_for() -> Callable[..., dict[str, str]]:
    """``env_for(database_url, redis_url, role="standby", ...)``: the environment for other servers."""
    return make_env


@asynccontextmanager
async def running_app(env: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(load_settings(env))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://nexus-api.test") as client:
            yield client


@pytest.fixture
def app_client() -> AppClient:
    """Start an app from an environment: ``async with app_client(env) as client: ...``."""
    return running_app


@pytest.fixture
async def client(env: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(env) as c:
        yield c


async def _wait_for(
    probe: Callable[[], Awaitable[Any]], accept: Callable[[Any], bool], *, timeout: float = 15.0
) -> Any:
    """Call ``probe`` until ``accept`` takes its result (returned), or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await probe()
        if accept(last):
            return last
        await asyncio.sleep(0.1)
    pytest.fail(f"condition not met within {timeout} s; last result: {last!r}")


@pytest.fixture
def wait_for() -> WaitFor:
    return _wait_for


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Record ids no other test uses (the session database is shared)."""
    counter = iter(range(1_000_000))
    stamp = f"{time.time_ns():x}"
    return lambda name: f"{name}-{stamp}-{next(counter)}"
