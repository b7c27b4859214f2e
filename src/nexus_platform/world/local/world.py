"""The sandbox world: the runbooks' interfaces (world/base.py) over the data plane's real processes.

- Database: PostgreSQL. Fence = no application login (a ``pg_hba.conf`` reject line), read-only for what still
  connects, client sessions ended (files in the data directory: it survives a restart); promote =
  ``pg_promote``; reseed = ``pg_basebackup`` through the link.
- Cache: Redis. ``REPLICAOF NO ONE`` / ``REPLICAOF <the other region across the link>``.
- Traffic: HAProxy's runtime API. A drained region is in maintenance at the edge (kept in state.json).
- Compute: nexus-api processes per region, started with the secrets from the emulator's Secrets Manager.
- Probe: HTTP through the edge (or one region's API), ``Cache-Control: no-cache`` on reads.

Which region writes is recorded in the data plane's state, so `nexus up` restarts a failed-over sandbox in its
new topology rather than the one of sandbox.toml.
"""

from __future__ import annotations

import contextlib
import http.client
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

from nexus_platform import model
from nexus_platform.errors import NexusError
from nexus_platform.secrets import RegionSecrets, read_secrets
from nexus_platform.world.base import Backups, Capacity, Lag, ProbeResult, Scaling, World
from nexus_platform.world.local import api, haproxy
from nexus_platform.world.local import traffic as http_traffic
from nexus_platform.world.local.haproxy import Runtime
from nexus_platform.world.local.postgres import LocalPostgres, Replication, TlsFiles
from nexus_platform.world.local.processes import ProcessManager
from nexus_platform.world.local.redis import LocalRedis

SecretsClients = Callable[[str], Any]

#: How long a stopping nexus-api instance may drain before it is killed (see LocalCompute.stop).
STOP_GRACE_SECONDS = 1.0
#: The same when its region's database is fenced: nothing it has in flight can complete any more.
FENCED_STOP_GRACE_SECONDS = 0.2


class DataPlane(Protocol):
    """What this world needs of the sandbox's data plane (sandbox/dataplane.py's DataPlane has it): names,
    ports and folders of its processes, and its recorded state. A Protocol, so that world/ imports nothing
    of sandbox/."""

    config: model.SandboxConfig
    env: model.EnvironmentModel
    chart: Path
    processes: ProcessManager

    def region(self, role: str) -> str: ...
    def other(self, role: str) -> str: ...
    def postgres(self, role: str) -> LocalPostgres: ...
    def redis(self, role: str) -> LocalRedis: ...
    def instances(self, role: str) -> list[api.Instance]: ...
    def slots(self, role: str) -> list[api.Instance]: ...
    def api_bounds(self, role: str) -> tuple[int, int] | None: ...
    def set_api_bounds(self, role: str, low: int, high: int) -> None: ...
    def api_targets_changed(self) -> None: ...
    def standby_name(self, role: str) -> str: ...
    def edge_url(self) -> str: ...
    def mode(self) -> str: ...
    def cache_token(self) -> str | None: ...
    def replication_password(self) -> str: ...
    def pg_tls(self) -> TlsFiles: ...
    def pg_settings(self) -> dict[str, str]: ...
    def runtime(self) -> Runtime: ...
    def set_writer(self, role: str) -> None: ...
    def set_drained(self, role: str, drained: bool) -> None: ...
    def backends(self, role: str, creds: RegionSecrets) -> api.Backends: ...


