"""The sandbox's data plane: per region the real processes that play the production components.

| sandbox process (127.0.0.1)               | plays in production                                         |
|-------------------------------------------|-------------------------------------------------------------|
| ``<primary>.postgres`` (PostgreSQL 15)    | the RDS PostgreSQL primary                                  |
| ``<dr>.postgres`` streaming replica       | the cross-region RDS read replica                           |
| ``link`` (asyncio TCP proxy, 35 ms)       | the inter-region network every replication stream crosses  |
| ``<region>.redis`` (Redis 7, TLS + AUTH)  | each region's ElastiCache group, joined as a global datastore|
| ``<region>.api-N`` (nexus-api)            | the nexus-api pods of each region's EKS cluster             |
| ``edge`` (HAProxy)                        | each region's ALB, Route 53 failover records and CloudFront |
| ``prometheus``, ``alertmanager``, ...     | the monitoring stack, with the repository's own rules       |
| ``autoscaler``                            | nexus-api's HorizontalPodAutoscaler (request rate per pod)  |

Everything lives under ``<state>/dataplane`` and the process manager's run folder; ``nexus down`` removes it,
as the emulator's state goes with the emulator. Credentials come from the emulator's Secrets Manager (what
Terraform made), each region reading its own replica of the secrets, as the pods do through External Secrets.
"""

from __future__ import annotations

import json
import shutil
import signal
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import tenacity

from nexus_platform import logs, model
from nexus_platform.database import approle
from nexus_platform.errors import NexusError
from nexus_platform.sandbox import observability, tls
from nexus_platform.secrets import RegionSecrets, read_master, read_secrets
from nexus_platform.world.local import api, haproxy, link
from nexus_platform.world.local.plane_state import PlaneState
from nexus_platform.world.local.postgres import (
    REPLICATION_USER,
    LocalPostgres,
    Replication,
    TlsFiles,
    archive_settings,
)
from nexus_platform.world.local.processes import ProcessManager, port_accepts, require_free
from nexus_platform.world.local.topology import (
    ALERTMANAGER,
    AUTOSCALER,
    BLACKBOX,
    EDGE,
    LINK,
    PROMETHEUS,
    PUSHGATEWAY,
    Topology,
)

log = logs.get("sandbox.dataplane")

__all__ = ["ALERTMANAGER", "BLACKBOX", "EDGE", "LINK", "PROMETHEUS", "PUSHGATEWAY", "DataPlane", "UpReport"]

Progress = Callable[[str], None]


def autoscaler_argv() -> list[str]:
    import sys  # noqa: PLC0415

    return [sys.executable, "-m", "nexus_platform.sandbox.autoscaler"]


def _accepting(port: int) -> Callable[[], bool]:
    return lambda: port_accepts(model.LOCALHOST, port)


@dataclass(frozen=True)
class UpReport:
    started: list[str]
    seconds: float
    mode: str


