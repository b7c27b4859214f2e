"""The AWS world's database: RDS for PostgreSQL, a primary and its cross-region read replica.

Fence = revoke the application's path to the database (the DB security group's ingress from the nodes'
security groups); promote = PromoteReadReplica; reseed = a new cross-region read replica under the original
identifier."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from nexus_platform.errors import NexusError
from nexus_platform.platform import Platform, RegionFacts
from nexus_platform.world.aws.clients import Clients, Waiting, translated, unreachable
from nexus_platform.world.aws.cloudwatch import probes as cloudwatch
from nexus_platform.world.aws.ec2 import actions as ec2_actions
from nexus_platform.world.aws.ec2 import probes as ec2_probes
from nexus_platform.world.aws.ec2.probes import IngressRule
from nexus_platform.world.aws.eks import probes as eks_probes
from nexus_platform.world.aws.rds import actions as rds_actions
from nexus_platform.world.aws.rds import probes as rds_probes
from nexus_platform.world.base import Lag

# The DB security group's tag holding what a fence revoked (and when), so that any later run can restore it.
FENCE_TAG = "nexus:fenced-ingress"
TAG_VALUE_LIMIT = 256
# Terraform's description of the rule (terraform/modules/region/security.tf, db_from_nodes), for a rule
# rebuilt without a record of the revoked one.
INGRESS_DESCRIPTION = "PostgreSQL from the EKS nodes and pods"


class AwsDatabase:
    """RDS for PostgreSQL: each role's instance by the identifier Terraform gave it.

    RDS does not expose WAL positions (LSNs): `caught_up` (what a planned switchover waits for) reads
    CloudWatch's ReplicaLag instead (see cloudwatch/probes.py for what that metric can and cannot prove).

    Fencing revokes the application's path to the database: the ingress rules of the DB's security groups on
    its port from the nodes' security groups. Security groups track connections, so the connections the pods
    already hold stay open after the revocation: scaling the old region's workload to zero (the Compute's
    job, the same runbook step) is what closes them.
    """

    def __init__(
        self,
        platform: Platform,
        clients: Clients,
        *,
        waiting: Waiting | None = None,
        replica_waiting: Waiting | None = None,
    ) -> None:
        self.platform, self.clients = platform, clients
        self.waiting = waiting or Waiting(delay=15.0, timeout=1800.0)
        # A new cross-region replica starts from a snapshot of the source: hours for a large database.
        self.replica_waiting = replica_waiting or Waiting(delay=30.0, timeout=4 * 3600.0)

    def _facts(self, role: str) -> RegionFacts:
        return self.platform.region(role)

    def _rds(self, role: str) -> Any:
        return self.clients("rds", self._facts(role).region)

    def _ec2(self, role: str) -> Any:
        return self.clients("ec2", self._facts(role).region)

    def _describe(self, role: str) -> dict[str, Any] | None:
        facts = self._facts(role)
        with translated(f"describing {facts.db_instance_identifier} in {facts.region}"):
            return rds_probes.instance(self._rds(role), facts.db_instance_identifier)

    def _require(self, role: str) -> dict[str, Any]:
        described = self._describe(role)
        if described is None:
            facts = self._facts(role)
            raise NexusError(
                f"there is no DB instance {facts.db_instance_identifier} in {facts.region}",
                hint="a failback may be half-way: `nexus dr status`, then resume the run",
            )
        return described

    # --- reads ----------------------------------------------------------------------------------------------

    def role(self, role: str) -> str:
        facts = self._facts(role)
        try:
            described = rds_probes.instance(self._rds(role), facts.db_instance_identifier)
        except (BotoCoreError, ClientError) as exc:
            if unreachable(exc):
                return "down"
            with translated(f"describing {facts.db_instance_identifier} in {facts.region}"):
                raise
        if described is None or not rds_probes.serving(described):
            return "down"
        return "replica" if rds_probes.source_of(described) else "primary"

    def _lag_sample(self, role: str) -> cloudwatch.LagSample | None:
        facts = self._facts(role)
        with translated(f"reading the ReplicaLag of {facts.db_instance_identifier}"):
            return cloudwatch.latest_replica_lag(
                self.clients("cloudwatch", facts.region), facts.db_instance_identifier
            )

    def lag(self, role: str) -> Lag:
        """ReplicaLag's latest datapoint (None when CloudWatch has none) and whether RDS reports the replica
        'replicating'; RDS gives no byte count."""
        described = self._describe(role)
        if described is None or not rds_probes.source_of(described):
            return Lag(None, None, False)
        sample = self._lag_sample(role)
        streaming = rds_probes.replication_status(described) == "replicating"
        return Lag(None, sample.seconds if sample else None, streaming)

    def caught_up(self, role: str) -> bool:
        """Whether `role`'s replica has applied everything its (fenced) source accepted."""
        described = self._describe(role)
        if described is None or rds_probes.replication_status(described) != "replicating":
            return False
        record = self._fence_record(self.platform.other(role))
        return cloudwatch.caught_up(
            self._lag_sample(role),
            fenced_at=record.get("at") if record else None,
            lag_at_fence=record.get("lag") if record else None,
        )

    # --- the application's path to the database -------------------------------------------------------------

    def _node_groups(self, role: str) -> set[str]:
        facts = self._facts(role)
        with translated(f"finding the node security groups of {facts.cluster_name}"):
            return eks_probes.node_security_groups(
                self.clients("eks", facts.region), self._ec2(role), facts.cluster_name
            )

    def _path(self, role: str) -> tuple[list[str], int, set[str]]:
        """(the DB's security groups, its port, the nodes' security groups)."""
        described = self._require(role)
        return rds_probes.security_groups(described), rds_probes.port(described), self._node_groups(role)

    def _fence_record(self, role: str) -> dict[str, Any] | None:
        """What the last fence of `role` recorded on its DB security groups: at, lag, rules."""
        try:
            described = self._describe(role)
        except NexusError:
            return None
        if described is None:
            return None
        ec2, merged = self._ec2(role), None
        with translated("reading the fence record"):
            for group in rds_probes.security_groups(described):
                tags = ec2_probes.group_tags(ec2, group)
                for key in _fence_tag_keys(tags):
                    try:
                        record = json.loads(tags[key])
                    except ValueError:
                        raise NexusError(
                            f"the fence record {key} on {group} is not JSON: the revoked rules are unknown",
                            hint=f"restore the DB ingress (terraform apply), then delete the tag {key}",
                        ) from None
                    if merged is None:
                        merged = {**record, "rules": []}
                    merged["rules"].extend(
                        IngressRule(group, peer, protocol, low, high, description or None)
                        for peer, protocol, low, high, description in record.get("rules", [])
                    )
        return merged

    def revoke_app_ingress(self, role: str) -> list[IngressRule]:
        """Revoke the DB security groups' ingress from the nodes' security groups on the DB port; what was
        revoked is returned and recorded on the groups (tag nexus:fenced-ingress) for `unfence`."""
        groups, port, nodes = self._path(role)
        ec2 = self._ec2(role)
        with translated(f"revoking the application's access to the {role} database"):
            rules = ec2_probes.app_ingress(ec2, groups, port, nodes)
            if not rules:
                return []
            lag = self._lag_of_other(role)
            for group in {rule.group_id for rule in rules}:
                previous = (self._fence_record(role) or {}).get("rules", [])
                mine = [r for r in [*previous, *rules] if r.group_id == group]
                values = _fence_tags(time.time(), lag, mine)
                stale = set(_fence_tag_keys(ec2_probes.group_tags(ec2, group)))
                for n, value in enumerate(values):
                    key = _fence_tag_key(n)
                    ec2_actions.tag(ec2, group, key, value)
                    stale.discard(key)
                for key in stale:
                    ec2_actions.tag(ec2, group, key, None)
            ec2_actions.revoke(ec2, rules)
        return rules

    def _lag_of_other(self, role: str) -> float | None:
        """The other region's replica lag now (what a failover at this moment could lose), if it tells."""
        try:
            return self.lag(self.platform.other(role)).seconds
        except NexusError:
            return None

    def fence(self, role: str) -> None:
        """Revoke the application's path to `role`'s database (idempotent); the record is kept on the DB
        security groups. Scaling the region's workload to zero, which closes the connections already open, is
        the Compute's job."""
        self.revoke_app_ingress(role)

    def unfence(self, role: str, rules: Sequence[IngressRule] | None = None) -> list[IngressRule]:
        """Give the application its path to `role`'s database back: `rules`, else what the last fence
        recorded, else (no record, and no path at all) the DB port from every node security group. Returns the
        rules added; the fence record is removed."""
        groups, port, nodes = self._path(role)
        ec2 = self._ec2(role)
        with translated(f"restoring the application's access to the {role} database"):
            record = self._fence_record(role)
            present = ec2_probes.app_ingress(ec2, groups, port, set())
            if rules is None and record and record.get("rules"):
                rules = record["rules"]
            if rules is None:
                if any(rule.peer_group_id in nodes for rule in present):
                    rules = []
                else:
                    rules = [
                        IngressRule(group, peer, "tcp", port, port, INGRESS_DESCRIPTION)
                        for group in groups
                        for peer in sorted(nodes)
                    ]
            missing = [rule for rule in rules if not any(rule.same_path(p) for p in present)]
            ec2_actions.authorize(ec2, missing)
            if record is not None:
                for group in groups:
                    for key in _fence_tag_keys(ec2_probes.group_tags(ec2, group)):
                        ec2_actions.tag(ec2, group, key, None)
        return missing

    def is_fenced(self, role: str) -> bool:
        if self.role(role) != "primary":
            return True  # a replica is read-only; a database that is down takes nothing
        groups, port, nodes = self._path(role)
        with translated(f"reading the {role} database's security groups"):
            return not ec2_probes.app_ingress(self._ec2(role), groups, port, nodes)

    # --- changes --------------------------------------------------------------------------------------------

    def promote(self, role: str) -> None:
        """PromoteReadReplica (keeping the platform's backup retention) and the db_instance_available waiter;
        nothing when the instance is standalone already. The region's application then gets its path to the
        new writer back (a failback promotes a region whose database was fenced)."""
        facts = self._facts(role)
        with translated(f"promoting {facts.db_instance_identifier} in {facts.region}"):
            rds_actions.promote(
                self._rds(role),
                facts.db_instance_identifier,
                backup_retention_days=self.platform.backup_retention_days,
                waiting=self.waiting,
            )
        self.unfence(role)

    def reseed_as_replica(self, role: str, source: str) -> None:
        """Rebuild `role`'s database as a cross-region read replica of `source`'s: the instance there now is
        fenced and renamed aside (<identifier>-old-<timestamp>, kept: delete it once the failback is
        verified), then a replica is created under the original identifier with the old one's settings (the
        region's KMS key, subnet group, security groups, parameter group...), so the platform model's names
        stay true. Re-running it continues where it stopped."""
        facts, source_facts = self._facts(role), self._facts(source)
        origin = self._require(source)
        if rds_probes.source_of(origin):
            raise NexusError(
                f"{source_facts.db_instance_identifier} is a replica itself: nothing to re-seed from",
                hint=f"promote the {source} database first",
            )
        rds, identifier = self._rds(role), facts.db_instance_identifier
        with translated(f"re-seeding {identifier} in {facts.region} from {source_facts.region}"):
            current = rds_probes.instance(rds, identifier)
            if current is not None and rds_probes.source_of(current) == origin["DBInstanceArn"]:
                if current.get("DBInstanceStatus") != "available":
                    rds_actions.wait_available(rds, identifier, self.replica_waiting)
                self.unfence(role)
                return
            if current is not None:
                if not rds_probes.source_of(current):
                    self.fence(role)  # whatever still writes to it loses its path before it moves
                aside = rds_actions.set_aside(rds, identifier, self.waiting)
                template = rds_probes.instance(rds, aside)
            else:
                template = rds_actions.latest_aside(rds, identifier)
            if template is None:
                raise NexusError(
                    f"neither {identifier} nor an instance set aside from it exists in {facts.region}",
                    hint="restore the region's database from a backup, then run the failback again",
                )
            rds_actions.create_replica(
                rds,
                identifier,
                source_arn=origin["DBInstanceArn"],
                source_region=source_facts.region,
                template=template,
                waiting=self.replica_waiting,
            )
        # A replica takes no writes: the region's (read-only) application may reach it again.
        self.unfence(role)


