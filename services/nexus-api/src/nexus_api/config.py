"""Configuration: read only from environment variables, validated once at start.

Every setting is an environment variable named ``NEXUS_API_<FIELD>``. A bad configuration stops the process
with one line per bad variable, so an operator sees every mistake at once instead of fixing them one restart
at a time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from psycopg.conninfo import conninfo_to_dict
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

ENV_PREFIX = "NEXUS_API_"

Role = Literal["primary", "standby"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class ConfigError(Exception):
    """The environment does not describe a valid configuration; ``lines`` holds one message per bad
    variable."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("invalid configuration:\n" + "\n".join(f"  {line}" for line in lines))
        self.lines = lines


class Settings(BaseModel):
    """The service's configuration. Field ``foo_bar`` is read from ``NEXUS_API_FOO_BAR``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Where the data lives. URLs may carry passwords, so they are secrets and never echoed back.
    database_url: SecretStr
    redis_url: SecretStr
    # The region this process serves and what it is there: a primary must be able to write, a standby only
    # read.
    region: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
    role: Role

    host: str = "0.0.0.0"  # noqa: S104 - a container listens on all of its interfaces
    port: Annotated[int, Field(ge=1, le=65535)] = 8080
    workers: Annotated[int, Field(ge=1, le=64)] = 1
    log_level: LogLevel = "INFO"
    access_log: bool = True
    # Overrides the package version in nexus_api_build_info (the image build sets it to the image tag).
    version: Annotated[str, Field(min_length=1, max_length=64)] | None = None

    db_pool_min_size: Annotated[int, Field(ge=0, le=1000)] = 2
    db_pool_max_size: Annotated[int, Field(ge=1, le=1000)] = 10
    db_pool_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 2.0
    db_connect_timeout_seconds: Annotated[int, Field(ge=1, le=60)] = 3
    db_statement_timeout_ms: Annotated[int, Field(ge=0)] = 5000
    db_role_poll_interval_seconds: Annotated[float, Field(gt=0, le=60)] = 1.0
    # A write refused because the database looked read-only re-checks its role at once, at most this often:
    # a promoted replica then takes writes from the first refused write after its promotion instead of the
    # next poll (up to a poll interval later, with every write refused meanwhile).
    db_role_recheck_seconds: Annotated[float, Field(gt=0, le=60)] = 0.05

    cache_ttl_seconds: Annotated[int, Field(ge=1)] = 300
    # Bounds how long the list can miss a write whose cache invalidation failed (Redis unreachable at the
    # time).
    cache_list_ttl_seconds: Annotated[int, Field(ge=1)] = 30
    cache_timeout_seconds: Annotated[float, Field(gt=0, le=10)] = 0.25
    cache_max_connections: Annotated[int, Field(ge=1, le=10000)] = 64

    read_only_retry_after_seconds: Annotated[int, Field(ge=1, le=3600)] = 5
    readiness_timeout_seconds: Annotated[float, Field(gt=0, le=30)] = 2.0
    shutdown_timeout_seconds: Annotated[int, Field(ge=1, le=600)] = 25
    max_body_bytes: Annotated[int, Field(ge=1024, le=16 * 1024 * 1024)] = 65536

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value()
        if not raw.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// URL")
        try:
            conninfo_to_dict(raw)
        except Exception:
            # The parser's message may quote the URL, password included: say only that it is malformed.
            raise ValueError("is not a valid PostgreSQL connection URL") from None
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: SecretStr) -> SecretStr:
        if not re.match(r"^(redis|rediss|unix)://.+", value.get_secret_value()):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value

    @model_validator(mode="after")
    def _check_pool_bounds(self) -> Settings:
        if self.db_pool_max_size < self.db_pool_min_size:
            raise ValueError("db_pool_max_size: must be >= NEXUS_API_DB_POOL_MIN_SIZE")
        return self

    def conninfo(self) -> str:
        return self.database_url.get_secret_value()


SECRET_FIELDS = frozenset({"database_url", "redis_url"})


def env_name(field: str) -> str:
    return ENV_PREFIX + field.upper()


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Build the settings from ``environ``; raise ConfigError naming every bad variable."""
    values = {
        field: environ[env_name(field)] for field in Settings.model_fields if env_name(field) in environ
    }
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, environ)) from None


def _describe(exc: ValidationError, environ: Mapping[str, str]) -> list[str]:
    lines: list[str] = []
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        message = str(error["msg"]).removeprefix("Value error, ")
        if not loc:
            # A cross-field rule: its message starts with the field it blames.
            field, _, message = message.partition(": ")
        else:
            field = str(loc[0])
        name = env_name(field)
        if error["type"] == "missing":
            lines.append(f"{name}: required but not set")
            continue
        line = f"{name}: {message}"
        if field not in SECRET_FIELDS and name in environ:
            line += f" (got {environ[name]!r})"
        if field == "port" and environ.get(name, "").startswith("tcp://"):
            # Kubernetes injects <SERVICE>_PORT=tcp://... for a Service named nexus-api.
            line += "; set enableServiceLinks: false on the pod"
        lines.append(line)
    return sorted(set(lines))