class DataPlane(Topology, PlaneState):
    """How to start, stop and inspect every data-plane process: its names and ports are the Topology's, what
    it remembers the PlaneState's."""

    def __init__(self, paths: model.Paths, config: model.SandboxConfig, env: model.EnvironmentModel) -> None:
        root = paths.state_dir / "dataplane"
        Topology.__init__(
            self, root, config, env, ProcessManager(paths.run_dir, paths.log_dir), tls.files(paths.tls_dir)
        )
        PlaneState.__init__(self, root, config.replication_mode)
        self.paths = paths
        self.chart = paths.root / "helm" / "nexus"

    def running(self) -> dict[str, bool]:
        return {name: self.processes.running(name) is not None for name in self.process_names()}

    def check_ports(self) -> dict[str, bool]:
        """Which processes run; every port of one that does not must be free (else a one-line error)."""
        running = self.running()
        for name, is_running in running.items():
            if not is_running:
                for port in self.ports_of(name):
                    require_free(model.LOCALHOST, port, name)
        return running

    # --- up -----------------------------------------------------------------------------------------------
    def up(
        self,
        outputs: dict[str, Any],
        clients: Callable[[str], Any],
        *,
        mode: str | None = None,
        progress: Progress | None = None,
        started: list[str] | None = None,
    ) -> UpReport:
        """Start every data-plane process that is not running; `started` collects what this call started."""
        began = time.monotonic()
        say = progress or (lambda _message: None)
        started = started if started is not None else []
        mode = mode or str(self.state().get("mode") or self.config.replication_mode)
        running = self.check_ports()
        if all(running.values()):
            if mode != self.mode():
                self.set_mode(mode)
            return UpReport([], time.monotonic() - began, mode)
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)  # the postgres user must reach its folders below
        self._save_state(mode=mode)
        region_secrets = {
            role: read_secrets(clients(self.region(role)), self.env.name_prefix) for role in model.ROLES
        }
        master = read_master(clients(self.region("primary")), self.env.name_prefix)
        # Kept (0600, git-ignored state) so `nexus status` can ask Redis its role without a round trip to the
        # emulator's Secrets Manager.
        self._save_state(cache_token=region_secrets["primary"].cache_token)
        pg_tls = self.pg_tls()
        health = outputs.get("health_check", {})

        def track(name: str, was_running: bool) -> None:
            if not was_running:
                started.append(name)

        say("link emulator")
        self._start_link(running[LINK])
        track(LINK, running[LINK])

        # The writer is the primary region's database until a failover moves it (state.json, world/local).
        writer = self.writer()
        reader = self.other(writer)
        primary, replica = self.postgres(writer), self.postgres(reader)
        say(f"PostgreSQL primary ({primary.name})")
        if not primary.exists():
            primary.initdb(pg_tls, self.pg_settings())
        # Asynchronous until the replica exists: a synchronous primary would wait for it on every commit,
        # the replication user's own creation included.
        if not replica.exists():
            primary.set_replication(Replication("async", self.standby_name(reader)), reload=False)
        primary.start()
        track(primary.name, running[primary.name])
        self._bootstrap_primary(primary, master, region_secrets[writer].app)

        say("Redis primary and replica")
        cache_primary, cache_replica = self.redis(writer), self.redis(reader)
        cache_primary.start(region_secrets[writer].cache_token)
        track(cache_primary.name, running[cache_primary.name])
        cache_replica.start(
            region_secrets[reader].cache_token,
            replica_of=(model.LOCALHOST, self.config.regions[writer].link_redis),
        )
        track(cache_replica.name, running[cache_replica.name])

        say(f"PostgreSQL replica ({replica.name}) through the link")
        if not replica.exists():
            replica.base_backup(
                source_host=model.LOCALHOST,
                source_port=self.config.regions[writer].link_postgres,
                password=self.replication_password(),
                standby_name=self.standby_name(reader),
                tls=pg_tls,
                settings=self.pg_settings(),
            )
        replica.start()
        track(replica.name, running[replica.name])
        primary.set_replication(Replication(mode, self.standby_name(reader)))

        say("nexus-api, 2 instances per region")
        self._start_apis(region_secrets, running, track)

        say("edge (HAProxy)")
        self._start_edge(health, running[EDGE])
        track(EDGE, running[EDGE])

        say("monitoring (Prometheus, Alertmanager, exporters)")
        self._start_monitoring(master, running, track)

        say("autoscaler")
        if not running[AUTOSCALER]:
            self.processes.start(AUTOSCALER, autoscaler_argv(), ready=lambda: True, timeout=10)
            track(AUTOSCALER, False)
        return UpReport(list(started), time.monotonic() - began, mode)

    def api_targets_changed(self) -> None:
        """Prometheus scrapes the nexus-api instances wanted now (file_sd, as Kubernetes discovery would)."""
        observability.write_targets(self.monitoring_spec())

    def pg_tls(self) -> TlsFiles:
        return TlsFiles(self.tls_files.certificate, self.tls_files.key, self.tls_files.ca)

    def pg_settings(self) -> dict[str, str]:
        return {
            "max_connections": "100",
            "shared_buffers": "32MB",
            "wal_level": "replica",
            "max_wal_senders": "5",
            "wal_keep_size": "'256MB'",
            "hot_standby": "on",
            "hot_standby_feedback": "on",
            # A promoted replica must not wait seconds before it looks for WAL again.
            "wal_retrieve_retry_interval": "'100ms'",
            "wal_receiver_timeout": "'10s'",
            # What point-in-time restore replays: `nexus backup` ships the spool to the region's bucket.
            **archive_settings(),
            "wal_sender_timeout": "'10s'",
        }

    def _bootstrap_primary(
        self, primary: LocalPostgres, master: approle.Credentials, app: approle.Credentials
    ) -> None:
        """The RDS side of the database: its master user, the application's database and the replication user,
        then nexus-api's own role through `nexus db app-role`'s code path."""
        database = api.database_name(self.chart)
        # RDS's master user holds rds_superuser; a superuser is the local equivalent.
        primary.ensure_login(master.username, master.password, attributes="SUPERUSER")
        primary.ensure_login(REPLICATION_USER, self.replication_password(), attributes="REPLICATION")
        primary.ensure_database(database, master.username)
        target = approle.Target(model.LOCALHOST, primary.port, database, master, app)
        approle.apply(target, approle.plan(target))

    def _start_link(self, is_running: bool) -> None:
        if is_running:
            return
        routes = []
        for role in model.ROLES:
            ports = self.config.regions[role]
            for kind, listen, upstream in (
                ("postgres", ports.link_postgres, ports.postgres),
                ("redis", ports.link_redis, ports.redis),
            ):
                routes.append(
                    link.Route(
                        f"{kind}-from-{self.region(role)}",
                        link.Endpoint(model.LOCALHOST, listen),
                        link.Endpoint(model.LOCALHOST, upstream),
                    )
                )
        config = link.LinkConfig(
            control=link.Endpoint(model.LOCALHOST, self.config.link_control_port),
            delay_ms=self.config.link_delay_ms,
            jitter_ms=self.config.link_jitter_ms,
            routes=tuple(routes),
        )
        path = self.root / "link.json"
        path.write_text(json.dumps(config.to_dict(), indent=2))
        import sys  # noqa: PLC0415

        self.processes.start(
            LINK,
            [sys.executable, "-m", "nexus_platform.world.local.link", "--config", str(path)],
            ready=lambda: port_accepts(model.LOCALHOST, self.config.link_control_port),
            timeout=30,
        )

    def backends(self, role: str, creds: RegionSecrets) -> api.Backends:
        ports = self.config.regions[role]
        return api.Backends(ports.postgres, creds.app.username, creds.app.password, ports.redis,
                            creds.cache_token, self.tls_files.ca)  # fmt: skip

    def _start_apis(
        self,
        region_secrets: dict[str, RegionSecrets],
        running: dict[str, bool],
        track: Callable[[str, bool], None],
    ) -> None:
        jobs = []
        for role in model.ROLES:
            backends = self.backends(role, region_secrets[role])
            jobs += [(instance, backends) for instance in self.instances(role) + self.spares_started(role)]
        # In parallel: each instance spends about a second of CPU importing and connecting.
        with ThreadPoolExecutor(max_workers=4) as pool:
            for _ in pool.map(lambda job: api.start(self.processes, self.chart, *job), jobs):
                pass
        for instance, _ in jobs:
            track(instance.name, running[instance.name])

    def edge_spec(self, health: dict[str, Any]) -> haproxy.EdgeSpec:
        pools = tuple(
            haproxy.RegionPool(
                region=self.region(role),
                role=role,
                lb_host=model.LOCALHOST,
                lb_port=self.config.regions[role].lb,
                # Every port the region has: an instance the autoscaler has not started is DOWN, as a pod
                # that does not exist has no target in the ALB's target group.
                servers=tuple(haproxy.Server(i.name, model.LOCALHOST, i.port) for i in self.slots(role)),
            )
            for role in model.ROLES
        )
        # Terraform's health_check output is the one source of these (Route 53 uses the same): no fallback.
        try:
            threshold, path = int(health["failure_threshold"]), str(health["path"])
        except (KeyError, TypeError, ValueError):
            raise NexusError(
                f"Terraform's health_check output lacks failure_threshold or path: {health!r}",
                hint="re-apply terraform/aws (`nexus up`)",
            ) from None
        check = haproxy.HealthCheck(
            path=path,
            interval_ms=self.config.check_interval_ms,
            fall=threshold,
            rise=threshold,
        )
        return haproxy.EdgeSpec(
            edge_host=model.LOCALHOST,
            edge_port=self.config.edge_port,
            stats_host=model.LOCALHOST,
            stats_port=self.config.edge_stats_port,
            runtime_socket=self.root / "haproxy.sock",
            pools=pools,
            health=check,
        )

    def wait_serving(self, timeout: float = 60.0) -> str:
        """Wait until the edge sends traffic to the writer's region (a restarted one needs `rise` checks)."""
        region = self.region(self.writer())

        def serving() -> str | None:
            try:
                return self.runtime().serving_region()
            except NexusError:
                return None

        found = tenacity.Retrying(
            stop=tenacity.stop_after_delay(timeout),
            wait=tenacity.wait_fixed(0.2),
            retry=tenacity.retry_if_result(lambda found: found != region),
            retry_error_callback=lambda state: None,
        )(serving)
        if found != region:
            raise NexusError(
                f"the edge does not send traffic to {region} after {timeout:.0f}s", hint="see `nexus status`"
            )
        return region

    def runtime(self) -> haproxy.Runtime:
        return haproxy.Runtime(self.root / "haproxy.sock")

    def _start_edge(self, health: dict[str, Any], is_running: bool) -> None:
        if is_running:
            return
        spec = self.edge_spec(health)
        path = self.root / "haproxy.cfg"
        path.write_text(haproxy.render_config(spec))
        haproxy.check_config(path)
        self.processes.start(
            EDGE,
            haproxy.command(spec, path),
            ready=lambda: port_accepts(model.LOCALHOST, self.config.edge_port),
            timeout=30,
        )
        # Regions drained by a runbook stay drained across an edge restart (HAProxy keeps it in memory only).
        runtime = self.runtime()
        for role in self.drained():
            runtime.disable_region(self.region(role))

    def _start_monitoring(
        self, master: approle.Credentials, running: dict[str, bool], track: Callable[[str, bool], None]
    ) -> None:
        spec = self.monitoring_spec()
        files = observability.write_all(spec, self.paths.root / "monitoring")
        database = api.database_name(self.chart)
        for role in model.ROLES:
            name = self.exporter_name(role)
            if running[name]:
                continue
            creds = master
            exporter = next(e for e in spec.postgres_exporters if e.region == self.region(role))
            dsn = observability.postgres_dsn(
                user=creds.username,
                password=creds.password,
                host=model.LOCALHOST,
                port=self.config.regions[role].postgres,
                dbname=database,
                sslmode="require",
            )
            argv, env = observability.postgres_exporter_argv_and_env(files, exporter, dsn)
            port = self.config.regions[role].postgres_exporter
            self.processes.start(
                name,
                argv,
                env=env,
                ready=_accepting(port),
                timeout=30,
            )
            track(name, False)
        for name, argv, port in (
            (BLACKBOX, observability.blackbox_argv(spec, files), self.config.blackbox_port),
            (PUSHGATEWAY, observability.pushgateway_argv(spec, files), self.config.pushgateway_port),
            (ALERTMANAGER, observability.alertmanager_argv(spec, files), self.config.alertmanager_port),
            (PROMETHEUS, observability.prometheus_argv(spec, files), self.config.prometheus_port),
        ):
            if running[name]:
                continue
            self.processes.start(name, argv, ready=_accepting(port), timeout=60)
            track(name, False)

    def monitoring_spec(self) -> observability.MonitoringSpec:
        cfg = self.config
        return observability.MonitoringSpec(
            directory=self.root / "monitoring",
            prometheus=(model.LOCALHOST, cfg.prometheus_port),
            alertmanager=(model.LOCALHOST, cfg.alertmanager_port),
            blackbox=(model.LOCALHOST, cfg.blackbox_port),
            scrape_interval_s=cfg.scrape_interval_s,
            alert_for=cfg.alert_for,
            apis=tuple(
                observability.ApiTarget(i.region, role, model.LOCALHOST, i.port, i.name)
                for role in model.ROLES
                for i in self.instances(role) + self.spares_started(role)
            ),
            origins=tuple(
                observability.Origin(self.region(role), role, f"{self.lb_url(role)}/readyz")
                for role in model.ROLES
            ),
            global_url=f"{self.edge_url()}/readyz",
            postgres_exporters=tuple(
                observability.ExporterTarget(
                    self.region(role), model.LOCALHOST, cfg.regions[role].postgres_exporter
                )
                for role in model.ROLES
            ),
            haproxy_metrics=(model.LOCALHOST, cfg.edge_stats_port),
            link_metrics=(model.LOCALHOST, cfg.link_control_port),
            pushgateway=(model.LOCALHOST, cfg.pushgateway_port),
        )

    def set_mode(self, mode: str) -> None:
        """Switch the running writer between async and sync (remote_apply) replication; remembered."""
        writer = self.writer()
        self.postgres(writer).set_replication(Replication(mode, self.standby_name(self.other(writer))))
        self._save_state(mode=mode)

    # --- down ---------------------------------------------------------------------------------------------
    def stop(self, names: Iterable[str]) -> list[str]:
        stopped = []
        databases = {self.postgres(role).name for role in model.ROLES}
        for name in reversed(list(names)):
            # PostgreSQL's fast shutdown; its SIGTERM (smart) would wait for every client to leave.
            first = signal.SIGINT if name in databases else signal.SIGTERM
            if self.processes.stop(name, grace=10, first=first):
                stopped.append(name)
        return stopped

    def down(self) -> list[str]:
        """Stop every data-plane process (also after a failed or interrupted `up`) and remove its data."""
        known = self.process_names()
        # Also what an earlier configuration started under other names (never the control plane's emulator).
        others = [name for name in self.processes.names() if name not in known and name != "emulator"]
        stopped = self.stop([*others, *known])
        shutil.rmtree(self.root, ignore_errors=True)
        return stopped
