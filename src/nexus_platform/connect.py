"""The one place that picks a world for an environment: the sandbox's local processes for an emulated
environment (its tfvars name an aws_endpoint_url), AWS for the others. Commands and runbooks ask here; none
tests an environment's name.

An emulated environment can also be driven through the AWS world (`Reach(world="aws")`): the production
adapters against the emulator that holds what the real Terraform made, a rehearsal of the production runbook.
`Reach.outage` then rehearses a regional outage (that region's APIs do not answer)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nexus_platform import model
from nexus_platform import platform as platform_model
from nexus_platform.errors import InputError
from nexus_platform.runbooks.dr import Target
from nexus_platform.world.base import World

Clients = Callable[[str, str], Any]

WORLDS = ("local", "aws")
GLOBAL_API = "global"  # the key of the global endpoint in Reach.api_urls (the others are region roles)


@dataclass(frozen=True)
class Reach:
    """How a command reaches the platform, beyond the environment's defaults.

    world: "local" (the sandbox's processes: emulated environments only) or "aws"; None: the environment's
    own. kube_api: a region role's Kubernetes API URL, for clusters whose endpoint is private (a tunnel, a
    bastion's forwarded port); the others are found through EKS DescribeCluster. kube_ca: the PEM to verify
    them with. api_urls: the records API to probe, by "global" or region role (default: https://api.<domain>
    and each region's origin name; for an emulated environment, the sandbox's edge and regional load
    balancers). outage: region roles whose regional AWS APIs are made unreachable (a rehearsal: emulated
    environments only).
    """

    world: str | None = None
    kube_api: Mapping[str, str] = field(default_factory=dict)
    kube_ca: Path | None = None
    api_urls: Mapping[str, str] = field(default_factory=dict)
    outage: frozenset[str] = frozenset()

    def world_for(self, env: str) -> str:
        """The world `env` runs in with these options; a one-line error for a combination that cannot be."""
        if env not in model.ENVIRONMENTS:
            raise InputError(
                f"unknown environment {env!r}", hint=f"use one of: {', '.join(model.ENVIRONMENTS)}"
            )
        local = emulated(env)
        world = self.world or ("local" if local else "aws")
        if world not in WORLDS:
            raise InputError(f"unknown world {world!r}", hint=f"--world {' or --world '.join(WORLDS)}")
        if world == "local" and not local:
            raise InputError(f"{env} runs on AWS: there is no local world for it", hint="drop --world local")
        aws_only = {"--kube-api": self.kube_api, "--kube-ca": self.kube_ca, "--api-url": self.api_urls}
        given = [name for name, value in aws_only.items() if value]
        if world == "local" and (given or self.outage):
            names = ", ".join([*given, *(["--outage"] if self.outage else [])])
            raise InputError(f"{names}: for the AWS world only", hint="add --world aws (a rehearsal)")
        if self.outage and not local:
            raise InputError(
                f"--outage rehearses a regional outage against the emulator; {env} is real AWS",
                hint="use --env sandbox --world aws",
            )
        unknown = sorted(set(self.outage) - set(model.ROLES)) + sorted(set(self.kube_api) - set(model.ROLES))
        unknown += sorted(set(self.api_urls) - {GLOBAL_API, *model.ROLES})
        if unknown:
            raise InputError(
                f"unknown region role {unknown[0]!r}", hint=f"one of {', '.join((GLOBAL_API, *model.ROLES))}"
            )
        return world


def emulated(env: str) -> bool:
    """True when `env` runs on this machine (the emulator and the sandbox's data plane), not on AWS."""
    return model.environment(env).endpoint_url is not None


def platform_of(env: str, outputs: Path | None = None) -> platform_model.Platform:
    """The model of `env`: from `outputs` (`terraform output -json`) if given, else the emulated environment's
    applied state on this machine."""
    if outputs is None and env in model.ENVIRONMENTS and emulated(env):
        from nexus_platform.sandbox import planes  # noqa: PLC0415

        return platform_model.from_outputs(env, planes.control().root().outputs())
    return platform_model.load(env, outputs)


def target(env: str, outputs: Path | None = None, reach: Reach | None = None) -> Target:
    """The platform model of `env` and the adapters of its world."""
    reach = reach or Reach()
    world_name = reach.world_for(env)
    platform = platform_of(env, outputs)
    world: World
    if world_name == "local":
        from nexus_platform.sandbox import planes  # noqa: PLC0415
        from nexus_platform.world.aws.backup_jobs import BackupJobs  # noqa: PLC0415
        from nexus_platform.world.aws.clients import Waiting  # noqa: PLC0415
        from nexus_platform.world.local import api  # noqa: PLC0415
        from nexus_platform.world.local.backups import LocalBackups, RestoreSite  # noqa: PLC0415
        from nexus_platform.world.local.scaling import LocalScaling  # noqa: PLC0415
        from nexus_platform.world.local.world import sandbox_world  # noqa: PLC0415

        control, data = planes.running()
        facts = {role: platform.region(role) for role in model.ROLES}
        backups = LocalBackups(
            data.postgres,
            lambda role: control.client("s3", facts[role].region),
            regions={role: f.region for role, f in facts.items()},
            buckets={role: f.state_bucket for role, f in facts.items()},
            sources={role: f.db_instance_identifier for role, f in facts.items()},
            database=api.database_name(data.chart),
            restores=RestoreSite(data.root, data.processes, data.pg_tls(), data.pg_settings()),
            caches=lambda role: (data.redis(role), data.cache_token() or ""),
            # The emulator ends a job at once: a short pace.
            jobs=BackupJobs(platform, control.client, Waiting(delay=0.2, timeout=60.0)),
        )
        world = sandbox_world(
            data,
            lambda region: control.client("secretsmanager", region),
            backups,
            LocalScaling(data, data.chart),
        )
    else:
        world = _aws(env, platform, reach)
    return Target(world=world, platform=platform)


def _aws(env: str, platform: platform_model.Platform, reach: Reach) -> World:
    from nexus_platform.world.aws.eks.kube import EksTokens, KubeAccess  # noqa: PLC0415
    from nexus_platform.world.aws.probe import AwsProbe, platform_urls  # noqa: PLC0415
    from nexus_platform.world.aws.world import aws_world  # noqa: PLC0415

    clients = _aws_clients(env, reach)
    ca_pem = _read(reach.kube_ca, "--kube-ca") if reach.kube_ca else None
    kube = {
        role: KubeAccess(
            host=url,
            token=EksTokens(
                platform.region(role).cluster_name, platform.region(role).region, clients.credentials
            ),
            ca_pem=ca_pem,
        )
        for role, url in reach.kube_api.items()
    }
    global_url, region_urls = platform_urls(platform)
    defaults = {GLOBAL_API: global_url, **region_urls}
    if emulated(env):
        # The emulator answers for AWS's APIs, not for api.<domain>: the sandbox's data plane does.
        from nexus_platform.sandbox import planes  # noqa: PLC0415

        data = planes.running()[1]
        defaults = {GLOBAL_API: data.edge_url(), **{role: data.lb_url(role) for role in model.ROLES}}
    urls = {**defaults, **reach.api_urls}
    return aws_world(
        platform,
        endpoint_url=clients.endpoint_url,
        ca_bundle=clients.ca_bundle,
        kube=kube or None,
        outage=clients.outage,
        probe=AwsProbe(urls[GLOBAL_API], {role: urls[role] for role in model.ROLES}),
    )


def _aws_clients(env: str, reach: Reach) -> Any:
    from nexus_platform.world.aws.clients import Clients as AwsClients  # noqa: PLC0415

    ca_bundle = None
    if emulated(env):
        from nexus_platform.sandbox import tls  # noqa: PLC0415

        ca_bundle = tls.files(model.paths().tls_dir).ca
    environment = model.environment(env)
    outage = frozenset(environment.region(role).name for role in reach.outage)
    return AwsClients(environment.endpoint_url, ca_bundle, outage=outage)


def _read(path: Path, option: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"{option} {path}: {exc.strerror}", hint="give a readable PEM file") from exc


def control_clients(env: str, reach: Reach | None = None) -> Clients:
    """boto3 clients by (service, region) for `env`'s control plane: the emulator's, or AWS's (a rehearsed
    outage's region does not answer)."""
    if reach is not None and reach.outage:
        return _aws_clients(env, reach)  # type: ignore[no-any-return]
    if emulated(env):
        from nexus_platform.sandbox.controlplane import ControlPlane  # noqa: PLC0415

        return ControlPlane().client
    from nexus_platform import awsapi  # noqa: PLC0415

    return awsapi.client


def pushgateway(env: str) -> str | None:
    """Where `env`'s toolkit metrics go: the sandbox's Pushgateway, else NEXUS_PUSHGATEWAY_URL (e.g. a port
    forwarded to the cluster's), else nowhere."""
    if emulated(env):
        from nexus_platform.sandbox import planes  # noqa: PLC0415

        return planes.both()[1].pushgateway_url()
    import os  # noqa: PLC0415

    return os.environ.get("NEXUS_PUSHGATEWAY_URL") or None


def check_interval(env: str, platform: platform_model.Platform) -> float:
    """Seconds between the edge's health checks in `env`'s world (the sandbox's time runs faster)."""
    if emulated(env):
        return model.sandbox_config().check_interval_ms / 1000
    return float(platform.health_check.request_interval)