class LocalDatabase:
    def __init__(self, plane: DataPlane) -> None:
        self.plane = plane

    def role(self, role: str) -> str:
        server = self.plane.postgres(role)
        if not server.running():
            return "down"
        try:
            return "replica" if server.in_recovery() else "primary"
        except NexusError:
            return "down"

    def lag(self, role: str) -> Lag:
        server = self.plane.postgres(role)
        source = self.plane.postgres(self.plane.other(role))
        try:
            streaming = server.streaming()
            gap = server.replay_gap()
        except NexusError:
            return Lag(None, None, False)
        lag_bytes, lag_seconds = (None, None)
        if source.running():
            with contextlib.suppress(NexusError):
                lag_bytes, lag_seconds = source.replication_lag()
        age = self._heartbeat_age(role)
        # The heartbeat's age bounds what a failover now would lose: the primary writes one on every health
        # check, so a replica that has it has everything up to then.
        seconds = age if age is not None else lag_seconds
        synchronous = streaming and self.plane.mode() == "sync"
        return Lag(lag_bytes if lag_bytes is not None else gap, seconds, streaming, synchronous)

    def _heartbeat_age(self, role: str) -> float | None:
        server = self.plane.postgres(role)
        source_region = self.plane.region(self.plane.other(role))
        try:
            rows = server.admin(
                "SELECT extract(epoch FROM now() - max(checked_at))::float8 FROM region_heartbeats "
                "WHERE region = %s",
                (source_region,),
                dbname=api.database_name(self.plane.chart),
            )
        except NexusError:
            return None
        return float(rows[0][0]) if rows and rows[0][0] is not None else None

    def fence(self, role: str) -> None:
        server = self.plane.postgres(role)
        if server.exists():
            server.fence()

    def is_fenced(self, role: str) -> bool:
        server = self.plane.postgres(role)
        if not server.running():
            return not server.exists() or server.fenced_on_disk()
        try:
            return server.in_recovery() or (server.refuses_logins() and server.read_only())
        except NexusError:
            return True

    def promote(self, role: str) -> None:
        server = self.plane.postgres(role)
        server.unfence()
        server.promote()
        # A new writer has no standby yet: it must not wait for one, whatever the mode.
        server.set_replication(Replication("async", self.plane.standby_name(self.plane.other(role))))
        self.plane.set_writer(role)

    def reseed_as_replica(self, role: str, source: str) -> None:
        server, writer = self.plane.postgres(role), self.plane.postgres(source)
        server.destroy()
        tls = self.plane.pg_tls()
        server.base_backup(
            source_host=model.LOCALHOST,
            source_port=self.plane.config.regions[source].link_postgres,
            password=self.plane.replication_password(),
            standby_name=self.plane.standby_name(role),
            tls=tls,
            settings=self.plane.pg_settings(),
        )
        server.start()
        writer.set_replication(Replication(self.plane.mode(), self.plane.standby_name(role)))

    def caught_up(self, role: str) -> bool:
        server, source = self.plane.postgres(role), self.plane.postgres(self.plane.other(role))
        try:
            return server.in_recovery() and server.reached(source.wal_position())
        except NexusError:
            return False


class LocalCache:
    def __init__(self, plane: DataPlane) -> None:
        self.plane = plane

    def _client(self, role: str) -> Any:
        token = self.plane.cache_token()
        if token is None:
            raise NexusError("the sandbox's cache token is unknown", hint="run `nexus up`")
        return self.plane.redis(role).client(token, timeout=2.0)

    def role(self, role: str) -> str:
        try:
            with self._client(role) as client:
                kind = client.info("replication").get("role")
        except Exception:  # any failure to answer is "down"
            return "down"
        return "primary" if kind == "master" else "replica"

    def promote(self, role: str) -> None:
        with self._client(role) as client:
            client.execute_command("REPLICAOF", "NO", "ONE")

    def follow(self, role: str, source: str) -> None:
        upstream = (model.LOCALHOST, self.plane.config.regions[source].link_redis)
        if self.role(role) == "down":
            # A region rebuilt after a failure: its cache comes back as the other region's replica.
            token = self.plane.cache_token()
            if token is None:
                raise NexusError("the sandbox's cache token is unknown", hint="run `nexus up`")
            server = self.plane.redis(role)
            server.stop()
            server.start(token, replica_of=upstream)
            return
        with self._client(role) as client:
            client.execute_command("REPLICAOF", upstream[0], str(upstream[1]))