def _fence_tag_key(n: int) -> str:
    return FENCE_TAG if n == 0 else f"{FENCE_TAG}-{n + 1}"


def _fence_tag_keys(tags: Mapping[str, str]) -> list[str]:
    """The keys of a fence record's parts among a group's tags, in order."""
    return sorted(
        (key for key in tags if key == FENCE_TAG or key.startswith(f"{FENCE_TAG}-")),
        key=lambda key: int(key.rsplit("-", 1)[1]) if key != FENCE_TAG else 1,
    )


def _fence_tags(at: float, lag: float | None, rules: Sequence[IngressRule]) -> list[str]:
    """The fence record as tag values, each valid JSON of 256 characters at most: as many rules per value as
    fit (a tag value cannot be longer; a truncated one would lose the rules a later unfence must restore)."""
    unique: list[IngressRule] = []
    for rule in rules:
        if not any(rule.same_path(u) for u in unique):
            unique.append(rule)

    def encode(part: Sequence[IngressRule]) -> str:
        return json.dumps(
            {
                "at": round(at, 3),
                "lag": lag,
                "rules": [
                    [r.peer_group_id, r.protocol, r.from_port, r.to_port, r.description or ""] for r in part
                ],
            },
            separators=(",", ":"),
        )

    values: list[str] = []
    part: list[IngressRule] = []
    for found in unique:
        # Only its path is needed to restore a rule: a description too long for a tag goes.
        rule = (
            found if len(encode([found])) <= TAG_VALUE_LIMIT else dataclasses.replace(found, description=None)
        )
        if part and len(encode([*part, rule])) > TAG_VALUE_LIMIT:
            values.append(encode(part))
            part = []
        part.append(rule)
    values.append(encode(part))
    return values
