"""Configuration comes only from the environment and a bad one is refused with one line per bad variable."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from nexus_api.config import ConfigError, load_settings

VALID = {
    "NEXUS_API_DATABASE_URL": "postgresql://nexus:s3cret@db.internal:5432/nexus",
    "NEXUS_API_REDIS_URL": "rediss://cache.internal:6379/0",
    "NEXUS_API_REGION": "eu-west-1",
    "NEXUS_API_ROLE": "standby",
}


def errors_for(environ: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_settings(environ)
    return info.value.lines


def test_valid_environment_is_read_with_types_and_defaults() -> None:
    settings = load_settings({**VALID, "NEXUS_API_PORT": "9000", "NEXUS_API_ACCESS_LOG": "false",
                              "NEXUS_API_LOG_LEVEL": "debug", "UNRELATED": "x"})  # fmt: skip
    assert settings.region == "eu-west-1"
    assert settings.role == "standby"
    assert settings.port == 9000
    assert settings.access_log is False
    assert settings.log_level == "DEBUG"
    assert settings.conninfo() == VALID["NEXUS_API_DATABASE_URL"]


def test_every_missing_required_variable_is_named() -> None:
    lines = errors_for({})
    assert lines == sorted(
        f"NEXUS_API_{name}: required but not set" for name in ("DATABASE_URL", "REDIS_URL", "REGION", "ROLE")
    )


def test_one_line_per_bad_variable_naming_it_and_its_value() -> None:
    lines = errors_for({**VALID, "NEXUS_API_PORT": "http", "NEXUS_API_ROLE": "leader",
                        "NEXUS_API_WORKERS": "0", "NEXUS_API_LOG_LEVEL": "loud"})  # fmt: skip
    assert len(lines) == 4
    by_var = {line.split(":", 1)[0]: line for line in lines}
    assert set(by_var) == {"NEXUS_API_PORT", "NEXUS_API_ROLE", "NEXUS_API_WORKERS", "NEXUS_API_LOG_LEVEL"}
    assert "'http'" in by_var["NEXUS_API_PORT"]
    assert "primary" in by_var["NEXUS_API_ROLE"] and "'leader'" in by_var["NEXUS_API_ROLE"]
    assert "'0'" in by_var["NEXUS_API_WORKERS"]
    assert all("\n" not in line for line in lines)


def test_cross_field_rule_names_the_variable() -> None:
    lines = errors_for({**VALID, "NEXUS_API_DB_POOL_MIN_SIZE": "8", "NEXUS_API_DB_POOL_MAX_SIZE": "4"})
    assert len(lines) == 1
    assert lines[0].startswith("NEXUS_API_DB_POOL_MAX_SIZE: ")
    assert "NEXUS_API_DB_POOL_MIN_SIZE" in lines[0]


def test_urls_are_checked_but_never_echoed() -> None:
    lines = errors_for({**VALID, "NEXUS_API_DATABASE_URL": "mysql://root:hunter2@db/nexus",
                        "NEXUS_API_REDIS_URL": "memcached://user:hunter2@cache"})  # fmt: skip
    assert [line.split(":", 1)[0] for line in lines] == ["NEXUS_API_DATABASE_URL", "NEXUS_API_REDIS_URL"]
    assert not any("hunter2" in line for line in lines)


def test_kubernetes_service_link_collision_gets_a_hint() -> None:
    (line,) = errors_for({**VALID, "NEXUS_API_PORT": "tcp://10.100.0.7:8080"})
    assert line.startswith("NEXUS_API_PORT: ")
    assert "enableServiceLinks" in line


def test_the_process_refuses_to_start_and_says_why() -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("NEXUS_API_")}
    env.update({**VALID, "NEXUS_API_ROLE": "leader", "NEXUS_API_CACHE_TTL_SECONDS": "-5"})
    proc = subprocess.run(
        [sys.executable, "-m", "nexus_api"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert lines[0] == "nexus-api: invalid configuration:"
    assert sorted(line.strip().split(":", 1)[0] for line in lines[1:]) == [
        "NEXUS_API_CACHE_TTL_SECONDS",
        "NEXUS_API_ROLE",
    ]
