"""Amazon ElastiCache: replication-group member clusters and global datastores (global replication groups)."""

from __future__ import annotations

import copy
import hashlib
import inspect
import re
import string
from typing import Any

from moto.core.responses import ActionResult, EmptyResult
from moto.elasticache.exceptions import (
    ElastiCacheException,
    InvalidParameterValueException,
    ReplicationGroupNotFound,
)
from moto.elasticache.models import CacheCluster, ElastiCacheBackend, ReplicationGroup, elasticache_backends
from moto.elasticache.responses import ElastiCacheResponse

from . import add_action, extend, kept, wrap


class GlobalReplicationGroupNotFoundFault(ElastiCacheException):
    code = "GlobalReplicationGroupNotFoundFault"


class GlobalReplicationGroupAlreadyExistsFault(ElastiCacheException):
    code = "GlobalReplicationGroupAlreadyExistsFault"


class InvalidGlobalReplicationGroupStateFault(ElastiCacheException):
    code = "InvalidGlobalReplicationGroupStateFault"


class CacheParameterGroupNotFoundFault(ElastiCacheException):
    code = "CacheParameterGroupNotFound"


class CacheParameterGroupAlreadyExistsFault(ElastiCacheException):
    code = "CacheParameterGroupAlreadyExists"


# Members a secondary replication group takes from its global datastore (AWS ignores / forbids them on
# create).
INHERITED_FROM_GLOBAL = (
    "cache_node_type",
    "engine",
    "engine_version",
    "transit_encryption_enabled",
    "at_rest_encryption_enabled",
    "cache_parameter_group_name",
)


def region_prefix(region: str) -> str:
    """The five-letter prefix AWS puts before a global datastore's id suffix (fixed per region)."""
    digest = hashlib.sha256(region.encode()).digest()
    return "".join(string.ascii_lowercase[b % 26] for b in digest[:5])


class GlobalReplicationGroup:
    """A global datastore: one primary replication group and its cross-region secondaries."""

    def __init__(
        self,
        *,
        account_id: str,
        partition: str,
        group_id: str,
        description: str,
        primary: ReplicationGroup,
        region: str,
    ) -> None:
        self.global_replication_group_id = group_id
        self.global_replication_group_description = description
        self.status = "available"
        self.arn = f"arn:{partition}:elasticache::{account_id}:globalreplicationgroup:{group_id}"
        self.account_id = account_id
        # (region, replication group id) -> role; the primary first.
        self.members: dict[tuple[str, str], str] = {(region, primary.replication_group_id): "PRIMARY"}
        self.overrides: dict[str, Any] = {}

    def replication_group(self, region: str, group_id: str) -> ReplicationGroup | None:
        backend: ElastiCacheBackend = elasticache_backends[self.account_id][region]
        return backend.replication_groups.get(group_id)

    @property
    def primary(self) -> ReplicationGroup:
        for (region, group_id), role in self.members.items():
            if role == "PRIMARY":
                group = self.replication_group(region, group_id)
                if group is not None:
                    return group
        raise InvalidGlobalReplicationGroupStateFault(
            f"Global datastore {self.global_replication_group_id} has no primary"
        )

    def setting(self, name: str) -> Any:
        if name in self.overrides:
            return self.overrides[name]
        return getattr(self.primary, name, None)

    def describe(self, show_members: bool) -> dict[str, Any]:
        primary = self.primary
        result: dict[str, Any] = {
            "GlobalReplicationGroupId": self.global_replication_group_id,
            "GlobalReplicationGroupDescription": self.global_replication_group_description,
            "Status": self.status,
            "CacheNodeType": self.setting("cache_node_type"),
            "Engine": self.setting("engine"),
            "EngineVersion": self.setting("engine_version"),
            "ClusterEnabled": primary.cluster_mode == "enabled",
            "GlobalNodeGroups": [
                {
                    "GlobalNodeGroupId": f"{self.global_replication_group_id}-{group['node_group_id']}",
                    "Slots": group.get("slots", "0-16383"),
                }
                for group in primary.node_groups
            ],
            "AuthTokenEnabled": bool(primary.auth_token_enabled),
            "TransitEncryptionEnabled": bool(primary.transit_encryption_enabled),
            "AtRestEncryptionEnabled": bool(primary.at_rest_encryption_enabled),
            "ARN": self.arn,
        }
        if show_members:
            members = []
            for (region, group_id), role in self.members.items():
                group = self.replication_group(region, group_id)
                members.append(
                    {
                        "ReplicationGroupId": group_id,
                        "ReplicationGroupRegion": region,
                        "Role": role,
                        "AutomaticFailover": group.automatic_failover if group else "disabled",
                        "Status": "associated",
                    }
                )
            result["Members"] = members
        return result