class LocalTraffic:
    def __init__(self, plane: DataPlane) -> None:
        self.plane = plane

    def health(self, role: str) -> str:
        state = self.plane.runtime().region_state(self.plane.region(role)).state
        return {"UP": "healthy", "MAINT": "drained"}.get(state, "unhealthy")

    def failed_checks(self, role: str) -> int | None:
        return self.plane.runtime().region_state(self.plane.region(role)).failed_checks

    def serving(self) -> str | None:
        region = self.plane.runtime().serving_region()
        return next((role for role in model.ROLES if self.plane.region(role) == region), None)

    def drain(self, role: str) -> None:
        self.plane.set_drained(role, True)
        self.plane.runtime().disable_region(self.plane.region(role))

    def restore(self, role: str) -> None:
        self.plane.set_drained(role, False)
        runtime, region = self.plane.runtime(), self.plane.region(role)
        runtime.enable_region(region)
        # A fresh verdict now instead of `rise` more checks at each of the two layers (~2 x 3 s of refused
        # writes in a planned switchover): every instance is asked directly; the ready ones go UP in the
        # regional LB and the region at the edge. Their checks go on and take them down again if they fail.
        ready = [
            instance
            for instance in self.plane.slots(role)
            if self.plane.processes.running(instance.name) and api.healthy(instance.url, "/readyz")
        ]
        for instance in ready:
            runtime.mark_up(haproxy.region_proxy(region), instance.name)
        if ready:
            runtime.mark_up(haproxy.edge_proxy(), haproxy.edge_server(region))

    def record_ttls(self) -> dict[str, int] | None:
        return None  # the edge fails over in place: no DNS answer to wait out


class LocalCompute:
    """nexus-api instances per region, on the region's ports (sandbox.toml api_ports, then api_spare_ports).

    An instance is wanted from its start until it is stopped: a killed one stays wanted (as a crashed pod
    stays in its Deployment) and `scale` starts it again; the autoscaler only adds and removes instances."""

    def __init__(self, plane: DataPlane, clients: SecretsClients) -> None:
        self.plane = plane
        self.clients = clients

    def wanted(self, role: str) -> list[api.Instance]:
        return [i for i in self.plane.slots(role) if self.plane.processes.record(i.name) is not None]

    def _running(self, role: str) -> list[api.Instance]:
        return [i for i in self.wanted(role) if self.plane.processes.running(i.name)]

    def desired(self, role: str) -> int:
        return len(self._running(role))

    def capacity(self, role: str) -> Capacity:
        running = self._running(role)
        if not running:
            return Capacity(ready=0, desired=0)
        # In parallel: an instance that does not answer (its region partitioned, its database pool held by
        # commits no standby acknowledges) costs one probe timeout, not one per instance.
        with ThreadPoolExecutor(max_workers=len(running)) as pool:
            ready = sum(pool.map(lambda instance: api.healthy(instance.url, "/readyz"), running))
        return Capacity(ready=ready, desired=len(running))

    def scale(self, role: str, replicas: int) -> None:
        slots = self.plane.slots(role)
        if replicas < 0 or replicas > len(slots):
            raise NexusError(
                f"the sandbox has {len(slots)} nexus-api ports in {self.plane.region(role)}, not {replicas}",
                hint="add ports to regions.<role>.api_spare_ports in sandbox.toml",
            )
        self.stop(slots[replicas:])
        self.start(role, [i for i in slots[:replicas] if self.plane.processes.running(i.name) is None])

    def start(self, role: str, instances: list[api.Instance]) -> None:
        if not instances:
            return
        backends = self.plane.backends(
            role, read_secrets(self.clients(self.plane.region(role)), self.plane.env.name_prefix)
        )
        try:
            with ThreadPoolExecutor(max_workers=4) as pool:
                list(
                    pool.map(
                        lambda i: api.start(self.plane.processes, self.plane.chart, i, backends), instances
                    )
                )
        finally:
            self.plane.api_targets_changed()

    def stop(self, instances: list[api.Instance]) -> None:
        if not instances:
            return

        # In parallel: each instance drains before it exits, and a fence waits for all of them. A healthy
        # instance drains in well under a second; one still busy after STOP_GRACE_SECONDS is waiting on a
        # database that will not serve it again (fenced: its pool waits out its 2 s timeout; a synchronous
        # commit no standby will acknowledge), so it is killed rather than holding the failover (the drill
        # measured fences of 2.2 s and 10.2 s, the process manager's default grace). Kubernetes does not make
        # a runbook wait at all: scaling a Deployment down returns before its pods end.
        # An unplanned failover fences the database first: then a request in flight can only fail, and
        # draining it would hold the fence for the whole grace (1.2 s fences, drill 2026-12-06). A planned
        # one stops the workload before the fence, with its full drain.
        fenced = {role: self.plane.postgres(role).fenced_on_disk() for role in {i.role for i in instances}}

        def stop(instance: api.Instance) -> bool:
            grace = FENCED_STOP_GRACE_SECONDS if fenced[instance.role] else STOP_GRACE_SECONDS
            return self.plane.processes.stop(instance.name, grace=grace)

        def stop_all() -> None:
            with ThreadPoolExecutor(max_workers=4) as pool:
                stopped = [i for i, done in zip(instances, pool.map(stop, instances), strict=True) if done]
            if stopped:
                self.plane.api_targets_changed()

        if all(fenced.values()):
            # Nothing they hold can complete, and nothing waits for them to end (as a Deployment's scale-down
            # returns before its pods end): the stops go on in the background, the failover to its promotion
            # (0.2-0.3 s of every unplanned fence before). Not a daemon: a CLI run ends after them.
            threading.Thread(target=stop_all, name="nexus-stop-fenced").start()
            return
        stop_all()


