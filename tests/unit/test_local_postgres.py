"""The sandbox's PostgreSQL (world/local/postgres.py) on real servers: the fence of a primary (after it no
application login gets in, so no client can `SET ... READ WRITE` its way past it; replication still does, and
promotion lifts it), and a replica's build."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from tests.support import free_port

from nexus_platform.sandbox import tls
from nexus_platform.world.local.postgres import LocalPostgres, TlsFiles
from nexus_platform.world.local.processes import ProcessManager

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


def test_a_replica_is_built_aside_and_an_interrupted_build_leaves_no_server(server: LocalPostgres) -> None:
    """pg_basebackup writes into data.partial/, renamed to data/ once complete: a Ctrl-C during the copy
    (here: KeyboardInterrupt from the tool, after it wrote PG_VERSION) leaves nothing the next `up` would
    start; the next build clears it and makes a real, streaming replica, which promotes."""
    from nexus_platform.world.local.postgres import REPLICATION_USER  # noqa: PLC0415

    server.ensure_login(REPLICATION_USER, "replication-password", attributes="REPLICATION")
    root = server.root.parent
    replica = LocalPostgres("fence.replica", root / "replica", free_port(), server.processes)
    certs = tls.files(root / "tls")
    files = TlsFiles(certs.certificate, certs.key, certs.ca)

    def build() -> None:
        replica.base_backup(
            source_host="127.0.0.1",
            source_port=server.port,
            password="replication-password",
            standby_name="fence_replica",
            tls=files,
            settings={},
        )

    real_tool = replica._tool

    def interrupted(args: Any, **kwargs: Any) -> str:
        target = Path(args[args.index("-D") + 1])
        target.mkdir(parents=True)
        (target / "PG_VERSION").write_text("15\n")
        raise KeyboardInterrupt

    replica._tool = interrupted  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        build()
    assert not replica.exists() and not replica.data_dir.exists()

    replica._tool = real_tool  # type: ignore[method-assign]
    try:
        build()
        assert replica.exists() and not replica.partial_dir.exists()
        # Its own settings replace the source's copied ones: one block, whatever the number of rebuilds.
        conf = (replica.data_dir / "postgresql.conf").read_text()
        assert conf.count("# nexus sandbox") == 1 and f"port = {replica.port}\n" in conf
        assert f"port = {server.port}\n" not in conf
        replica.start()
        assert replica.in_recovery()
        # Promoted: it takes writes when promote() returns (it watches the end of recovery itself), and a
        # second promote() of the writer changes nothing.
        replica.promote()
        assert not replica.in_recovery() and not replica.read_only()
        replica.admin("CREATE TABLE after_promotion (n int)")
        replica.promote()
    finally:
        replica.stop()
