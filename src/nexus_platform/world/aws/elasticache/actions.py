"""Changes: fail a global datastore over to one of its secondaries, and wait for the roles to switch.

botocore has no waiter for global datastores, so the wait is a tenacity poll of
DescribeGlobalReplicationGroups.
"""

from __future__ import annotations

from typing import Any

from nexus_platform.world.aws.clients import Waiting, poll, translated
from nexus_platform.world.aws.elasticache import probes


def wait_settled(elasticache: Any, global_id: str, waiting: Waiting) -> None:
    """Wait until the datastore is 'available' (not in the middle of a failover or a modification)."""
    poll(
        f"global datastore {global_id} to be available",
        lambda: (probes.datastore(elasticache, global_id) or {}).get("Status") == "available",
        waiting,
    )


def failover(elasticache: Any, global_id: str, region: str, group_id: str, waiting: Waiting) -> None:
    """Make `group_id` in `region` the datastore's primary and wait until the members say so."""
    with translated(f"failing {global_id} over to {group_id} in {region}"):
        elasticache.failover_global_replication_group(
            GlobalReplicationGroupId=global_id, PrimaryRegion=region, PrimaryReplicationGroupId=group_id
        )

    def switched() -> bool:
        described = probes.datastore(elasticache, global_id)
        return (
            probes.member_role(described, region, group_id) == "primary"
            and (described or {}).get("Status") == "available"
        )

    poll(f"{group_id} in {region} to be the primary of {global_id}", switched, waiting)
