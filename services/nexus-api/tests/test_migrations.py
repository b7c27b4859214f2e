"""Migrations: applied once under an advisory lock (also when several processes start at once), checked only
on a read-only database, and refused when the database's history disagrees with this build."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager

import httpx
import pytest
from psycopg import AsyncConnection
from psycopg.rows import TupleRow

from nexus_api.localservers import PostgresServer, RedisServer
from nexus_api.migrations import MigrationError, check, load_migrations, migrate

pytestmark = pytest.mark.anyio

AppClient = Callable[[dict[str, str]], AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def fresh_db(pg: PostgresServer, unique: Callable[[str], str]) -> Iterator[str]:
    name = unique("mig").replace("-", "_")
    dsn = pg.create_database(name)
    try:
        yield dsn
    finally:
        pg.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


async def connect(dsn: str) -> AsyncConnection[TupleRow]:
    return await AsyncConnection.connect(dsn, autocommit=True)


def test_migrations_ship_in_order() -> None:
    versions = [m.version for m in load_migrations()]
    assert versions == sorted(versions) and len(versions) >= 2
    assert all(m.sql.strip() for m in load_migrations())


async def test_applies_everything_once_and_is_idempotent(fresh_db: str) -> None:
    migrations = load_migrations()
    async with await connect(fresh_db) as conn:
        status = await migrate(conn, migrations)
        assert status.ready and status.applied == tuple(m.version for m in migrations)
        first = await (
            await conn.execute("SELECT version, applied_at FROM nexus_api_schema_migrations")
        ).fetchall()
        again = await migrate(conn, migrations)
        assert again == status
        second = await (
            await conn.execute("SELECT version, applied_at FROM nexus_api_schema_migrations")
        ).fetchall()
        assert first == second
        assert await (await conn.execute("SELECT to_regclass('records') IS NOT NULL")).fetchone() == (True,)


async def test_concurrent_starts_apply_each_migration_once(fresh_db: str) -> None:
    migrations = load_migrations()
    conns = [await connect(fresh_db) for _ in range(4)]
    try:
        results = await asyncio.gather(*(migrate(conn, migrations) for conn in conns))
        assert all(result.ready for result in results)
        rows = await (
            await conns[0].execute(
                "SELECT version, count(*) FROM nexus_api_schema_migrations GROUP BY version"
            )
        ).fetchall()
        assert sorted(rows) == [(m.version, 1) for m in migrations]
    finally:
        for conn in conns:
            await conn.close()


async def test_changed_or_unknown_history_is_refused(fresh_db: str) -> None:
    migrations = load_migrations()
    async with await connect(fresh_db) as conn:
        await migrate(conn, migrations)
        await conn.execute("UPDATE nexus_api_schema_migrations SET checksum = 'edited' WHERE version = 1")
        with pytest.raises(MigrationError, match="changed after it was applied"):
            await migrate(conn, migrations)
        await conn.execute(
            "UPDATE nexus_api_schema_migrations SET checksum = %s WHERE version = 1",
            (migrations[0].checksum,),
        )
        await conn.execute(
            "INSERT INTO nexus_api_schema_migrations (version, name, checksum) VALUES (9999, 'future', 'x')"
        )
        with pytest.raises(MigrationError, match="does not know"):
            await check(conn, migrations)


async def test_check_on_a_replica_changes_nothing(
    replica: PostgresServer, pg: PostgresServer, database: str
) -> None:
    async with await connect(database) as conn:
        await migrate(conn, load_migrations())
    replica.wait_replayed(pg)
    async with await connect(replica.dsn("nexus")) as conn:
        status = await check(conn, load_migrations())
        assert status.ready
        with pytest.raises(Exception, match="read-only"):
            await migrate(conn, load_migrations())


async def test_app_on_a_database_with_a_foreign_history_is_not_ready(
    app_client: AppClient,
    env_for: Callable[..., dict[str, str]],
    fresh_db: str,
    redis_server: RedisServer,
) -> None:
    async with await connect(fresh_db) as conn:
        await migrate(conn, load_migrations())
        await conn.execute(
            "INSERT INTO nexus_api_schema_migrations (version, name, checksum) VALUES (9999, 'future', 'x')"
        )
    async with app_client(env_for(fresh_db, redis_server.url)) as client:
        resp = await client.get("/readyz")
        assert resp.status_code == 503
        assert "9999" in resp.json()["checks"]["schema"]["detail"]
        write = await client.put("/api/v1/records/any", json={"data": {}})
        assert write.status_code == 503
