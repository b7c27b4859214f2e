"""The application's secrets as each region's workloads read them: found from the app config secret, as the
chart's External Secrets do (the DR region reads the replicas)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nexus_platform.database import approle
from nexus_platform.errors import NexusError


@dataclass(frozen=True)
class RegionSecrets:
    """What a region's workloads read from its Secrets Manager (the DR region reads the replicas)."""

    app: approle.Credentials
    cache_token: str = field(repr=False)


def read_secrets(client: Any, name_prefix: str) -> RegionSecrets:
    """The region's copy of the application secrets, found from the app config secret as the chart does."""
    config = approle._secret_json(client, approle.app_config_secret(name_prefix), "application configuration")
    try:
        app_name = approle.secret_name(str(config["database_app_secret_arn"]))
        token_name = approle.secret_name(str(config["cache_auth_secret_arn"]))
    except KeyError as exc:
        raise NexusError(f"the app config secret lacks {exc}", hint="re-apply terraform/aws") from None
    app = approle._credentials(approle._secret_json(client, app_name, "application database user"), app_name)
    token = client.get_secret_value(SecretId=token_name)["SecretString"]
    return RegionSecrets(app=app, cache_token=str(token))


def read_master(client: Any, name_prefix: str) -> approle.Credentials:
    """The RDS-managed master user (primary region only: RDS does not replicate its secret)."""
    config = approle._secret_json(client, approle.app_config_secret(name_prefix), "application configuration")
    arn = str(config.get("database_master_user_secret_arn", ""))
    return approle._credentials(approle._secret_json(client, arn, "RDS master user"), arn)
