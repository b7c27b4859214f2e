"""The one place that picks a world for an environment: the sandbox's local processes for an emulated
environment (its tfvars name an aws_endpoint_url), AWS for the others. Commands and runbooks ask here; none
tests an environment's name."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from nexus_platform import model
from nexus_platform import platform as platform_model
from nexus_platform.runbooks.dr import Target
from nexus_platform.world.base import World

Clients = Callable[[str, str], Any]


def emulated(env: str) -> bool:
    """True when `env` runs on this machine (the emulator and the sandbox's data plane), not on AWS."""
    return model.environment(env).endpoint_url is not None


def target(env: str, outputs: Path | None = None) -> Target:
    """The platform model of `env` and the adapters of its world."""
    platform = platform_model.load(env, outputs)
    world: World
    if emulated(env):
        from nexus_platform.sandbox import planes  # noqa: PLC0415
        from nexus_platform.world.local.world import sandbox_world  # noqa: PLC0415

        control, data = planes.running()
        world = sandbox_world(data, lambda region: control.client("secretsmanager", region))
    else:
        from nexus_platform.world.aws.world import aws_world  # noqa: PLC0415

        world = aws_world(platform)
    return Target(world=world, platform=platform)


def control_clients(env: str) -> Clients:
    """boto3 clients by (service, region) for `env`'s control plane: the emulator's, or AWS's."""
    if emulated(env):
        from nexus_platform.sandbox.controlplane import ControlPlane  # noqa: PLC0415

        return ControlPlane().client
    from nexus_platform import awsapi  # noqa: PLC0415

    return awsapi.client


def check_interval(env: str, platform: platform_model.Platform) -> float:
    """Seconds between the edge's health checks in `env`'s world (the sandbox's time runs faster)."""
    if emulated(env):
        return model.sandbox_config().check_interval_ms / 1000
    return float(platform.health_check.request_interval)
