"""The sandbox's scaling view: what each region runs of what production scales (`nexus scale show`).

No node groups (processes, not pods on nodes); nexus-api's bounds are the chart's HorizontalPodAutoscaler
values for the region (what the cluster's HPA would hold it to); its desired replicas the instances started
and not stopped since (a killed one is still wanted, as a crashed pod is), its ready ones those answering
/readyz; the database's read replicas are its WAL senders (the other region's replica); each region's Redis
is one node (the other region's is the global datastore's replica, not a replica of the shard).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nexus_platform.errors import NexusError
from nexus_platform.world.base import Scale
from nexus_platform.world.local import api


class LocalScaling:
    def __init__(self, plane: Any, chart: Path) -> None:
        self.plane, self.chart = plane, chart

    def show(self, role: str) -> Scale:
        instances = self.plane.instances(role)
        # Wanted: started and not stopped since (a killed instance is still wanted, as a crashed pod is).
        wanted = [i for i in instances if self.plane.processes.record(i.name) is not None]
        ready = [i for i in wanted if self.plane.processes.running(i.name) and api.healthy(i.url, "/readyz")]
        hpa = api.chart_values(self.chart, role).get("autoscaling") or {}
        bounded = bool(hpa.get("enabled"))
        notes = [
            f"the sandbox has {len(instances)} nexus-api ports here (sandbox.toml regions.{role}.api_ports)"
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
            api_min=int(hpa["minReplicas"]) if bounded else None,
            api_max=int(hpa["maxReplicas"]) if bounded else None,
            db_read_replicas=senders,
            cache_replicas_per_shard=0,
            notes=tuple(notes),
        )
