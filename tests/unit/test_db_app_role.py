"""`nexus db app-role`: the application's PostgreSQL role made to match its Secrets Manager secret.

Against a real PostgreSQL (password authentication for every role but the superuser) and Secrets Manager in
moto, laid out as Terraform writes it (terraform/aws/security.tf: the app config secret names the other two).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest
from nexus_api.localservers import PostgresServer

from nexus_platform import cli, model
from nexus_platform.database import approle

PREFIX = model.environment("production").name_prefix
REGION = model.environment("production").region("primary").name


@pytest.fixture(scope="module")
def pg() -> Iterator[PostgresServer]:
    server = PostgresServer.create(name="approle")
    try:
        server.start()
        # The superuser (stand-in for the RDS master) keeps trust; every other role must give its password,
        # so a stale password shows as a failed login, as on RDS.
        hba = server.data_dir / "pg_hba.conf"
        hba.write_text(
            "host all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n"
            "host replication all 127.0.0.1/32 trust\n"
        )
        server.execute("SELECT pg_reload_conf()")
        yield server
    finally:
        server.destroy()


@pytest.fixture
def database(pg: PostgresServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh database (owned by the superuser, as RDS creates it) and no application role yet."""
    name = f"nexus_{request.node.name[-40:].lower().replace('[', '_').replace(']', '_').replace('-', '_')}"
    pg.execute(f'DROP DATABASE IF EXISTS "{name}"')
    pg.execute("DROP ROLE IF EXISTS nexus_app")
    pg.create_database(name)
    yield name
    pg.execute(f'DROP DATABASE IF EXISTS "{name}"')
    pg.execute("DROP ROLE IF EXISTS nexus_app")


def put_secret(client: Any, name: str, value: dict[str, Any]) -> str:
    try:
        arn: str = client.create_secret(Name=name, SecretString=json.dumps(value))["ARN"]
    except client.exceptions.ResourceExistsException:
        arn = client.put_secret_value(SecretId=name, SecretString=json.dumps(value))["ARN"]
    return arn


@pytest.fixture
def secrets(aws: None, pg: PostgresServer) -> Any:
    client = boto3.client("secretsmanager", region_name=REGION)
    master = put_secret(client, "rds!db-0123", {"username": "postgres", "password": "unused-under-trust"})
    app = put_secret(client, f"{PREFIX}/db/app", {"username": "nexus_app", "password": "first-password-1"})
    config = {
        "database_host": {"primary": "127.0.0.1", "dr": "192.0.2.1"},
        "database_port": pg.port,
        "database_master_user_secret_arn": master,
        "database_app_secret_arn": app,
    }
    put_secret(client, f"{PREFIX}/app/config", config)
    return client


def set_app_password(client: Any, password: str) -> None:
    put_secret(client, f"{PREFIX}/db/app", {"username": "nexus_app", "password": password})


def login(pg: PostgresServer, database: str, password: str) -> bool:
    try:
        with psycopg.connect(
            host="127.0.0.1",
            port=pg.port,
            dbname=database,
            user="nexus_app",
            password=password,
            connect_timeout=5,
        ) as conn:
            # What nexus-api's migrations need: to create tables in the public schema of its database.
            conn.execute("CREATE TABLE IF NOT EXISTS probe (id int)")
            return True
    except psycopg.OperationalError:
        return False


def invoke(
    args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], state: Path
) -> tuple[int, str, str]:
    monkeypatch.setenv("NEXUS_STATE_DIR", str(state))
    monkeypatch.setattr(sys, "argv", ["nexus", *args])
    code = 0
    try:
        cli.main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def audit_entries(state: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (state / "audit.log").read_text().splitlines()]


# --- the module ---------------------------------------------------------------------------------------------


def test_plan_apply_then_nothing_left(secrets: Any, pg: PostgresServer, database: str) -> None:
    target = approle.resolve(secrets, PREFIX, database=database)
    assert (target.host, target.port, target.app.username) == ("127.0.0.1", pg.port, "nexus_app")
    steps = approle.plan(target)
    assert [s.name for s in steps] == ["create-role", "own-database", "grant-schema"]
    assert not login(pg, database, "first-password-1")

    approle.apply(target, steps)

    assert login(pg, database, "first-password-1")
    assert approle.plan(target) == []
    owner = pg.execute(f"SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '{database}'")
    assert owner == [("nexus_app",)]


def test_a_rotated_secret_needs_only_the_password(secrets: Any, pg: PostgresServer, database: str) -> None:
    approle.apply(target := approle.resolve(secrets, PREFIX, database=database), approle.plan(target))
    set_app_password(secrets, "second-password-2")
    rotated = approle.resolve(secrets, PREFIX, database=database)

    assert [s.name for s in approle.plan(rotated)] == ["set-password"]
    approle.apply(rotated, approle.plan(rotated))

    assert login(pg, database, "second-password-2") and not login(pg, database, "first-password-1")
    assert approle.plan(rotated) == []


