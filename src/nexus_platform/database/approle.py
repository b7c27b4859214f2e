"""The application's PostgreSQL role: created and kept in step with its Secrets Manager secret.

Terraform generates nexus-api's credentials into `<project>-<env>/db/app` but cannot reach into the database
(no PostgreSQL provider; the instances are private). This closes the gap from wherever the primary database is
reachable (inside the VPC, or through a forwarded port): it reads the application configuration secret, which
names the RDS-managed master secret and the application's secret, and brings the role to the state the secret
describes.

Each step is checked before it is taken: a second run does nothing, a run after a crash finishes the rest.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from nexus_platform.errors import NexusError

CONNECT_TIMEOUT_SECONDS = 5
RESTORE = "re-apply terraform/aws to restore it"


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class Target:
    """Where the role lives and who may create it."""

    host: str
    port: int
    database: str
    master: Credentials
    app: Credentials


@dataclass(frozen=True)
class Step:
    """One change the role needs: `name` for automation, `description` for people."""

    name: str
    description: str


def secret_name(arn: str) -> str:
    """A secret's name from its ARN (Secrets Manager appends '-' and six random characters to the name)."""
    name = arn.split(":secret:", 1)[-1]
    return name[:-7] if len(name) > 7 and name[-7] == "-" else name


def app_config_secret(name_prefix: str) -> str:
    """The one secret name typed here (terraform/aws/security.tf, local.secret_names): it names the others."""
    return f"{name_prefix}/app/config"


def _secret_json(client: Any, secret_id: str, what: str) -> dict[str, Any]:
    try:
        raw = client.get_secret_value(SecretId=secret_id)["SecretString"]
    except client.exceptions.ResourceNotFoundException:
        raise NexusError(
            f"secret {secret_id!r} ({what}) does not exist",
            hint="apply terraform/aws for this environment first",
        ) from None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise NexusError(f"secret {secret_id!r} ({what}) is not JSON", hint=RESTORE) from None
    if not isinstance(value, dict):
        raise NexusError(f"secret {secret_id!r} ({what}) is not a JSON object", hint=RESTORE)
    return value


def _credentials(value: dict[str, Any], secret_id: str) -> Credentials:
    username, password = value.get("username"), value.get("password")
    if not isinstance(username, str) or not username or not isinstance(password, str) or not password:
        raise NexusError(f"secret {secret_id!r} lacks a username and password", hint=RESTORE)
    return Credentials(username, password)


def resolve(
    client: Any, name_prefix: str, *, database: str, host: str | None = None, port: int | None = None
) -> Target:
    """Read the secrets (through a Secrets Manager client of the primary region) into a Target.

    `host`/`port` override the primary database's address, e.g. a port forwarded to this machine.
    """
    config_id = app_config_secret(name_prefix)
    config = _secret_json(client, config_id, "application configuration")
    try:
        master_id = str(config["database_master_user_secret_arn"])
        app_id = str(config["database_app_secret_arn"])
        address = host or str(config["database_host"]["primary"])
        db_port = port or int(config["database_port"])
    except (KeyError, TypeError, ValueError) as exc:
        raise NexusError(
            f"secret {config_id!r} lacks the database address or secret references ({exc})",
            hint="apply terraform/aws for this environment again",
        ) from None
    master = _credentials(_secret_json(client, master_id, "RDS master user"), master_id)
    app = _credentials(_secret_json(client, app_id, "application database user"), app_id)
    if app.username == master.username:
        raise NexusError(
            f"the application user {app.username!r} is the master user", hint="set db_app_username in tfvars"
        )
    return Target(host=address, port=db_port, database=database, master=master, app=app)


def _connect(target: Target, who: Credentials, *, what: str) -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(
            host=target.host,
            port=target.port,
            dbname=target.database,
            user=who.username,
            password=who.password,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            autocommit=True,
            application_name="nexus-db-app-role",
        )
    except psycopg.OperationalError as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise NexusError(
            f"cannot connect to {target.host}:{target.port}/{target.database} as {what}: {first}",
            hint="run this where the primary database is reachable, or forward a port: --db-host/--db-port",
        ) from None


def _app_login_works(target: Target) -> bool:
    try:
        with _connect(target, target.app, what="the application user"):
            return True
    except NexusError:
        return False


@dataclass(frozen=True)
class RoleState:
    """What the database says about the application's role now."""

    exists: bool
    login_works: bool
    owns_database: bool
    schema_ok: bool


# Every step the role can need, in order, with what makes it unnecessary.
STEPS: tuple[tuple[str, str], ...] = (
    ("create-role", "create login role {user} with the password from its secret"),
    ("set-password", "set the password of {user} to the one in its secret"),
    ("own-database", "make {user} the owner of database {database}"),
    ("grant-schema", "grant {user} all privileges on schema public"),
)


def describe(name: str, target: Target) -> str:
    template = dict(STEPS)[name]
    return template.format(user=repr(target.app.username), database=repr(target.database))


def state(target: Target) -> RoleState:
    """Read the role's state (as the master user; the login is tried as the application)."""
    user = target.app.username
    with _connect(target, target.master, what="the master user") as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (user,)).fetchone() is not None
        owner_row = conn.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
        ).fetchone()
        schema_ok = exists and bool(
            conn.execute("SELECT has_schema_privilege(%s, 'public', 'CREATE')", (user,)).fetchone()[0]  # type: ignore[index]
        )
    return RoleState(
        exists=exists,
        login_works=exists and _app_login_works(target),
        owns_database=owner_row is not None and owner_row[0] == user,
        schema_ok=schema_ok,
    )


def satisfied(name: str, now: RoleState) -> bool:
    """True when the role needs no step `name`. A role still to be created gets its password with it."""
    return {
        "create-role": now.exists,
        "set-password": not now.exists or now.login_works,
        "own-database": now.owns_database,
        "grant-schema": now.schema_ok,
    }[name]


def plan(target: Target) -> list[Step]:
    """What the role still needs, in order; empty when it matches the secret."""
    now = state(target)
    return [Step(name, describe(name, target)) for name, _ in STEPS if not satisfied(name, now)]


def _statement(name: str, target: Target) -> sql.Composed:
    user, password = sql.Identifier(target.app.username), sql.Literal(target.app.password)
    statements: dict[str, Callable[[], sql.Composed]] = {
        "create-role": lambda: sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(user, password),
        "set-password": lambda: sql.SQL("ALTER ROLE {} WITH LOGIN PASSWORD {}").format(user, password),
        "own-database": lambda: sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
            sql.Identifier(target.database), user
        ),
        "grant-schema": lambda: sql.SQL("GRANT ALL ON SCHEMA public TO {}").format(user),
    }
    return statements[name]()


def apply_step(target: Target, name: str) -> None:
    """Take one step: one statement as the master user."""
    with _connect(target, target.master, what="the master user") as conn:
        try:
            conn.execute(_statement(name, target))
        except psycopg.Error as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise NexusError(
                f"{name} failed: {first}", hint="the master user needs CREATEROLE (RDS grants it)"
            ) from None


def apply(target: Target, steps: list[Step]) -> None:
    """Take the planned steps in order (after a crash a re-plan lists only what is left)."""
    for step in steps:
        apply_step(target, step.name)
