"""The sandbox data plane's topology: the name, ports and folder of every process, per region; and the URLs
of its edge and regional load balancers. Pure naming from sandbox.toml and the environment model: nothing
here starts, stops or reads a process's state."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from nexus_platform import model
from nexus_platform.world.local import api
from nexus_platform.world.local.postgres import LocalPostgres
from nexus_platform.world.local.processes import ProcessManager
from nexus_platform.world.local.redis import LocalRedis, RedisTls

LINK = "link"
EDGE = "edge"
PROMETHEUS = "prometheus"
ALERTMANAGER = "alertmanager"
BLACKBOX = "blackbox"
PUSHGATEWAY = "pushgateway"
AUTOSCALER = "autoscaler"
# The monitoring processes, in start order (Prometheus last: what it scrapes is up when it starts).
MONITORING = (BLACKBOX, PUSHGATEWAY, ALERTMANAGER, PROMETHEUS)


class ServerTls(Protocol):
    """The server certificate, its key and the CA that signed it (PEM files)."""

    @property
    def certificate(self) -> Path: ...
    @property
    def key(self) -> Path: ...
    @property
    def ca(self) -> Path: ...


class Topology:
    """Names, ports and folders of every data-plane process under `root`."""

    def __init__(
        self,
        root: Path,
        config: model.SandboxConfig,
        env: model.EnvironmentModel,
        processes: ProcessManager,
        tls_files: ServerTls,
    ) -> None:
        self.root, self.config, self.env = root, config, env
        self.processes, self.tls_files = processes, tls_files

    # --- the model ----------------------------------------------------------------------------------------
    def region(self, role: str) -> str:
        return self.env.region(role).name

    def other(self, role: str) -> str:
        return "dr" if role == "primary" else "primary"

    def postgres(self, role: str) -> LocalPostgres:
        region = self.region(role)
        port = self.config.regions[role].postgres
        return LocalPostgres(f"{region}.postgres", self.root / region / "postgres", port, self.processes)

    def redis(self, role: str) -> LocalRedis:
        region = self.region(role)
        files = self._redis_tls()
        return LocalRedis(
            f"{region}.redis",
            self.root / region / "redis",
            self.config.regions[role].redis,
            self.processes,
            files,
        )

    def _redis_tls(self) -> RedisTls:
        return RedisTls(self.tls_files.certificate, self.tls_files.key, self.tls_files.ca)

    def read_replicas(self, role: str) -> list[LocalPostgres]:
        """The in-region read replicas the region has room for (sandbox.toml read_replica_ports)."""
        region = self.region(role)
        return [
            LocalPostgres(
                f"{region}.postgres-read-{n}", self.root / region / f"postgres-read-{n}", port, self.processes
            )
            for n, port in enumerate(self.config.regions[role].read_replicas, start=1)
        ]

    def cache_replicas(self, role: str) -> list[LocalRedis]:
        """The in-region replicas of the region's Redis it has room for (sandbox.toml cache_replica_ports)."""
        region = self.region(role)
        files = self._redis_tls()
        return [
            LocalRedis(
                f"{region}.redis-replica-{n}",
                self.root / region / f"redis-replica-{n}",
                port,
                self.processes,
                files,
            )
            for n, port in enumerate(self.config.regions[role].cache_replicas, start=1)
        ]

    def replicas_started(self, role: str) -> list[str]:
        """The names of the in-region read and cache replicas started and not stopped since."""
        names = [server.name for server in self.read_replicas(role)]
        names += [server.name for server in self.cache_replicas(role)]
        return [name for name in names if self.processes.record(name) is not None]

    def instances(self, role: str) -> list[api.Instance]:
        """The nexus-api instances `nexus up` starts in the region (sandbox.toml api_ports)."""
        return self.slots(role)[: len(self.config.regions[role].apis)]

    def slots(self, role: str) -> list[api.Instance]:
        """Every nexus-api instance the region has room for: `instances` then the autoscaler's spares."""
        region = self.region(role)
        ports = self.config.regions[role].api_slots
        return [
            api.Instance(f"{region}.api-{n}", region, role, port) for n, port in enumerate(ports, start=1)
        ]

    def spares_started(self, role: str) -> list[api.Instance]:
        """The spare instances started (by the autoscaler or `nexus scale`) and not stopped since."""
        baseline = len(self.config.regions[role].apis)
        return [i for i in self.slots(role)[baseline:] if self.processes.record(i.name) is not None]

    def exporter_name(self, role: str) -> str:
        return f"{self.region(role)}.postgres-exporter"

    def edge_url(self) -> str:
        return f"http://{model.LOCALHOST}:{self.config.edge_port}"

    def pushgateway_url(self) -> str:
        return f"http://{model.LOCALHOST}:{self.config.pushgateway_port}"

    def lb_url(self, role: str) -> str:
        return f"http://{model.LOCALHOST}:{self.config.regions[role].lb}"

    @property
    def autoscaler_events(self) -> Path:
        """The autoscaler's decisions, one JSON object per line."""
        return self.root / "autoscaler-events.jsonl"

    def standby_name(self, role: str) -> str:
        """application_name of the replica in this region (synchronous_standby_names quotes it)."""
        return f"replica_{self.region(role).replace('-', '_')}"

    def process_names(self) -> list[str]:
        """Every process of the data plane, in start order."""
        names = [LINK]
        for role in model.ROLES:
            names += [self.postgres(role).name, self.redis(role).name]
        for role in model.ROLES:
            names += self.replicas_started(role)
        for role in model.ROLES:
            names += [instance.name for instance in self.instances(role) + self.spares_started(role)]
        names += [
            EDGE,
            *(self.exporter_name(role) for role in model.ROLES),
            *MONITORING,
            AUTOSCALER,
        ]
        return names

    def ports_of(self, name: str) -> list[int]:
        cfg = self.config
        fixed = {
            LINK: [cfg.link_control_port]
            + [cfg.regions[r].link_postgres for r in model.ROLES]
            + [cfg.regions[r].link_redis for r in model.ROLES],
            EDGE: [cfg.edge_port, cfg.edge_stats_port] + [cfg.regions[r].lb for r in model.ROLES],
            PROMETHEUS: [cfg.prometheus_port],
            ALERTMANAGER: [cfg.alertmanager_port],
            BLACKBOX: [cfg.blackbox_port],
            PUSHGATEWAY: [cfg.pushgateway_port],
            AUTOSCALER: [],
        }
        if name in fixed:
            return fixed[name]
        for role in model.ROLES:
            ports = cfg.regions[role]
            if name == self.postgres(role).name:
                return [ports.postgres]
            if name == self.redis(role).name:
                return [ports.redis]
            if name == self.exporter_name(role):
                return [ports.postgres_exporter]
            for instance in self.slots(role):
                if name == instance.name:
                    return [instance.port]
            servers = {p.name: p.port for p in self.read_replicas(role)}
            servers.update({r.name: r.port for r in self.cache_replicas(role)})
            if name in servers:
                return [servers[name]]
        raise KeyError(name)