def test_an_interrupted_run_is_finished_by_the_next(secrets: Any, pg: PostgresServer, database: str) -> None:
    target = approle.resolve(secrets, PREFIX, database=database)
    first, *rest = approle.plan(target)
    approle.apply(target, [first])  # as if the process died after the first statement
    assert [s.name for s in approle.plan(target)] == [s.name for s in rest]
    approle.apply(target, approle.plan(target))
    assert approle.plan(target) == [] and login(pg, database, "first-password-1")


def test_passwords_never_show_in_reprs(secrets: Any, database: str) -> None:
    target = approle.resolve(secrets, PREFIX, database=database)
    assert "first-password-1" not in repr(target)


# --- the command --------------------------------------------------------------------------------------------


def test_dry_run_by_default_and_audited(
    secrets: Any,
    pg: PostgresServer,
    database: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["db", "app-role", "--env", "production", "--database", database]
    code, out, _ = invoke(args, monkeypatch, capsys, tmp_path)
    assert code == 0
    assert "would: create login role 'nexus_app'" in out and "dry run: nothing changed" in out
    assert pg.execute("SELECT count(*) FROM pg_roles WHERE rolname = 'nexus_app'") == [(0,)]

    code, out, _ = invoke([*args, "--execute", "--output", "json"], monkeypatch, capsys, tmp_path)
    assert code == 0
    payload = json.loads(out)
    assert payload["executed"] is True
    assert [s["name"] for s in payload["steps"]] == ["create-role", "own-database", "grant-schema"]
    assert login(pg, database, "first-password-1")

    code, out, _ = invoke([*args, "--execute"], monkeypatch, capsys, tmp_path)
    assert code == 0 and "nothing to do" in out

    entries = audit_entries(tmp_path)
    # The dry run lists the runbook's steps; an executed run says what each step did (skipped: not needed;
    # owning the database gives its public schema too, since PostgreSQL 15 makes it pg_database_owner's).
    assert [(e["executed"], e["outcome"]) for e in entries] == [
        (False, "dry run"),
        (True, "complete"),
        (True, "complete"),
    ]
    assert entries[1]["steps"] == {
        "create-role": "ok",
        "set-password": "skipped",
        "own-database": "ok",
        "grant-schema": "skipped",
    }
    assert set(entries[2]["steps"].values()) == {"skipped"}
    assert all(e["operation"] == "db.app-role" and e["params"]["database"] == database for e in entries)
    assert "first-password-1" not in (tmp_path / "audit.log").read_text()
    for journal in (tmp_path / "runs").glob("*.jsonl"):
        assert "first-password-1" not in journal.read_text()


def test_a_run_stopped_mid_way_is_audited_and_resumed(
    secrets: Any,
    pg: PostgresServer,
    database: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The database drops the connection after the first statement (faked at approle.apply_step's boundary:
    the first step really runs, then a psycopg error): one line, the audit log says how far it got, and
    `--resume RUN_ID` finishes the rest."""
    real_step = approle.apply_step
    taken: list[str] = []

    def dies_after_one(target: Any, name: str) -> None:
        if taken:
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        taken.append(name)
        real_step(target, name)

    monkeypatch.setattr(approle, "apply_step", dies_after_one)
    args = ["db", "app-role", "--env", "production", "--database", database, "--execute"]
    code, _, err = invoke(args, monkeypatch, capsys, tmp_path)
    assert code == 1 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "server closed the connection" in err
    (entry,) = audit_entries(tmp_path)
    assert entry["outcome"] == "failed"
    assert entry["steps"]["create-role"] == "ok" and entry["steps"]["own-database"] == "failed"
    owner = f"SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '{database}'"
    assert pg.execute(owner) != [("nexus_app",)]  # created, but not yet the owner of its database

    monkeypatch.setattr(approle, "apply_step", real_step)
    code, _, err = invoke([*args, "--resume", entry["run_id"]], monkeypatch, capsys, tmp_path)
    assert code == 0, err
    assert audit_entries(tmp_path)[-1]["outcome"] == "complete"
    assert login(pg, database, "first-password-1")


def test_unreachable_database_is_one_line_with_a_hint(
    secrets: Any,
    database: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["db", "app-role", "--env", "production", "--database", database, "--db-port", "1"]
    code, out, err = invoke(args, monkeypatch, capsys, tmp_path)
    assert code == 1 and out == ""
    assert err.startswith("error: cannot connect to 127.0.0.1:1/") and "--db-host/--db-port" in err
    assert len(err.strip().splitlines()) == 1


def test_missing_secrets_say_to_apply_terraform(
    aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = invoke(["db", "app-role", "--env", "production"], monkeypatch, capsys, tmp_path)
    assert code == 1
    assert err.strip() == (
        f"error: secret '{PREFIX}/app/config' (application configuration) does not exist "
        "(apply terraform/aws for this environment first)"
    )


def test_the_master_user_is_refused_as_the_application_user(secrets: Any, database: str) -> None:
    put_secret(secrets, f"{PREFIX}/db/app", {"username": "postgres", "password": "x"})
    with pytest.raises(approle.NexusError, match="is the master user"):
        approle.resolve(secrets, PREFIX, database=database)