def global_groups(account_id: str) -> dict[str, GlobalReplicationGroup]:
    """The account's global datastores (kept on the us-east-1 backend, so moto's reset clears them)."""
    backend = elasticache_backends[account_id]["us-east-1"]
    return kept(backend, "nexus_global_groups")


def _global_group(account_id: str, group_id: str) -> GlobalReplicationGroup:
    group = global_groups(account_id).get(group_id)
    if group is None:
        raise GlobalReplicationGroupNotFoundFault(f"Global replication group {group_id} not found.")
    return group


def _set_global_info(group: ReplicationGroup, global_id: str | None, role: str | None) -> None:
    group.global_replication_group_id = global_id or ""
    if role:
        group.global_replication_group_member_role = role
    elif "global_replication_group_member_role" in vars(group):
        del group.global_replication_group_member_role


def _default_parameter_group(engine: str, version: str | None) -> str:
    """AWS's default parameter group family name for an engine version (default.redis7, default.redis6.x,
    ...)."""
    parts = (version or "7").split(".")
    if engine == "redis" and parts[0] == "6":
        return "default.redis6.x"
    if engine == "redis" and int(parts[0]) < 6:
        return f"default.redis{parts[0]}.{parts[1] if len(parts) > 1 else '0'}"
    return f"default.{engine}{parts[0]}"


def _rebuild_members(
    backend: ElastiCacheBackend, group: ReplicationGroup, num_cache_clusters: int | None, azs: list[str]
) -> None:
    """Cluster mode disabled: one member per NumCacheClusters, in this region's AZs (moto made one, in
    us-east-1)."""
    if group.cluster_mode == "enabled" or not group.node_groups:
        return
    count = max(num_cache_clusters or len(group.member_clusters), 1)
    zones = azs or [f"{backend.region_name}{letter}" for letter in "abcdef"[: max(count, 2)]]
    node_group = group.node_groups[0]
    domain = node_group["primary_endpoint_address"].split(".", 1)[1]
    group.member_clusters.clear()
    node_group["node_group_members"] = []
    group._set_node_members_clusters_disabled(
        member_clusters=group.member_clusters,
        replication_group_id=group.replication_group_id,
        replication_group_domain=domain,
        node_group=node_group,
        preferred_cache_cluster_azs=zones,
        num_cache_clusters=count,
        replicas_per_node_group=count - 1,
    )
    if group.snapshot_retention_limit > 0:
        group.snapshotting_cluster_id = group.member_clusters[min(1, len(group.member_clusters) - 1)]


def _member_azs(group: ReplicationGroup) -> dict[str, str]:
    zones: dict[str, str] = {}
    for node_group in group.node_groups:
        for member in node_group["node_group_members"]:
            zones[member["cache_cluster_id"]] = member.get("preferred_availability_zone", "")
    return zones


_CACHE_CLUSTER_PARAMS = [
    name for name in inspect.signature(CacheCluster.__init__).parameters if name != "self"
]


