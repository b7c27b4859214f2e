"""The sandbox's scaling view and changes (`nexus scale show|set`).

No node groups (processes, not pods on nodes); nexus-api's bounds are the chart's HorizontalPodAutoscaler
values for the region, or what `nexus scale set --api-replicas` gave it, as the sandbox's autoscaler holds
them (world/local/autoscaler.py); its desired replicas the instances started and not stopped since (a killed
one is still wanted, as a crashed pod is), its ready ones those answering /readyz; the database's read
replicas are its WAL senders (the other region's replica, and the in-region ones); the cache's replicas per
shard are the in-region replicas of the region's Redis (the other region's is the global datastore's replica,
not a replica of the shard).

`--db-read-replicas N` on the writer keeps N - 1 in-region streaming replicas beside the other region's
(a `pg_basebackup` of the region's own server, started on sandbox.toml's read_replica_ports);
`--cache-replicas N` keeps N Redis replicas of the region's Redis (TLS and AUTH like it, on
cache_replica_ports). Fewer stops the newest and removes its data, as deleting a replica does. They are the
sandbox's until `nexus down` (a later `nexus up` does not start them again), and a failover does not move
them: remove them before rehearsing one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nexus_platform import model
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
            cache_replicas_per_shard=len(self._started(self.plane.cache_replicas(role))),
            notes=tuple(notes),
        )

    def quotas(self, role: str) -> Quotas:
        # No quota on nexus-api's bounds: the autoscaler holds them to the region's ports (`scale show` says
        # so), and the chart's own bounds (12) must stay settable. Replicas: the ports sandbox.toml gives.
        ports = self.plane.config.regions[role]
        return Quotas(
            api_replicas=None,
            node_group_size=None,
            db_read_replicas=1 + len(ports.read_replicas),
            cache_replicas_per_shard=len(ports.cache_replicas),
        )

    def _started(self, servers: list[Any]) -> list[Any]:
        return [server for server in servers if self.plane.processes.record(server.name) is not None]

    def set_nodes(self, role: str, group: str, low: int, desired: int, high: int) -> None:
        raise NexusError("the sandbox has no node groups (its instances are processes)", hint="drop --nodes")

    def set_api_bounds(self, role: str, low: int, high: int) -> None:
        self.plane.set_api_bounds(role, low, high)

    def set_db_read_replicas(self, role: str, count: int) -> None:
        """`count` counts the other region's replica: `count - 1` in-region ones."""
        slots, wanted = self.plane.read_replicas(role), max(count - 1, 0)
        if wanted > len(slots):
            raise NexusError(
                f"the sandbox has room for {len(slots)} in-region read replicas in {self.plane.region(role)}",
                hint=f"add ports to regions.{role}.read_replica_ports in sandbox.toml",
            )
        source = self.plane.postgres(role)
        for n, replica in enumerate(slots[:wanted], start=1):
            if not replica.exists():
                replica.base_backup(
                    source_host=model.LOCALHOST,
                    source_port=source.port,
                    password=self.plane.replication_password(),
                    standby_name=f"read_{self.plane.region(role).replace('-', '_')}_{n}",
                    tls=self.plane.pg_tls(),
                    settings=self.plane.pg_settings(),
                )
            replica.start()
        for replica in reversed(slots[wanted:]):
            replica.destroy()  # stops it first

    def set_cache_replicas(self, role: str, count: int) -> None:
        slots = self.plane.cache_replicas(role)
        if count > len(slots):
            raise NexusError(
                f"the sandbox has room for {len(slots)} cache replicas in {self.plane.region(role)}",
                hint=f"add ports to regions.{role}.cache_replica_ports in sandbox.toml",
            )
        token = self.plane.cache_token() or ""
        source = self.plane.redis(role)
        for replica in slots[:count]:
            replica.start(token, replica_of=(model.LOCALHOST, source.port))
        for replica in reversed(slots[count:]):
            replica.stop()
