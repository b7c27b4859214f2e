"""The sandbox's fence of a PostgreSQL primary (world/local/postgres.py), on a real server: after it no
application login gets in, so no client can `SET ... READ WRITE` its way past it; replication still does, and
promotion (unfence) lets the application back in."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from tests.support import free_port

from nexus_platform.sandbox import tls
from nexus_platform.sandbox.processes import ProcessManager
from nexus_platform.world.local.postgres import LocalPostgres, TlsFiles

APP, PASSWORD = "fence_app", "fence-app-password"


@pytest.fixture
def server() -> Iterator[LocalPostgres]:
    # Not tmp_path: its folders are 0700 root-owned, and PostgreSQL runs as the postgres user.
    root = Path(tempfile.mkdtemp(prefix="nexus-fence-"))
    root.chmod(0o755)
    certs = tls.ensure(root / "tls")
    processes = ProcessManager(root / "run", root / "logs")
    pg = LocalPostgres("fence.postgres", root / "pg", free_port(), processes)
    try:
        pg.initdb(TlsFiles(certs.certificate, certs.key, certs.ca), {})
        pg.start()
        pg.ensure_login(APP, PASSWORD, attributes="")
        pg.admin(f"GRANT CREATE ON SCHEMA public TO {APP}")
        yield pg
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


def app_connection(pg: LocalPostgres) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(
        host="127.0.0.1",
        port=pg.port,
        user=APP,
        password=PASSWORD,
        dbname="postgres",
        sslmode="require",
        autocommit=True,
        connect_timeout=5,
    )


def test_a_fenced_primary_refuses_the_application_even_a_read_write_session(server: LocalPostgres) -> None:
    with app_connection(server) as conn:
        conn.execute("CREATE TABLE before_fence (n int)")
        held = app_connection(server)
        server.fence()
        server.fence()  # idempotent
        # The session open at the fence was ended...
        with pytest.raises(psycopg.OperationalError):
            held.execute("INSERT INTO before_fence VALUES (1)")
    # ...and a new one cannot even log in, so `SET default_transaction_read_only = off` has nowhere to run.
    with pytest.raises(psycopg.OperationalError, match=r"pg_hba\.conf rejects connection"):
        app_connection(server)
    assert server.read_only() and server.refuses_logins()
    assert server.admin("SELECT count(*) FROM before_fence") == [(0,)]

    # A restart keeps the fence (it lives in the data directory).
    server.stop()
    server.start()
    with pytest.raises(psycopg.OperationalError, match=r"pg_hba\.conf rejects connection"):
        app_connection(server)

    server.unfence()
    with app_connection(server) as conn:
        conn.execute("INSERT INTO before_fence VALUES (2)")
    assert not server.refuses_logins() and not server.read_only()