def _create_member_clusters(
    backend: ElastiCacheBackend, group: ReplicationGroup, auth_token: str | None
) -> None:
    """Each member of a replication group is a cache cluster AWS lists in DescribeCacheClusters."""
    zones = _member_azs(group)
    parameter_group = group.cache_parameter_group_name or _default_parameter_group(
        group.engine, group.engine_version
    )
    for cluster_id in group.member_clusters:
        fields: dict[str, Any] = dict.fromkeys(_CACHE_CLUSTER_PARAMS)
        fields.update(
            account_id=backend.account_id,
            region_name=backend.region_name,
            cache_cluster_id=cluster_id,
            cache_node_type=group.cache_node_type,
            replication_group_id=group.replication_group_id,
            engine=group.engine,
            engine_version=group.engine_version,
            cache_parameter_group_name=parameter_group,
            cache_subnet_group_name=group.cache_subnet_group_name,
            transit_encryption_enabled=group.transit_encryption_enabled,
            network_type=group.network_type,
            ip_discovery=group.ip_discovery,
            preferred_availability_zone=zones.get(cluster_id),
            preferred_maintenance_window=group.preferred_maintenance_window,
            port=group.port,
            notification_topic_arn=group.notification_topic_arn,
            auto_minor_version_upgrade=group.auto_minor_version_upgrade,
            snapshot_retention_limit=group.snapshot_retention_limit,
            snapshot_window=group.snapshot_window,
            auth_token=auth_token,
            security_group_ids=group.security_group_ids,
            log_delivery_configurations=[],
            tags=group.tags,
        )
        cluster = CacheCluster(**fields)
        cluster.num_cache_nodes = 1
        cluster.replication_group_id = group.replication_group_id
        cluster.snapshot_window = group.snapshot_window
        cluster.auth_token_enabled = group.auth_token_enabled
        extend(
            cluster,
            at_rest_encryption_enabled=group.at_rest_encryption_enabled,
            transit_encryption_mode=group.transit_encryption_mode,
            security_groups=[
                {"SecurityGroupId": sg, "Status": "active"} for sg in group.security_group_ids or []
            ],
            cache_parameter_group={
                "CacheParameterGroupName": parameter_group,
                "ParameterApplyStatus": "in-sync",
                "CacheNodeIdsToReboot": [],
            },
            notification_configuration=(
                {"TopicArn": group.notification_topic_arn, "TopicStatus": "active"}
                if group.notification_topic_arn
                else None
            ),
            cache_nodes=[
                {
                    "CacheNodeId": "0001",
                    "CacheNodeStatus": "available",
                    "CacheNodeCreateTime": cluster.cache_cluster_create_time,
                    "Endpoint": {
                        "Address": f"{cluster_id}.{group.replication_group_id}.cache.local",
                        "Port": group.port,
                    },
                    "ParameterGroupStatus": "in-sync",
                    "CustomerAvailabilityZone": zones.get(cluster_id),
                }
            ],
        )
        backend.cache_clusters[cluster_id] = cluster


def _install_replication_group() -> None:
    @wrap(ElastiCacheBackend, "create_replication_group")
    def create_replication_group(original: Any, self: ElastiCacheBackend, **kwargs: Any) -> ReplicationGroup:
        """CreateReplicationGroup: AWS creates one cache cluster per member (<id>-001, <id>-002, ...) that
        DescribeCacheClusters returns; moto created none (so Terraform failed waiting for them) and made a
        single member whatever NumCacheClusters said. With GlobalReplicationGroupId the group joins that
        global datastore as a SECONDARY and takes engine, version, node type and encryption from it."""
        global_id = kwargs.get("global_replication_group_id")
        datastore = None
        if global_id:
            datastore = _global_group(self.account_id, global_id)
            primary = datastore.primary
            for name in INHERITED_FROM_GLOBAL:
                if kwargs.get(name) in (None, ""):
                    kwargs[name] = datastore.setting(name)
            if kwargs.get("automatic_failover_enabled") is None:
                # Members of a global datastore share its automatic failover setting.
                kwargs["automatic_failover_enabled"] = primary.automatic_failover == "enabled"
        group: ReplicationGroup = original(self, **kwargs)
        _rebuild_members(
            self, group, kwargs.get("num_cache_clusters"), kwargs.get("preferred_cache_cluster_azs") or []
        )
        if datastore is not None:
            datastore.members[(self.region_name, group.replication_group_id)] = "SECONDARY"
            _set_global_info(group, datastore.global_replication_group_id, "SECONDARY")
            group.auth_token_enabled = bool(primary.auth_token_enabled or kwargs.get("auth_token"))
        _create_member_clusters(self, group, kwargs.get("auth_token"))
        return group

    @wrap(ElastiCacheBackend, "delete_replication_group")
    def delete_replication_group(
        original: Any,
        self: ElastiCacheBackend,
        replication_group_id: str,
        retain_primary_cluster: bool | None,
    ) -> ReplicationGroup:
        """DeleteReplicationGroup: AWS removes the group and its member clusters (DescribeReplicationGroups
        then answers ReplicationGroupNotFoundFault, which Terraform waits for); moto kept it as 'deleting'
        forever."""
        group: ReplicationGroup = original(self, replication_group_id, retain_primary_cluster)
        answer = copy.copy(group)
        del self.replication_groups[replication_group_id]
        for cluster_id in list(self.cache_clusters):
            cluster = self.cache_clusters[cluster_id]
            if getattr(cluster, "replication_group_id", None) == replication_group_id:
                del self.cache_clusters[cluster_id]
        return answer

    @wrap(ElastiCacheBackend, "delete_cache_cluster")
    def delete_cache_cluster(original: Any, self: ElastiCacheBackend, cache_cluster_id: str) -> CacheCluster:
        """DeleteCacheCluster: AWS removes the cluster (moto kept it as 'deleting' forever)."""
        cluster: CacheCluster = original(self, cache_cluster_id)
        answer = copy.copy(cluster)
        del self.cache_clusters[cache_cluster_id]
        return answer


