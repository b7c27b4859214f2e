"""The AWS world's cache: the ElastiCache global datastore (FailoverGlobalReplicationGroup)."""

from __future__ import annotations

from typing import Any

from nexus_platform.errors import NexusError, Unreachable
from nexus_platform.platform import Platform
from nexus_platform.world.aws.clients import Clients, Waiting, translated
from nexus_platform.world.aws.elasticache import actions as cache_actions
from nexus_platform.world.aws.elasticache import probes as cache_probes


class AwsCache:
    """The ElastiCache global datastore: each role's replication group is a member, primary or secondary.
    Each call goes to the region it is about (a failover to DR must not depend on the failed region's API)."""

    def __init__(self, platform: Platform, clients: Clients, *, waiting: Waiting | None = None) -> None:
        self.platform, self.clients = platform, clients
        self.waiting = waiting or Waiting(delay=10.0, timeout=900.0)
        self.global_id = platform.global_datastore_id

    def _client(self, role: str) -> Any:
        return self.clients("elasticache", self.platform.region(role).region)

    def _member(self, role: str, described: dict[str, Any] | None) -> str | None:
        facts = self.platform.region(role)
        return cache_probes.member_role(described, facts.region, facts.cache_replication_group_id)

    def _datastore(self, role: str) -> dict[str, Any] | None:
        with translated(f"describing the global datastore {self.global_id}"):
            return cache_probes.datastore(self._client(role), self.global_id)

    def role(self, role: str) -> str:
        facts = self.platform.region(role)
        try:
            with translated(f"describing the global datastore {self.global_id}"):
                described = cache_probes.datastore(self._client(role), self.global_id)
                member = self._member(role, described)
                status = cache_probes.group_status(self._client(role), facts.cache_replication_group_id)
        except Unreachable:
            return "down"
        if member is None or status not in cache_probes.SERVING_STATUSES:
            return "down"
        return "primary" if member == "primary" else "replica"

    def promote(self, role: str) -> None:
        """FailoverGlobalReplicationGroup to `role`'s group, then wait until the members' roles say so
        (nothing when it is the primary already)."""
        facts, client = self.platform.region(role), self._client(role)
        with translated(f"failing the global datastore {self.global_id} over to {facts.region}"):
            described = cache_probes.datastore(client, self.global_id)
            if described is None:
                raise NexusError(f"there is no global datastore {self.global_id}")
            if described.get("Status") != "available":
                # A failover an interrupted run started may still be under way.
                cache_actions.wait_settled(client, self.global_id, self.waiting)
                described = cache_probes.datastore(client, self.global_id)
            member = self._member(role, described)
            if member == "primary":
                return
            if member is None:
                raise NexusError(
                    f"{facts.cache_replication_group_id} in {facts.region} is not a member of "
                    f"{self.global_id}",
                    hint="re-create it as a secondary (terraform apply)",
                )
            cache_actions.failover(
                client, self.global_id, facts.region, facts.cache_replication_group_id, self.waiting
            )

    def follow(self, role: str, source: str) -> None:
        """In a global datastore a secondary follows the primary by itself: nothing to do when `role` is a
        secondary and `source` the primary; when it is the other way round, fail over to `source`."""
        described = self._datastore(source)
        mine, theirs = self._member(role, described), self._member(source, described)
        if mine == "secondary" and theirs == "primary":
            return
        if mine == "primary" and theirs == "secondary":
            self.promote(source)
            return
        raise NexusError(
            f"the {role} cache is {mine or 'not a member'} and the {source} one {theirs or 'not a member'} "
            f"of {self.global_id}",
            hint="re-create the missing member as a secondary (terraform apply)",
        )
