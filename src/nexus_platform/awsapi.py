"""boto3 clients built one way: botocore's standard retry mode, and the emulator endpoint in the sandbox; and
the credentials those clients sign with (for the few requests signed by hand, such as an EKS bearer
token)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nexus_platform.errors import NexusError

# Sandbox credentials: the emulator accepts any; real runs take the caller's usual credential chain.
EMULATOR_CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}


def client(
    service: str,
    region: str,
    endpoint_url: str | None = None,
    *,
    ca_bundle: Path | None = None,
    max_attempts: int = 5,
) -> Any:
    """A client for AWS, or for the emulator at `endpoint_url` (verified against `ca_bundle` over HTTPS)."""
    # Imported here: boto3 costs a third of a second, which commands that never call AWS should not pay.
    import boto3  # noqa: PLC0415
    from botocore.config import Config  # noqa: PLC0415

    config = Config(
        retries={"mode": "standard", "max_attempts": max_attempts}, connect_timeout=5, read_timeout=30
    )
    if endpoint_url:
        return boto3.client(  # type: ignore[call-overload]
            service,
            region_name=region,
            endpoint_url=endpoint_url,
            config=config,
            verify=str(ca_bundle) if ca_bundle else True,
            **EMULATOR_CREDENTIALS,
        )
    return boto3.client(service, region_name=region, config=config)  # type: ignore[call-overload]


def credentials(endpoint_url: str | None = None) -> Any:
    """The botocore credentials a client for `endpoint_url` signs with: the emulator's dummy pair, else the
    caller's usual chain (environment, profile, SSO, instance role)."""
    import boto3  # noqa: PLC0415
    from botocore.credentials import Credentials  # noqa: PLC0415

    if endpoint_url:
        return Credentials(
            EMULATOR_CREDENTIALS["aws_access_key_id"], EMULATOR_CREDENTIALS["aws_secret_access_key"]
        )
    found = boto3.Session().get_credentials()
    if found is None:
        raise NexusError("no AWS credentials found", hint="configure a profile, SSO or environment variables")
    return found
