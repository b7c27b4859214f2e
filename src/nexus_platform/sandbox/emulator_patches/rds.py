"""Amazon RDS: cross-region read replicas (creation, replication status, lag, promotion) and per-instance
resource ids."""

from __future__ import annotations

import copy
import uuid
from datetime import timedelta
from typing import Any

from moto.cloudwatch.models import MetricDatum
from moto.core.common_models import CloudWatchMetricProvider
from moto.core.utils import utcnow
from moto.ec2.models import ec2_backends
from moto.rds.exceptions import RDSClientError
from moto.rds.models import DBInstance, DBParameterGroup, RDSBackend, rds_backends

from . import INSTALLED, extend, wrap

_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def new_dbi_resource_id() -> str:
    """A DbiResourceId as AWS makes them: 'db-' + 26 upper-case letters/digits, unique per instance."""
    number = uuid.uuid4().int
    chars = []
    for _ in range(26):
        number, index = divmod(number, len(_ALNUM))
        chars.append(_ALNUM[index])
    return "db-" + "".join(chars)


def _store_performance_insights(instance: DBInstance, kwargs: dict[str, Any]) -> None:
    """CreateDBInstance: keep EnablePerformanceInsights, its KMS key and retention (AWS default 7 days), which
    moto ignored (so Terraform saw performance_insights_enabled=false and planned to enable it on every
    run)."""
    extend(
        instance,
        enable_performance_insights=bool(kwargs.get("enable_performance_insights")),
        performance_insights_kms_key_id=kwargs.get("performance_insights_kms_key_id"),
        performance_insights_retention_period=kwargs.get("performance_insights_retention_period"),
    )


def _performance_insights_enabled(instance: DBInstance) -> bool:
    return bool(getattr(instance, "enable_performance_insights", False))


def _performance_insights_retention(instance: DBInstance) -> int | None:
    value = instance.__dict__.get("_nexus_pi_retention")
    if value is None and _performance_insights_enabled(instance):
        return 7
    return int(value) if value is not None else None


def _set_performance_insights_retention(instance: DBInstance, value: int | None) -> None:
    instance.__dict__["_nexus_pi_retention"] = value


def _install_dbi_resource_id() -> None:
    @wrap(DBInstance, "__init__")
    def init(original: Any, self: DBInstance, *args: Any, **kwargs: Any) -> None:
        """Every DB instance has its own DbiResourceId (region-unique, immutable); moto gave all of them the
        same constant, so a second instance collided (e.g. in Performance Insights / IAM auth resource
        ARNs)."""
        original(self, *args, **kwargs)
        self.dbi_resource_id = new_dbi_resource_id()
        _store_performance_insights(self, kwargs)


def _install_cross_region_replica() -> None:
    @wrap(RDSBackend, "create_db_instance_read_replica")
    def create_db_instance_read_replica(
        original: Any, self: RDSBackend, db_kwargs: dict[str, Any]
    ) -> DBInstance:
        """CreateDBInstanceReadReplica with a source ARN from another region: AWS creates the replica in the
        region called, so its DBSubnetGroupName, option group, security groups and AZ are looked up there.
        moto copies the source instance and applies the request's parameters in request order, so
        DBSubnetGroupName was resolved in the SOURCE region (DBSubnetGroupNotFoundFault) before the replica
        was moved to this region. The replica also shared the source's DbiResourceId and mutable settings
        (lists, master user secret), and its Multi-AZ: AWS makes a replica Multi-AZ only when MultiAZ asks
        for it, whatever the source is (Terraform sends no MultiAZ for false; moto kept the source's)."""
        source_id = db_kwargs.get("source_db_instance_identifier", "")
        cross_region = bool(self.arn_regex.match(source_id)) and source_id.split(":")[3] != self.region_name
        if cross_region:
            # The replica's backend (this region) first, so that every later parameter resolves in this
            # region.
            db_kwargs = {"backend": self, **{k: v for k, v in db_kwargs.items() if k != "backend"}}
        replica: DBInstance = original(self, db_kwargs)
        replica.dbi_resource_id = new_dbi_resource_id()
        replica.multi_az = bool(db_kwargs.get("multi_az") or False)
        for attr in (
            "tags",
            "vpc_security_group_ids",
            "enabled_cloudwatch_logs_exports",
            "db_security_groups",
            "_associated_roles",
            "domain_memberships",
        ):
            if isinstance(getattr(replica, attr, None), list):
                setattr(replica, attr, copy.copy(getattr(replica, attr)))
        if "master_user_secret" in vars(replica):
            # A replica has no master user secret of its own (AWS: ManageMasterUserPassword is not allowed).
            del replica.master_user_secret
            replica.manage_master_user_password = False
        if cross_region:
            if not db_kwargs.get("performance_insights_kms_key_id"):
                extend(replica, performance_insights_kms_key_id=None)  # the source's key is in another region
            if not db_kwargs.get("availability_zone"):
                replica.availability_zone = f"{self.region_name}a"
            if not db_kwargs.get("vpc_security_group_ids"):
                ec2 = ec2_backends[self.account_id][self.region_name]
                subnet_group = getattr(replica, "db_subnet_group", None)
                vpc_id = subnet_group.vpc_id if subnet_group is not None else ec2.default_vpc.id
                default_group = ec2.get_default_security_group(vpc_id)
                if default_group is not None:
                    replica.vpc_security_group_ids = [default_group.id]
        return replica


