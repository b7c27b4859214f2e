"""`nexus scale set`, world-blind (world/base.py's `Scaling`): what a change asks, the rules it must keep, and
the runbook that makes it.

The rules, each refused with its name (`rule <name>: ...`) before anything changes:
- bounds-ordered: 0 <= min <= desired <= max (node groups), 1 <= min <= max (nexus-api's autoscaler);
- writer-not-to-zero: the region that takes writes keeps at least one node and one nexus-api replica;
- dr-replica-kept: the writer's read replicas include the other region's, so never fewer than one; and read
  replicas are the writer's (the standby's database is itself a replica);
- warm-standby-floor: the standby keeps a node and a replica, and can grow to what the writer runs now (its
  maximum at least the writer's current size: the Terraform check `dr_is_warm_standby` says the same of
  node groups);
- cache-failover: a shard keeps at least one replica (automatic failover needs one);
- quota: no more than the world's known limit (`Scaling.quotas`: EKS, RDS and ElastiCache quotas on AWS, the
  ports of sandbox.toml in the sandbox).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nexus_platform.errors import InputError, NexusError
from nexus_platform.ops.context import Context
from nexus_platform.ops.step import Call, Runbook, Step
from nexus_platform.runbooks.dr import Target
from nexus_platform.world.base import Quotas, Scale, Scaling

_NODES = re.compile(r"^(?:(?P<group>[A-Za-z0-9][A-Za-z0-9_-]*)=)?(?P<min>\d+):(?P<desired>\d+):(?P<max>\d+)$")
_PAIR = re.compile(r"^(?P<min>\d+):(?P<max>\d+)$")


@dataclass(frozen=True)
class Nodes:
    group: str | None
    min: int
    desired: int
    max: int


@dataclass(frozen=True)
class Request:
    role: str
    nodes: Nodes | None = None
    api: tuple[int, int] | None = None
    db_read_replicas: int | None = None
    cache_replicas: int | None = None

    def empty(self) -> bool:
        return (self.nodes, self.api, self.db_read_replicas, self.cache_replicas) == (None,) * 4

    def as_params(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "nodes": None if self.nodes is None else self.nodes.__dict__,
            "api": None if self.api is None else list(self.api),
            "db_read_replicas": self.db_read_replicas,
            "cache_replicas": self.cache_replicas,
        }

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Request:
        nodes, api = params.get("nodes"), params.get("api")
        return cls(
            role=str(params["role"]),
            nodes=Nodes(**nodes) if isinstance(nodes, Mapping) else None,
            api=(int(api[0]), int(api[1])) if isinstance(api, list | tuple) else None,
            db_read_replicas=params.get("db_read_replicas"),
            cache_replicas=params.get("cache_replicas"),
        )


def parse_nodes(text: str) -> Nodes:
    found = _NODES.match(text.strip())
    if not found:
        raise InputError(
            f"--nodes {text!r} is not [GROUP=]MIN:DESIRED:MAX", hint="e.g. --nodes general=3:4:10"
        )
    return Nodes(found["group"], int(found["min"]), int(found["desired"]), int(found["max"]))


def parse_pair(text: str) -> tuple[int, int]:
    found = _PAIR.match(text.strip())
    if not found:
        raise InputError(f"--api-replicas {text!r} is not MIN:MAX", hint="e.g. --api-replicas 3:12")
    return int(found["min"]), int(found["max"])


def scaling_of(target: Target) -> Scaling:
    if target.world.scaling is None:
        raise NexusError(f"the {target.world.name} world has no scaling")
    return target.world.scaling


def _group(request: Nodes, view: Scale) -> str:
    names = [g.name for g in view.node_groups]
    if not names:
        raise InputError(f"{view.region} has no node groups here", hint="drop --nodes")
    if request.group is not None:
        if request.group not in names:
            raise InputError(
                f"{view.region} has no node group {request.group!r}",
                hint=f"one of: {', '.join(names) or '(none)'}",
            )
        return request.group
    if len(names) != 1:
        raise InputError(
            f"{view.region} has {len(names)} node groups: name one",
            hint=f"--nodes GROUP=MIN:DESIRED:MAX with GROUP one of: {', '.join(names) or '(none)'}",
        )
    return names[0]


def node_group(request: Request, view: Scale) -> str | None:
    """The node group `request` resizes (None when it resizes none)."""
    return None if request.nodes is None else _group(request.nodes, view)


def refusals(request: Request, views: Mapping[str, Scale], writer: str, quotas: Quotas) -> list[str]:
    """Every rule the request breaks, as `rule <name>: <why>` (empty: it may run)."""
    found: list[str] = []
    view, standby = views[request.role], request.role != writer
    other = views[writer]

    def refuse(rule: str, why: str) -> None:
        found.append(f"rule {rule}: {why}")

    if (n := request.nodes) is not None:
        group = _group(n, view)
        if not 0 <= n.min <= n.desired <= n.max:
            refuse(
                "bounds-ordered",
                f"node group {group}: {n.min}:{n.desired}:{n.max} is not min <= desired <= max",
            )
        if not standby and (n.desired < 1 or n.max < 1):
            refuse("writer-not-to-zero", f"{view.region} takes writes: keep at least one node in {group}")
        if standby:
            wanted = next((g.desired for g in other.node_groups if g.name == group), 0)
            if n.min < 1 or n.max < wanted:
                refuse(
                    "warm-standby-floor",
                    f"{view.region} is the standby: keep min >= 1 and max >= {wanted} "
                    f"({other.region}'s {group} runs {wanted})",
                )
        if quotas.node_group_size is not None and n.max > quotas.node_group_size:
            refuse("quota", f"a node group holds at most {quotas.node_group_size} nodes")
    if request.api is not None:
        low, high = request.api
        if not 0 <= low <= high:
            refuse("bounds-ordered", f"nexus-api {low}:{high} is not min <= max")
        if not standby and low < 1:
            refuse("writer-not-to-zero", f"{view.region} takes writes: keep at least one nexus-api replica")
        if standby and (low < 1 or high < other.api_desired):
            refuse(
                "warm-standby-floor",
                f"{view.region} is the standby: keep min >= 1 and max >= {other.api_desired} "
                f"(what {other.region} runs now)",
            )
        if quotas.api_replicas is not None and high > quotas.api_replicas:
            refuse("quota", f"{view.region} has room for {quotas.api_replicas} nexus-api replicas")
    if (count := request.db_read_replicas) is not None:
        if standby:
            refuse(
                "dr-replica-kept", f"read replicas are the writer's ({other.region}'s), not {view.region}'s"
            )
        elif count < 1:
            refuse(
                "dr-replica-kept",
                "the other region's replica is one of the writer's read replicas: keep >= 1",
            )
        if quotas.db_read_replicas is not None and count > quotas.db_read_replicas:
            refuse("quota", f"a database has at most {quotas.db_read_replicas} read replicas")
    if (count := request.cache_replicas) is not None:
        if count < 1:
            refuse("cache-failover", "automatic failover needs a replica in every shard: keep >= 1")
        if quotas.cache_replicas_per_shard is not None and count > quotas.cache_replicas_per_shard:
            refuse("quota", f"a shard has at most {quotas.cache_replicas_per_shard} replicas")
    return found


def _target(ctx: Context) -> Target:
    world: Target = ctx.world
    return world


def _view(ctx: Context) -> Scale:
    return scaling_of(_target(ctx)).show(str(ctx.params["role"]))


def set_runbook(request: Request) -> Runbook:
    """One step per thing the request changes; each asks the world whether it already has it."""
    steps: list[Step] = []
    if (n := request.nodes) is not None:
        nodes = n

        def group(ctx: Context) -> str:
            return _group(nodes, _view(ctx))

        def nodes_done(ctx: Context) -> bool:
            name = group(ctx)
            return any(
                (g.name, g.min, g.desired, g.max) == (name, nodes.min, nodes.desired, nodes.max)
                for g in _view(ctx).node_groups
            )

        def set_nodes(ctx: Context) -> Mapping[str, Any]:
            name = group(ctx)
            scaling_of(_target(ctx)).set_nodes(request.role, name, nodes.min, nodes.desired, nodes.max)
            return {"node_group": name, "min": nodes.min, "desired": nodes.desired, "max": nodes.max}

        steps.append(
            Step(
                "resize-node-group",
                f"node group to {nodes.min}:{nodes.desired}:{nodes.max}",
                reversible=True,
                apply=set_nodes,
                done=nodes_done,
                calls=lambda ctx: [
                    Call(
                        "eks",
                        "update_nodegroup_config",
                        {
                            "region": request.role,
                            "group": group(ctx),
                            "min": nodes.min,
                            "desired": nodes.desired,
                            "max": nodes.max,
                        },
                    )
                ],
            )
        )
    if (api := request.api) is not None:
        low, high = api

        def set_api(ctx: Context) -> Mapping[str, Any]:
            scaling_of(_target(ctx)).set_api_bounds(request.role, low, high)
            return {"min": low, "max": high}

        steps.append(
            Step(
                "set-api-autoscaling",
                f"nexus-api's autoscaler bounds to {low}..{high}",
                reversible=True,
                apply=set_api,
                done=lambda ctx: (_view(ctx).api_min, _view(ctx).api_max) == (low, high),
                calls=lambda ctx: [
                    Call("autoscaler", "bounds", {"region": request.role, "min": low, "max": high})
                ],
            )
        )
    if (db := request.db_read_replicas) is not None:
        count = db

        def set_db(ctx: Context) -> Mapping[str, Any]:
            scaling_of(_target(ctx)).set_db_read_replicas(request.role, count)
            return {"read_replicas": count}

        steps.append(
            Step(
                "set-db-read-replicas",
                f"the database's read replicas to {count} (the other region's included)",
                reversible=True,
                apply=set_db,
                done=lambda ctx: _view(ctx).db_read_replicas == count,
                calls=lambda ctx: [Call("rds", "read_replicas", {"region": request.role, "count": count})],
            )
        )
    if (cache := request.cache_replicas) is not None:
        replicas = cache

        def set_cache(ctx: Context) -> Mapping[str, Any]:
            scaling_of(_target(ctx)).set_cache_replicas(request.role, replicas)
            return {"replicas_per_shard": replicas}

        steps.append(
            Step(
                "set-cache-replicas",
                f"the cache's replicas per shard to {replicas}",
                reversible=True,
                apply=set_cache,
                done=lambda ctx: _view(ctx).cache_replicas_per_shard == replicas,
                calls=lambda ctx: [
                    Call("elasticache", "replica_count", {"region": request.role, "count": replicas})
                ],
            )
        )
    return Runbook("scale.set", "change what a region runs, within the platform's rules", tuple(steps))


@dataclass(frozen=True)
class Permanent:
    """Where a change lives for good: a number in the environment's tfvars or in the chart's values, and
    what the next apply or sync does with the change made now."""

    file: str  # relative to the repository
    keys: tuple[str, ...]
    value: int
    note: str = ""

    def line(self) -> str:
        return f"{self.file}: {'.'.join(self.keys)} = {self.value}" + (
            f"  # {self.note}" if self.note else ""
        )


def permanent(request: Request, group: str | None, tfvars: str, values: str) -> list[Permanent]:
    """The source-of-truth edits that keep `request` (Terraform's tfvars, the chart's values for Argo CD)."""
    found: list[Permanent] = []
    if (n := request.nodes) is not None and group is not None:
        var = f"{request.role}_node_groups"
        found += [
            Permanent(tfvars, (var, group, "min_size"), n.min),
            Permanent(tfvars, (var, group, "desired_size"), n.desired, "Terraform ignores later changes"),
            Permanent(tfvars, (var, group, "max_size"), n.max),
        ]
    if request.api is not None:
        note = "Argo CD syncs it back otherwise"
        found += [
            Permanent(values, ("autoscaling", "minReplicas"), request.api[0], note),
            Permanent(values, ("autoscaling", "maxReplicas"), request.api[1], note),
        ]
    if request.cache_replicas is not None:
        found.append(
            Permanent(
                tfvars, ("cache", "num_cache_clusters"), request.cache_replicas + 1, "both regions' groups"
            )
        )
    return found
