"""boto3 clients built one way: botocore's standard retry mode, and the emulator endpoint in the sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