# --- global datastores --------------------------------------------------------------------------------------


def create_global_replication_group(self: ElastiCacheResponse) -> ActionResult:
    """CreateGlobalReplicationGroup: not in moto. AWS makes the given replication group the PRIMARY of a new
    global datastore whose id is a region prefix + the suffix given.
    """
    backend = self.elasticache_backend
    primary_id = self._get_param("PrimaryReplicationGroupId")
    suffix = self._get_param("GlobalReplicationGroupIdSuffix")
    if not suffix:
        raise InvalidParameterValueException("GlobalReplicationGroupIdSuffix is required.")
    primary = backend.describe_replication_groups(primary_id)[0]
    if primary.global_replication_group_id:
        raise InvalidParameterValueException(
            f"Replication group {primary_id} is already a member of {primary.global_replication_group_id}."
        )
    group_id = f"{region_prefix(backend.region_name)}-{suffix}"
    groups = global_groups(backend.account_id)
    if group_id in groups:
        raise GlobalReplicationGroupAlreadyExistsFault(f"Global replication group {group_id} already exists.")
    datastore = GlobalReplicationGroup(
        account_id=backend.account_id,
        partition=primary.arn.split(":")[1],
        group_id=group_id,
        description=self._get_param("GlobalReplicationGroupDescription") or "",
        primary=primary,
        region=backend.region_name,
    )
    groups[group_id] = datastore
    _set_global_info(primary, group_id, "PRIMARY")
    return ActionResult({"GlobalReplicationGroup": datastore.describe(show_members=True)})


def describe_global_replication_groups(self: ElastiCacheResponse) -> ActionResult:
    """DescribeGlobalReplicationGroups: all datastores or one; Members only with ShowMemberInfo (as AWS)."""
    group_id = self._get_param("GlobalReplicationGroupId")
    show_members = bool(self._get_bool_param("ShowMemberInfo"))
    groups = global_groups(self.elasticache_backend.account_id)
    selected = (
        [_global_group(self.elasticache_backend.account_id, group_id)] if group_id else list(groups.values())
    )
    return ActionResult({"GlobalReplicationGroups": [g.describe(show_members) for g in selected]})