def _install_parameter_source() -> None:
    @wrap(DBParameterGroup, "update_parameters")
    def update_parameters(original: Any, self: DBParameterGroup, new_parameters: Any) -> None:
        """ModifyDBParameterGroup: AWS reports a parameter set by the user with Source=user (Terraform keeps
        only those, or the ones in its configuration); moto stored it without a Source, so Terraform dropped
        every parameter from its state and planned to set them again on every run."""
        changed = [{**parameter, "Source": "user"} for parameter in new_parameters]
        original(self, changed)


def _install_performance_insights() -> None:
    """DescribeDBInstances: PerformanceInsightsEnabled / RetentionPeriod derived from what the instance was
    created or modified with (ModifyDBInstance sets the same attributes)."""
    DBInstance.performance_insights_enabled = property(_performance_insights_enabled)  # type: ignore[attr-defined]
    DBInstance.performance_insights_retention_period = property(  # type: ignore[attr-defined]
        _performance_insights_retention, _set_performance_insights_retention
    )


def _source_of(instance: DBInstance) -> DBInstance | None:
    """The instance a read replica replicates (by identifier, or by ARN across regions); None once gone."""
    source_id = getattr(instance, "source_db_instance_identifier", None)
    if not source_id:
        return None
    backend: RDSBackend = rds_backends[instance.account_id][instance.region]
    try:
        return backend.find_db_from_id(source_id)
    except RDSClientError:
        return None


def _install_promotion() -> None:
    @wrap(RDSBackend, "promote_read_replica")
    def promote_read_replica(original: Any, self: RDSBackend, db_kwargs: dict[str, Any]) -> DBInstance:
        """PromoteReadReplica: AWS detaches the replica from its source, so the promoted instance no longer
        reports ReadReplicaSourceDBInstanceIdentifier and the source no longer lists it in
        ReadReplicaDBInstanceIdentifiers (by ARN for a cross-region replica). moto only cleared a private
        flag, so a promoted cross-region replica still looked like a replica. AWS also refuses an instance
        that is not a read replica ("must match the identifier of an existing read replica") with
        InvalidDBInstanceState; moto accepted it silently, which hid non-idempotent callers."""
        instance: DBInstance = self.describe_db_instances(db_kwargs["db_instance_identifier"])[0]
        if not instance.is_replica or not instance.source_db_instance_identifier:
            raise RDSClientError(
                "InvalidDBInstanceState",
                f"DB Instance {instance.db_instance_identifier} is not a read replica.",
            )
        source = _source_of(instance)
        promoted: DBInstance = original(self, db_kwargs)
        if source is not None:
            for reference in (promoted.db_instance_arn, promoted.db_instance_identifier):
                if reference in source.replicas:
                    source.replicas.remove(reference)
        promoted.source_db_instance_identifier = None
        return promoted


