"""The sandbox's scaling view and changes (`nexus scale show|set`).

No node groups (processes, not pods on nodes); nexus-api's bounds are the chart's HorizontalPodAutoscaler
values for the region, or what `nexus scale set --api-replicas` gave it, as the sandbox's autoscaler holds
them (world/local/autoscaler.py); its desired replicas the instances started and not stopped since (a killed
one is still wanted, as a crashed pod is), its ready ones those answering /readyz; the database's read
replicas are its WAL senders (the other region's replica); each region's Redis is one node (the other
region's is the global datastore's replica, not a replica of the shard).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nexus_platform.errors import NexusError
from nexus_platform.world.base import Quotas, Scale
from nexus_platform.world.local import api
from nexus_platform.world.local import autoscaler as hpa


class LocalScaling:
    def __init__(self, plane: Any, chart: Path) -> None:
        self.plane, self.chart = plane, chart

    def _settings(self, role: str) -> hpa.Settings:
        return hpa.region_settings(self.plane, role)

    def show(self, role: str) -> Scale:
        slots = self.plane.slots(role)
        wanted = [i for i in slots if self.plane.processes.record(i.name) is not None]
        ready = [i for i in wanted if self.plane.processes.running(i.name) and api.healthy(i.url, "/readyz")]
        config = self._settings(role)
        notes = [
            f"nexus-api bounds {config.chart.low}..{config.chart.high}, held to "
            f"{config.effective.low}..{config.effective.high} by the sandbox's {len(slots)} ports "
            f"(sandbox.toml regions.{role}); target {config.target_per_instance:g} requests/s per instance"
        ]
        try:
            senders = int(self.plane.postgres(role).admin("SELECT count(*) FROM pg_stat_replication")[0][0])
        except NexusError:
            senders = None
            notes.append("the database does not answer")
        return Scale(
            role=role,
            region=self.plane.region(role),
            node_groups=(),
            api_ready=len(ready),
            api_desired=len(wanted),
            api_min=config.effective.low,
            api_max=config.effective.high,
            db_read_replicas=senders,
            cache_replicas_per_shard=0,
            notes=tuple(notes),
        )

    def quotas(self, role: str) -> Quotas:
        # No quota on nexus-api's bounds: the autoscaler holds them to the region's ports (`scale show` says
        # so), and the chart's own bounds (12) must stay settable.
        return Quotas(
            api_replicas=None, node_group_size=None, db_read_replicas=None, cache_replicas_per_shard=None
        )

    def set_nodes(self, role: str, group: str, low: int, desired: int, high: int) -> None:
        raise NexusError("the sandbox has no node groups (its instances are processes)", hint="drop --nodes")

    def set_api_bounds(self, role: str, low: int, high: int) -> None:
        self.plane.set_api_bounds(role, low, high)

    def set_db_read_replicas(self, role: str, count: int) -> None:
        raise NexusError(
            "the sandbox's database has no read replicas beside the other region's",
            hint="drop --db-read-replicas (rehearse it with --world aws)",
        )

    def set_cache_replicas(self, role: str, count: int) -> None:
        raise NexusError(
            "the sandbox's cache is one Redis per region",
            hint="drop --cache-replicas (rehearse it with --world aws)",
        )