def modify_global_replication_group(self: ElastiCacheResponse) -> ActionResult:
    """ModifyGlobalReplicationGroup: description, node type, engine version, parameter group, automatic
    failover apply to the datastore and every member (at once)."""
    datastore = _global_group(
        self.elasticache_backend.account_id, self._get_param("GlobalReplicationGroupId")
    )
    description = self._get_param("GlobalReplicationGroupDescription")
    if description is not None:
        datastore.global_replication_group_description = description
    changes = {
        "cache_node_type": self._get_param("CacheNodeType"),
        "engine_version": self._get_param("EngineVersion"),
        "cache_parameter_group_name": self._get_param("CacheParameterGroupName"),
    }
    failover = self._get_bool_param("AutomaticFailoverEnabled")
    for region, group_id in datastore.members:
        group = datastore.replication_group(region, group_id)
        if group is None:
            continue
        for name, value in changes.items():
            if value is not None:
                setattr(group, name, value)
        if failover is not None:
            group.automatic_failover = "enabled" if failover else "disabled"
        backend: ElastiCacheBackend = elasticache_backends[datastore.account_id][region]
        for cluster_id in group.member_clusters:
            cluster = backend.cache_clusters.get(cluster_id)
            if cluster is not None:
                for name in ("cache_node_type", "engine_version"):
                    if changes[name] is not None:
                        setattr(cluster, name, changes[name])
    return ActionResult({"GlobalReplicationGroup": datastore.describe(show_members=False)})


def disassociate_global_replication_group(self: ElastiCacheResponse) -> ActionResult:
    """DisassociateGlobalReplicationGroup: a secondary leaves the datastore and becomes a standalone group."""
    datastore = _global_group(
        self.elasticache_backend.account_id, self._get_param("GlobalReplicationGroupId")
    )
    key = (self._get_param("ReplicationGroupRegion"), self._get_param("ReplicationGroupId"))
    role = datastore.members.get(key)
    if role is None:
        raise InvalidParameterValueException(f"Replication group {key[1]} in {key[0]} is not a member.")
    if role == "PRIMARY":
        raise InvalidGlobalReplicationGroupStateFault(
            "The primary replication group cannot be disassociated."
        )
    del datastore.members[key]
    group = datastore.replication_group(*key)
    if group is not None:
        _set_global_info(group, None, None)
    return ActionResult({"GlobalReplicationGroup": datastore.describe(show_members=False)})


def delete_global_replication_group(self: ElastiCacheResponse) -> ActionResult:
    """DeleteGlobalReplicationGroup: only once no secondary is left (as AWS); the primary stays a standalone
    group (RetainPrimaryReplicationGroup must be true, as AWS requires). The datastore disappears at once."""
    account = self.elasticache_backend.account_id
    datastore = _global_group(account, self._get_param("GlobalReplicationGroupId"))
    if any(role == "SECONDARY" for role in datastore.members.values()):
        raise InvalidGlobalReplicationGroupStateFault(
            "The Global datastore still has secondary members: disassociate them first."
        )
    answer = datastore.describe(show_members=False)
    answer["Status"] = "deleting"
    for key in list(datastore.members):
        group = datastore.replication_group(*key)
        if group is not None:
            _set_global_info(group, None, None)
    del global_groups(account)[datastore.global_replication_group_id]
    return ActionResult({"GlobalReplicationGroup": answer})


def failover_global_replication_group(self: ElastiCacheResponse) -> ActionResult:
    """FailoverGlobalReplicationGroup: not in moto. AWS makes the named secondary (PrimaryRegion +
    PrimaryReplicationGroupId) the datastore's primary and every other member a secondary; it refuses a
    datastore with no secondary or not available (InvalidGlobalReplicationGroupState) and a group that is not
    a member (InvalidParameterValue). AWS switches the roles asynchronously (the datastore is 'modifying' for
    about a minute); the emulator switches them at once, so callers must still wait for the roles, not for
    the call."""
    datastore = _global_group(
        self.elasticache_backend.account_id, self._get_param("GlobalReplicationGroupId")
    )
    key = (self._get_param("PrimaryRegion"), self._get_param("PrimaryReplicationGroupId"))
    if key not in datastore.members:
        raise InvalidParameterValueException(
            f"Replication group {key[1]} in {key[0]} is not a member of "
            f"{datastore.global_replication_group_id}."
        )
    if datastore.status != "available" or len(datastore.members) < 2:
        raise InvalidGlobalReplicationGroupStateFault(
            f"Global datastore {datastore.global_replication_group_id} is not available or in primary-only "
            "state."
        )
    for member in datastore.members:
        datastore.members[member] = "PRIMARY" if member == key else "SECONDARY"
        group = datastore.replication_group(*member)
        if group is not None:
            _set_global_info(group, datastore.global_replication_group_id, datastore.members[member])
    # The primary first, as AWS lists the members.
    datastore.members = dict(sorted(datastore.members.items(), key=lambda item: item[1] != "PRIMARY"))
    return ActionResult({"GlobalReplicationGroup": datastore.describe(show_members=False)})