class LocalProbe:
    def __init__(self, plane: DataPlane) -> None:
        self.plane = plane

    def _base(self, role: str | None) -> str:
        return self.plane.edge_url() if role is None else self.plane.instances(role)[0].url

    def _call(
        self,
        role: str | None,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> ProbeResult:
        client = http_traffic.Client(self._base(role), timeout=5.0)
        began = time.monotonic()
        try:
            status, answer_headers, data = client.request(method, path, body, headers)
        except (OSError, http.client.HTTPException) as exc:
            return ProbeResult(False, None, None, (time.monotonic() - began) * 1000, str(exc))
        finally:
            client.close()
        region = data.get("region") if isinstance(data, dict) else None
        ok = status in (200, 201)
        return ProbeResult(
            ok,
            answer_headers.get("x-nexus-region") or region,
            status,
            (time.monotonic() - began) * 1000,
            "" if ok else str(data)[:200],
        )

    def write(self, record_id: str) -> ProbeResult:
        return self._call(None, "PUT", f"/api/v1/records/{record_id}", {"data": {"probe": "nexus dr"}})

    def read(self, record_id: str, role: str | None = None) -> ProbeResult:
        return self._call(role, "GET", f"/api/v1/records/{record_id}", headers={"Cache-Control": "no-cache"})


def sandbox_world(
    plane: DataPlane,
    clients: SecretsClients,
    backups: Backups | None = None,
    scaling: Scaling | None = None,
) -> World:
    from nexus_platform.world.local.workloads import LocalWorkloads  # noqa: PLC0415

    return World(
        name="sandbox",
        database=LocalDatabase(plane),
        cache=LocalCache(plane),
        traffic=LocalTraffic(plane),
        compute=LocalCompute(plane, clients),
        probe=LocalProbe(plane),
        backups=backups,
        scaling=scaling,
        workloads=LocalWorkloads(plane),
    )