def _install_snapshot_restore() -> None:
    @wrap(RDSBackend, "restore_db_instance_from_db_snapshot")
    def restore_db_instance_from_db_snapshot(
        original: Any, self: RDSBackend, from_snapshot_id: str, overrides: dict[str, Any]
    ) -> DBInstance:
        """RestoreDBInstanceFromDBSnapshot: AWS gives the new instance DeletionProtection as the request says
        (default false), never the source's. moto copied every attribute of the snapshot's source and then
        applied only the truthy overrides, so an instance restored from a protected one could not be
        deleted, whatever the request said."""
        restored: DBInstance = original(self, from_snapshot_id, overrides)
        restored.deletion_protection = bool(overrides.get("deletion_protection") or False)
        return restored


def _install_replica_removal() -> None:
    @wrap(DBInstance, "remove_replica")
    def remove_replica(original: Any, self: DBInstance, replica: DBInstance) -> None:
        """DeleteDBInstance of a read replica: AWS removes it from its source's
        ReadReplicaDBInstanceIdentifiers. moto listed a cross-region replica by ARN but removed it by
        identifier, so deleting a cross-region replica failed (ValueError, a 500) and left the instance
        half-deleted; a reference already gone (the replica was promoted) is not an error either."""
        del original  # replaced: its lookup by identifier alone cannot find a cross-region replica
        for reference in (replica.db_instance_arn, replica.db_instance_identifier):
            if reference in self.replicas:
                self.replicas.remove(reference)


def _status_infos(instance: DBInstance) -> list[dict[str, Any]] | None:
    """DescribeDBInstances StatusInfos: AWS reports a read replica's replication state as StatusType 'read
    replication' ('replicating' while its source exists, 'terminated' once the source is gone); moto reported
    none, so a caller could not tell a streaming replica from a broken one."""
    if not getattr(instance, "is_replica", False) or not instance.source_db_instance_identifier:
        return None
    source = _source_of(instance)
    if source is not None and source.status == "available":
        return [{"StatusType": "read replication", "Normal": True, "Status": "replicating"}]
    return [
        {
            "StatusType": "read replication",
            "Normal": False,
            "Status": "terminated" if source is None else "error",
            "Message": "The source DB instance is not available.",
        }
    ]


REPLICA_LAG_SECONDS = 0.0  # the emulator's replica holds no data: nothing to lag behind


def replica_lag_metrics(account_id: str, region: str) -> list[MetricDatum]:
    """CloudWatch AWS/RDS ReplicaLag: RDS publishes it every minute for each read replica, with the
    DBInstanceIdentifier dimension; moto published nothing, so a caller waiting for the replica to catch up
    (ReplicaLag == 0) waited forever. One datapoint for the latest complete minute of every replicating
    replica of the region; a value a test puts with PutMetricData in the same minute is aggregated with
    it."""
    backend: RDSBackend = rds_backends[account_id][region]
    stamp = (utcnow() - timedelta(seconds=1)).replace(second=0, microsecond=0)
    data = []
    for instance in list(backend.databases.values()):
        infos = _status_infos(instance) or []
        if any(info["Status"] == "replicating" for info in infos):
            data.append(
                MetricDatum(
                    "AWS/RDS",
                    "ReplicaLag",
                    REPLICA_LAG_SECONDS,
                    [{"Name": "DBInstanceIdentifier", "Value": instance.db_instance_identifier}],
                    stamp,
                    "Seconds",
                )
            )
    return data


# Registered by subclassing (moto asks every CloudWatchMetricProvider subclass); kept here so it stays alive.
_PROVIDERS: list[type] = []


def _install_replication_status() -> None:
    DBInstance.status_infos = property(_status_infos)  # type: ignore[attr-defined]

    class RdsReplicaMetrics(CloudWatchMetricProvider):
        @staticmethod
        def get_cloudwatch_metrics(account_id: str, region: str) -> list[MetricDatum]:
            return replica_lag_metrics(account_id, region)

    _PROVIDERS.append(RdsReplicaMetrics)
    INSTALLED.append(("CloudWatchMetricProvider", "RdsReplicaMetrics"))


def apply() -> None:
    """Install the RDS patches."""
    _install_performance_insights()
    _install_dbi_resource_id()
    _install_cross_region_replica()
    _install_parameter_source()
    _install_promotion()
    _install_replica_removal()
    _install_replication_status()
    _install_snapshot_restore()