# --- replica counts ----------------------------------------------------------------------------------------

#: ElastiCache's limit: a shard holds a primary and up to 5 replicas.
MAX_REPLICAS = 5


def _change_replica_count(self: ElastiCacheResponse, grow: bool) -> ActionResult:
    """IncreaseReplicaCount / DecreaseReplicaCount: not in moto. AWS (cluster mode disabled) sets the group's
    replicas to NewReplicaCount: more than now to increase, fewer to decrease, 0..5, at least 1 while
    automatic failover is enabled (InvalidParameterValue otherwise). The emulator changes the members at
    once (AWS: the group is 'modifying' meanwhile)."""
    backend = self.elasticache_backend
    group_id = self._get_param("ReplicationGroupId")
    group = backend.replication_groups.get(group_id)
    if group is None:
        raise ReplicationGroupNotFound(group_id)
    wanted = int(self._get_param("NewReplicaCount"))
    now = len(group.member_clusters) - 1
    low = 1 if group.automatic_failover == "enabled" else 0
    if not low <= wanted <= MAX_REPLICAS or (wanted <= now if grow else wanted >= now):
        raise InvalidParameterValueException(
            f"NewReplicaCount {wanted} is not valid: the group has {now} replicas "
            f"({'more' if grow else 'fewer'} needed, {low}..{MAX_REPLICAS})."
        )
    zones = list(dict.fromkeys(_member_azs(group).values()))
    old = set(group.member_clusters)
    _rebuild_members(backend, group, wanted + 1, [z for z in zones if z])
    for cluster_id in old - set(group.member_clusters):
        backend.cache_clusters.pop(cluster_id, None)
    kept_members = {c: backend.cache_clusters.pop(c) for c in old & set(group.member_clusters)}
    _create_member_clusters(backend, group, None)
    backend.cache_clusters.update(kept_members)
    return ActionResult({"ReplicationGroup": group})


def increase_replica_count(self: ElastiCacheResponse) -> ActionResult:
    return _change_replica_count(self, grow=True)


def decrease_replica_count(self: ElastiCacheResponse) -> ActionResult:
    return _change_replica_count(self, grow=False)


# --- parameter groups ---------------------------------------------------------------------------------------

TAGGABLE_ARN = (
    r"^arn:aws:elasticache:.*:[0-9]*:"
    r"(cluster|snapshot|subnetgroup|replicationgroup|user|usergroup|parametergroup|globalreplicationgroup):.*$"
)


def _parameter_groups(backend: ElastiCacheBackend) -> dict[str, dict[str, Any]]:
    return kept(backend, "nexus_parameter_groups")


def _parameter_group(backend: ElastiCacheBackend, name: str) -> dict[str, Any]:
    group = _parameter_groups(backend).get(name)
    if group is None:
        raise CacheParameterGroupNotFoundFault(f"CacheParameterGroup {name} not found.")
    return group


def _group_shape(group: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in group.items() if key != "Parameters"}


def create_cache_parameter_group(self: ElastiCacheResponse) -> ActionResult:
    """CreateCacheParameterGroup: not in moto, so aws_elasticache_parameter_group failed. AWS stores a named
    group of a family (e.g. redis7) whose user-set parameters DescribeCacheParameters(Source=user) lists."""
    backend = self.elasticache_backend
    name = self._get_param("CacheParameterGroupName")
    groups = _parameter_groups(backend)
    if name in groups:
        raise CacheParameterGroupAlreadyExistsFault(f"Parameter group {name} already exists.")
    arn = f"arn:aws:elasticache:{backend.region_name}:{backend.account_id}:parametergroup:{name}"
    groups[name] = {
        "CacheParameterGroupName": name,
        "CacheParameterGroupFamily": self._get_param("CacheParameterGroupFamily"),
        "Description": self._get_param("Description") or "",
        "IsGlobal": False,
        "ARN": arn,
        "Parameters": {},
    }
    tags = self._get_param("Tags") or []
    if tags:
        backend.tagging_service.tag_resource(arn, tags)
    return ActionResult({"CacheParameterGroup": _group_shape(groups[name])})


