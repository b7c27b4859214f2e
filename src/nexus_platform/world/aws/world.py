"""The AWS world: the runbooks' interfaces (world/base.py) over boto3 and the Kubernetes API, one module
per adapter (database.py, cache.py, traffic.py, compute.py, probe.py) over <service>/{actions,probes}.py.

- Database: RDS for PostgreSQL, a primary and its cross-region read replica. Fence = revoke the application's
  path to the database (the DB security group's ingress from the nodes' security groups); promote =
  PromoteReadReplica; reseed = a new cross-region read replica under the original identifier.
- Cache: the ElastiCache global datastore (FailoverGlobalReplicationGroup).
- Traffic: the Route 53 health checks behind the api.<domain> failover records (drain = force unhealthy).
- Compute: the region's EKS managed node groups and the nexus-api Deployment (namespace nexus).
- Probe: HTTPS to nexus-api's records API through api.<domain>, or a region's origin name.

Every boto3 call goes through `awsapi.client` (via `Clients`); every failure is a one-line `NexusError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from nexus_platform.platform import Platform
from nexus_platform.world.aws.backups import AwsBackups
from nexus_platform.world.aws.cache import AwsCache
from nexus_platform.world.aws.clients import Clients
from nexus_platform.world.aws.compute import AwsCompute
from nexus_platform.world.aws.database import FENCE_TAG, AwsDatabase
from nexus_platform.world.aws.eks.kube import KubeAccess
from nexus_platform.world.aws.probe import AwsProbe, platform_urls
from nexus_platform.world.aws.scaling import AwsScaling
from nexus_platform.world.aws.traffic import AwsTraffic
from nexus_platform.world.aws.workloads import AwsWorkloads
from nexus_platform.world.base import World

__all__ = ["FENCE_TAG", "AwsCache", "AwsCompute", "AwsDatabase", "AwsTraffic", "aws_world"]


def aws_world(
    platform: Platform,
    *,
    endpoint_url: str | None = None,
    ca_bundle: Path | None = None,
    kube: KubeAccess | Mapping[str, KubeAccess] | None = None,
    outage: frozenset[str] = frozenset(),
    probe: AwsProbe | None = None,
) -> World:
    """The AWS adapters for `platform`: against AWS, or the emulator at `endpoint_url` (default: the platform
    model's, i.e. the sandbox's emulator for env sandbox) verified with `ca_bundle` (the sandbox CA for the
    emulator: the caller's to give, this world knows nothing of the sandbox).
    `kube` replaces the Kubernetes API access made from EKS DescribeCluster: one for every region, or by
    role. `outage` names regions whose regional APIs are to be treated as down (a rehearsal: see Clients).
    `probe` replaces the end-to-end probe of the platform's DNS names."""
    endpoint = endpoint_url if endpoint_url is not None else platform.endpoint_url
    clients = Clients(endpoint, ca_bundle, outage=outage)
    compute = AwsCompute(platform, clients, kube=kube)
    return World(
        name="aws",
        database=AwsDatabase(platform, clients),
        cache=AwsCache(platform, clients),
        traffic=AwsTraffic(platform, clients),
        compute=compute,
        probe=probe or AwsProbe(*platform_urls(platform)),
        backups=AwsBackups(platform, clients),
        scaling=AwsScaling(platform, clients, compute),
        workloads=AwsWorkloads(compute),
    )