def describe_cache_parameter_groups(self: ElastiCacheResponse) -> ActionResult:
    """DescribeCacheParameterGroups: one group by name (CacheParameterGroupNotFound otherwise) or all."""
    backend = self.elasticache_backend
    name = self._get_param("CacheParameterGroupName")
    groups = [_parameter_group(backend, name)] if name else list(_parameter_groups(backend).values())
    return ActionResult({"CacheParameterGroups": [_group_shape(g) for g in groups]})


def modify_cache_parameter_group(self: ElastiCacheResponse) -> ActionResult:
    """ModifyCacheParameterGroup: sets parameter values (they then report Source=user)."""
    group = _parameter_group(self.elasticache_backend, self._get_param("CacheParameterGroupName"))
    for item in self._get_param("ParameterNameValues") or []:
        group["Parameters"][item["ParameterName"]] = item.get("ParameterValue")
    return ActionResult({"CacheParameterGroupName": group["CacheParameterGroupName"]})


def reset_cache_parameter_group(self: ElastiCacheResponse) -> ActionResult:
    """ResetCacheParameterGroup: back to the family defaults (all, or the named parameters)."""
    group = _parameter_group(self.elasticache_backend, self._get_param("CacheParameterGroupName"))
    if self._get_bool_param("ResetAllParameters"):
        group["Parameters"].clear()
    for item in self._get_param("ParameterNameValues") or []:
        group["Parameters"].pop(item["ParameterName"], None)
    return ActionResult({"CacheParameterGroupName": group["CacheParameterGroupName"]})


def describe_cache_parameters(self: ElastiCacheResponse) -> ActionResult:
    """DescribeCacheParameters: the user-set parameters (the emulator keeps no catalogue of engine
    defaults)."""
    group = _parameter_group(self.elasticache_backend, self._get_param("CacheParameterGroupName"))
    source = self._get_param("Source")
    parameters = []
    if source in (None, "", "user"):
        parameters = [
            {
                "ParameterName": name,
                "ParameterValue": value,
                "Source": "user",
                "DataType": "string",
                "IsModifiable": True,
                "ChangeType": "immediate",
            }
            for name, value in sorted(group["Parameters"].items())
        ]
    return ActionResult({"Parameters": parameters})


def delete_cache_parameter_group(self: ElastiCacheResponse) -> ActionResult:
    """DeleteCacheParameterGroup: removes the group."""
    backend = self.elasticache_backend
    group = _parameter_group(backend, self._get_param("CacheParameterGroupName"))
    del _parameter_groups(backend)[group["CacheParameterGroupName"]]
    return EmptyResult()


def _install_taggable_arns() -> None:
    @wrap(ElastiCacheBackend, "__init__")
    def init(original: Any, self: ElastiCacheBackend, region_name: str, account_id: str) -> None:
        """ListTagsForResource: AWS tags parameter groups, user groups and global datastores too; moto's ARN
        check rejected them with InvalidARN (so Terraform could not read their tags)."""
        original(self, region_name, account_id)
        self.arn_regex = re.compile(TAGGABLE_ARN)


def apply() -> None:
    """Install the ElastiCache patches."""
    _install_replication_group()
    _install_taggable_arns()
    for func in (
        create_cache_parameter_group,
        describe_cache_parameter_groups,
        modify_cache_parameter_group,
        reset_cache_parameter_group,
        describe_cache_parameters,
        delete_cache_parameter_group,
        create_global_replication_group,
        describe_global_replication_groups,
        modify_global_replication_group,
        disassociate_global_replication_group,
        delete_global_replication_group,
        failover_global_replication_group,
        increase_replica_count,
        decrease_replica_count,
    ):
        add_action(ElastiCacheResponse, func)
