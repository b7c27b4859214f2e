"""HAProxy as the sandbox's regional load balancers (the ALBs) and its global edge (Route 53 + CloudFront).

One HAProxy process plays all of it:

* per region a ``listen region_<region>`` proxy on the region's LB port, round-robin over that region's
  nexus-api instances with active ``GET <path>`` health checks expecting 200 (the ALB target group);
* a ``listen edge`` proxy on the edge port with one server per region, each pointing at that region's
  regional LB: the primary region as a normal server and every DR region as ``backup``, health-checked
  through the regional LB, so traffic goes to the primary while its ``/readyz`` passes and to the first
  healthy DR region otherwise, and back to the primary once it recovers (Route 53 failover records);
* a ``stats`` frontend serving Prometheus ``/metrics`` and the HTML ``/stats`` page;
* the runtime API on a UNIX socket (:class:`Runtime`) to drain or restore a region at the edge.

Proxy and server names are derived in one place (:func:`edge_proxy`, :func:`region_proxy`,
:func:`edge_server`, :func:`stats_proxy`) because tools address servers by them on the runtime API.

Swapping which region is primary cannot be done at runtime: HAProxy 2.6 has no CLI command that changes
an existing server's ``backup`` flag (``set server`` only changes address, state, health, weight, checks,
agent, fqdn and ssl). The orchestrator instead renders the config again from :func:`with_primary` and
restarts (or reloads) HAProxy; :meth:`Runtime.make_primary` says so instead of pretending.
"""

from __future__ import annotations

import csv
import ipaddress
import re
import socket
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

from nexus_platform.errors import NexusError

ROLES = ("primary", "dr")

# HAProxy accepts these characters in proxy and server names; anything else would break the config or
# need quoting on the runtime API, where names are bare words.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")

# sun_path is 108 bytes on Linux including the terminating NUL; HAProxy refuses longer socket paths.
_MAX_SOCKET_PATH = 107

# Sent by the edge's health checks so the regional LBs can keep them out of their access logs: the edge
# probes every region every interval, which would otherwise drown the real requests.
_EDGE_CHECK_HEADER = "X-Nexus-Health-Check"


# --- naming: the one place proxy and server names are derived ---------------------------------------


def edge_proxy() -> str:
    """The proxy (frontend and backend) playing Route 53 + CloudFront."""
    return "edge"


def region_proxy(region: str) -> str:
    """The proxy (frontend and backend) playing a region's ALB."""
    return f"region_{region}"


def edge_server(region: str) -> str:
    """The edge backend's server that stands for a region."""
    return region


def stats_proxy() -> str:
    """The frontend serving ``/metrics`` and ``/stats``."""
    return "stats"


# --- the spec ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    """One nexus-api instance behind a regional load balancer."""

    name: str
    host: str
    port: int


@dataclass(frozen=True)
class RegionPool:
    """One region: its regional LB frontend and the instances it balances."""

    region: str
    role: str  # "primary" or "dr"; a DR region is a backup server at the edge
    lb_host: str
    lb_port: int
    servers: tuple[Server, ...]


@dataclass(frozen=True)
class HealthCheck:
    """The active health check used by the regional LBs and by the edge."""

    path: str = "/readyz"
    interval_ms: int = 1000
    fall: int = 3
    rise: int = 3


@dataclass(frozen=True)
class EdgeSpec:
    """Everything the HAProxy config is rendered from."""

    edge_host: str
    edge_port: int
    stats_host: str
    stats_port: int
    runtime_socket: Path
    pools: tuple[RegionPool, ...]
    health: HealthCheck = HealthCheck()


@dataclass(frozen=True)
class ServerState:
    """One server as the runtime API reports it."""

    backend: str
    server: str
    state: str  # "UP", "DOWN", "MAINT", "DRAIN", "NOLB", ... (first word of HAProxy's status)
    status: str  # HAProxy's status as shown, e.g. "UP 1/3" while going down
    check_status: str  # e.g. "L7OK", "L7STS", "L4CON"; "" when no check has run
    is_backup: bool
    address: str  # "host:port"
    # HAProxy's check counter and thresholds (0 when the server is not checked).
    check_health: int = 0
    check_rise: int = 0
    check_fall: int = 0

    @property
    def available(self) -> bool:
        """Whether HAProxy would send new requests to this server now."""
        return self.state == "UP"

    @property
    def failed_checks(self) -> int:
        """Consecutive failed checks toward the server's fall threshold, from HAProxy's check counter: it runs
        from 0 to rise + fall - 1 (fully up), a failed check takes one off, a passed one on an UP server
        restores it to full, and the server goes DOWN when it falls below rise. So an UP server has failed
        its last (rise + fall - 1 - health) checks, and a DOWN one has failed `fall` (the status shows
        "UP 2/3" after one failure, "UP 1/3" after two)."""
        if self.state == "DOWN":
            return self.check_fall
        if self.state != "UP" or not self.check_fall:
            return 0
        return max(0, self.check_rise + self.check_fall - 1 - self.check_health)


def with_primary(spec: EdgeSpec, region: str) -> EdgeSpec:
    """The spec with ``region`` as the primary and every other region as DR.

    This is how the primary is switched: render the result, check it and restart HAProxy, since
    HAProxy 2.6 cannot change a server's ``backup`` flag at runtime.
    """
    if region not in {pool.region for pool in spec.pools}:
        raise _unknown_region(region, [pool.region for pool in spec.pools])
    pools = tuple(replace(pool, role="primary" if pool.region == region else "dr") for pool in spec.pools)
    return replace(spec, pools=pools)


def _unknown_region(region: str, known: list[str]) -> NexusError:
    return NexusError(f"unknown region {region!r}", hint=f"known regions: {', '.join(known) or 'none'}")


def _validate(spec: EdgeSpec) -> None:
    if not spec.pools:
        raise NexusError("the edge needs at least one region", hint="add a region pool to the spec")
    primaries = [pool.region for pool in spec.pools if pool.role == "primary"]
    if len(primaries) != 1:
        raise NexusError(
            f"the edge needs exactly one primary region, got {len(primaries)}",
            hint="mark one region role='primary' and the others role='dr'",
        )
    regions = [pool.region for pool in spec.pools]
    if len(set(regions)) != len(regions):
        raise NexusError("a region appears twice in the edge spec", hint=f"regions: {', '.join(regions)}")
    binds = [(spec.edge_host, spec.edge_port), (spec.stats_host, spec.stats_port)]
    binds += [(pool.lb_host, pool.lb_port) for pool in spec.pools]
    if len(set(binds)) != len(binds):
        raise NexusError("two HAProxy frontends share an address", hint="give each frontend its own port")
    for host, port in binds:
        _check_bind(host, port)
    for pool in spec.pools:
        _check_name(pool.region, "region")
        if pool.role not in ROLES:
            raise NexusError(f"region {pool.region} has role {pool.role!r}", hint="use 'primary' or 'dr'")
        if not pool.servers:
            raise NexusError(f"region {pool.region} has no nexus-api instances", hint="add at least one")
        names = [server.name for server in pool.servers]
        if len(set(names)) != len(names):
            raise NexusError(f"region {pool.region} has two instances with one name", hint="rename one")
        for server in pool.servers:
            _check_name(server.name, "instance")
            _check_port(server.port, f"instance {server.name}")
            if not server.host or any(char.isspace() for char in server.host):
                raise NexusError(f"instance {server.name} has host {server.host!r}", hint="use an address")
    health = spec.health
    if not health.path.startswith("/") or any(char.isspace() or char == '"' for char in health.path):
        raise NexusError(f"health check path {health.path!r} is not a plain URL path", hint="e.g. /readyz")
    if health.interval_ms <= 0 or health.fall <= 0 or health.rise <= 0:
        raise NexusError("health check interval, fall and rise must be positive", hint=f"got {health}")
    sock = str(spec.runtime_socket)
    if len(sock.encode()) > _MAX_SOCKET_PATH or any(char.isspace() or char == '"' for char in sock):
        raise NexusError(
            f"runtime socket path is unusable: {sock}",
            hint=f"use a path without spaces and at most {_MAX_SOCKET_PATH} bytes long",
        )


def _check_name(name: str, what: str) -> None:
    if not _NAME.match(name):
        raise NexusError(f"{what} name {name!r} is not usable in HAProxy", hint="use letters, digits, -_.:")


def _check_port(port: int, what: str) -> None:
    if not 0 < port < 65536:
        raise NexusError(f"{what} has port {port}", hint="use a port between 1 and 65535")


def _check_bind(host: str, port: int) -> None:
    # The sandbox must never expose the platform beyond this machine.
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise NexusError(f"HAProxy would listen on {host}", hint="bind to a loopback address like 127.0.0.1")
    _check_port(port, f"frontend {host}")


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


# --- rendering --------------------------------------------------------------------------------------


def render_config(spec: EdgeSpec) -> str:
    """The haproxy.cfg text for ``spec``; raises NexusError if the spec is inconsistent."""
    _validate(spec)
    health = spec.health
    lines = [
        "# Rendered by nexus_platform.world.local.haproxy; edit the spec, not this file.",
        "global",
        # The process manager runs `haproxy -db` and captures stdout, so no syslog, daemon or chroot.
        "    log stdout format raw local0 info",
        f'    stats socket "{spec.runtime_socket}" mode 600 level admin',
        "",
        "defaults",
        "    mode http",
        "    log global",
        "    option dontlognull",
        # Everything is on loopback: a connect that takes longer than this is a dead server. Checks connect
        # within min(timeout connect, inter), so this is also how long a check of a black-holed region waits.
        f"    timeout connect {_check_timeout_ms(health)}ms",
        "    timeout client 30s",
        "    timeout server 30s",
        "    timeout http-request 10s",
        "    timeout http-keep-alive 10s",
        "    timeout queue 5s",
        # A check slower than half the interval counts as failed, so a hung or unreachable region fails over
        # like a 503 does. HAProxy starts the next check `inter` after the last one ended, where Route 53's
        # checkers keep a fixed schedule: see _default_server for how the gap is closed.
        f"    timeout check {_check_timeout_ms(health)}ms",
        # Retry once, on another server, only where the request cannot have been processed; the
        # per-proxy disable-l7-retry keeps empty-response retries to requests that are safe to replay.
        "    retries 1",
        "    option redispatch",
        "    retry-on conn-failure empty-response",
        "",
    ]
    for pool in spec.pools:
        lines += _region_section(pool, health)
    lines += _edge_section(spec)
    lines += [
        f"frontend {stats_proxy()}",
        f"    bind {_address(spec.stats_host, spec.stats_port)}",
        "    no log",
        "    http-request use-service prometheus-exporter if { path /metrics }",
        "    stats enable",
        "    stats uri /stats",
        "    stats refresh 5s",
        "",
    ]
    return "\n".join(lines)


def _health_lines(health: HealthCheck, *extra: str) -> list[str]:
    return [
        "    option httpchk",
        " ".join([f"    http-check send meth GET uri {health.path}", *extra]),
        "    http-check expect status 200",
    ]


def _check_timeout_ms(health: HealthCheck) -> int:
    return max(1, min(1000, health.interval_ms // 2))


def _fastinter_ms(health: HealthCheck) -> int:
    """The spacing of checks while a server is between states (a failed check on an UP server).

    Route 53 checks on a fixed schedule whatever the last check did; HAProxy schedules the next check `inter`
    after the last one *ended*, so checks that time out (a partitioned region: connects dropped) came every
    inter + timeout, and 3 of them took ~6.5 s instead of ~3 s (drill, 2026-12-06). With fastinter = inter -
    timeout a timed-out check is followed by the next one a whole interval after it began, as on Route 53. The
    price, documented in README: checks that fail at once (a killed region refuses) then come every
    inter - timeout, so the sandbox confirms such a failure up to one interval sooner than Route 53 would.
    """
    return max(1, health.interval_ms - _check_timeout_ms(health))


def _retry_guard() -> str:
    # empty-response fires after the request reached the server, so only replay methods that are safe
    # to run twice (METH_GET is GET and HEAD); connection failures are still retried for every method.
    return "    http-request disable-l7-retry unless METH_GET"


def _default_server(health: HealthCheck) -> str:
    return (
        f"    default-server check inter {health.interval_ms}ms fastinter {_fastinter_ms(health)}ms"
        f" fall {health.fall} rise {health.rise} on-marked-down shutdown-sessions"
    )


def _region_section(pool: RegionPool, health: HealthCheck) -> list[str]:
    return [
        f"listen {region_proxy(pool.region)}",
        f"    bind {_address(pool.lb_host, pool.lb_port)}",
        "    option httplog",
        "    balance roundrobin",
        *_health_lines(health),
        _retry_guard(),
        f"    http-request set-log-level silent if {{ req.hdr({_EDGE_CHECK_HEADER}) -m str edge }}",
        # after-response also covers HAProxy's own 503 when the region has no healthy instance, so a
        # client can always tell which region answered.
        f"    http-after-response set-header X-Nexus-Region {pool.region}",
        _default_server(health),
        *(f"    server {server.name} {_address(server.host, server.port)}" for server in pool.servers),
        "",
    ]


def _edge_section(spec: EdgeSpec) -> list[str]:
    lines = [
        f"listen {edge_proxy()}",
        f"    bind {_address(spec.edge_host, spec.edge_port)}",
        "    option httplog",
        "    balance roundrobin",
        *_health_lines(spec.health, "hdr", _EDGE_CHECK_HEADER, "edge"),
        _retry_guard(),
        _default_server(spec.health),
    ]
    for pool in spec.pools:
        address = _address(pool.lb_host, pool.lb_port)
        if pool.role == "primary":
            # Route 53 failover is not sticky: once the primary is healthy again, clients go back to it.
            lines.append(
                f"    server {edge_server(pool.region)} {address} on-marked-up shutdown-backup-sessions"
            )
        else:
            lines.append(f"    server {edge_server(pool.region)} {address} backup")
    return [*lines, ""]


# --- running ----------------------------------------------------------------------------------------


def check_config(path: Path, haproxy: str = "haproxy") -> None:
    """Run ``haproxy -c -f path``; raise NexusError carrying HAProxy's first error line if it is rejected."""
    try:
        result = subprocess.run(
            [haproxy, "-c", "-f", str(path)], capture_output=True, text=True, timeout=30, check=False
        )
    except FileNotFoundError as exc:
        raise NexusError(f"{haproxy} not found", hint="install HAProxy (apt-get install haproxy)") from exc
    except subprocess.TimeoutExpired as exc:
        raise NexusError(f"{haproxy} -c took over 30 s on {path}", hint="check the config by hand") from exc
    if result.returncode == 0:
        return
    output = (result.stderr + "\n" + result.stdout).splitlines()
    alerts = [line for line in output if "[ALERT]" in line]
    first = alerts[0] if alerts else next((line for line in output if line.strip()), "")
    # Drop the "[ALERT]    (1234) : config : " prefix: the pid and level say nothing to the user.
    message = re.sub(r"^\[ALERT\]\s*\(\d+\)\s*:\s*(config\s*:\s*)?", "", first.strip())
    raise NexusError(
        f"HAProxy rejected {path}: {message or f'exit code {result.returncode}'}",
        hint=f"run `{haproxy} -c -f {path}` for the full report",
    )


def command(spec: EdgeSpec, config_path: Path, haproxy: str = "haproxy") -> list[str]:
    """The argv that runs HAProxy in the foreground on ``config_path`` (rendered from ``spec``).

    ``-db`` keeps HAProxy in the foreground and out of daemon mode so the sandbox's process manager owns
    it. The spec is validated here too, so an inconsistent spec is refused before anything starts.
    """
    _validate(spec)
    return [haproxy, "-db", "-f", str(config_path)]


# --- the runtime API --------------------------------------------------------------------------------


class Runtime:
    """HAProxy's runtime API over its UNIX socket: read server states, drain or restore regions.

    Each call opens a connection, sends one command and reads until HAProxy closes it (the CLI's
    non-interactive mode), so there is no session state to get out of sync.
    """

    def __init__(self, socket_path: Path, timeout: float = 2.0) -> None:
        self.socket_path = socket_path
        self.timeout = timeout

    def execute(self, line: str) -> str:
        """Send one CLI command and return HAProxy's answer verbatim."""
        if "\n" in line or ";" in line:
            # Both separate commands on the CLI; one call must be one command.
            raise NexusError(f"refusing to send a multi-command line: {line!r}", hint="send one command")
        hint = "is the sandbox's HAProxy running? (nexus status)"
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(self.timeout)
                sock.connect(str(self.socket_path))
                sock.sendall(line.encode() + b"\n")
                chunks = []
                while chunk := sock.recv(65536):
                    chunks.append(chunk)
        except FileNotFoundError as exc:
            raise NexusError(f"HAProxy runtime socket {self.socket_path} does not exist", hint=hint) from exc
        except ConnectionRefusedError as exc:
            raise NexusError(f"nothing listens on HAProxy socket {self.socket_path}", hint=hint) from exc
        except TimeoutError as exc:
            raise NexusError(f"HAProxy did not answer {line!r} within {self.timeout} s", hint=hint) from exc
        except OSError as exc:
            raise NexusError(f"cannot talk to HAProxy on {self.socket_path}: {exc}", hint=hint) from exc
        return b"".join(chunks).decode(errors="replace")

    def servers(self) -> list[ServerState]:
        """Every server of every proxy, in config order (so the first backup is HAProxy's first backup)."""
        # -1 4 -1: every proxy, servers only (not the FRONTEND/BACKEND aggregate rows).
        answer = self.execute("show stat -1 4 -1")
        lines = [line for line in answer.splitlines() if line.strip()]
        if not lines or not lines[0].startswith("# "):
            raise NexusError(f"HAProxy answered show stat with: {_first_line(answer)}", hint="see its log")
        # Fields are looked up by header name: HAProxy appends columns between versions.
        rows = csv.DictReader([lines[0][2:], *lines[1:]])
        states = []
        for row in rows:
            status = (row.get("status") or "").strip()
            # "no check" means HAProxy treats the server as up without checking it.
            state = "UP" if status == "no check" else (status.split() or ["UNKNOWN"])[0]
            states.append(
                ServerState(
                    backend=row.get("pxname") or "",
                    server=row.get("svname") or "",
                    state=state,
                    status=status,
                    check_status=(row.get("check_status") or "").strip(),
                    is_backup=(row.get("bck") or "0").strip() == "1",
                    address=(row.get("addr") or "").strip(),
                    check_health=_integer(row.get("check_health")),
                    check_rise=_integer(row.get("check_rise")),
                    check_fall=_integer(row.get("check_fall")),
                )
            )
        return states

    def requests_total(self, proxy: str) -> int:
        """HTTP requests `proxy`'s frontend has received since HAProxy started (its req_tot counter)."""
        # -1 1 -1: every proxy, frontends only.
        answer = self.execute("show stat -1 1 -1")
        lines = [line for line in answer.splitlines() if line.strip()]
        if not lines or not lines[0].startswith("# "):
            raise NexusError(f"HAProxy answered show stat with: {_first_line(answer)}", hint="see its log")
        for row in csv.DictReader([lines[0][2:], *lines[1:]]):
            if row.get("pxname") == proxy:
                return int((row.get("req_tot") or "0").strip() or 0)
        raise NexusError(f"HAProxy has no frontend {proxy!r}", hint="see `nexus status`")

    def edge_servers(self) -> list[ServerState]:
        """The edge backend's servers, one per region, in config order."""
        return [state for state in self.servers() if state.backend == edge_proxy()]

    def region_state(self, region: str) -> ServerState:
        """The edge backend's server for ``region``."""
        edge = self.edge_servers()
        for state in edge:
            if state.server == edge_server(region):
                return state
        raise _unknown_region(region, [state.server for state in edge])

    def serving_region(self) -> str | None:
        """The region the edge sends new requests to now, as HAProxy picks it.

        The non-backup (primary) region if it is available, else the first available backup, else None.
        """
        edge = self.edge_servers()
        for state in [s for s in edge if not s.is_backup] + [s for s in edge if s.is_backup]:
            if state.available:
                return state.server
        return None

    def disable_region(self, region: str) -> None:
        """Drain ``region`` at the edge (maintenance: no new requests, no checks); idempotent."""
        self._set_state(region, "maint")

    def enable_region(self, region: str) -> None:
        """Put ``region`` back at the edge; its health checks decide whether it serves. Idempotent."""
        self._set_state(region, "ready")

    def mark_up(self, proxy: str, server: str) -> None:
        """A fresh verdict from elsewhere (the instance asked directly): the server UP now, not after `rise`
        more checks; its checks go on, and take it down again after `fall` failures."""
        answer = self.execute(f"set server {proxy}/{server} health up")
        if answer.strip():
            raise NexusError(
                f"HAProxy refused to mark {proxy}/{server} up: {_first_line(answer)}", hint="see its log"
            )

    def make_primary(self, region: str) -> None:
        """Refuse, unless ``region`` already is the primary: HAProxy 2.6 cannot change ``backup`` at runtime.

        The orchestrator switches the primary by rendering :func:`with_primary` and restarting HAProxy.
        """
        if not self.region_state(region).is_backup:
            return
        raise NexusError(
            f"HAProxy cannot make {region} the primary at runtime",
            hint="re-render the config with with_primary(spec, region) and restart HAProxy",
        )

    def set_address(self, region: str, host: str, port: int) -> None:
        """Point the edge's server for ``region`` at ``host:port`` (the drill's partition sends it to a port
        that drops everything, and back)."""
        self.region_state(region)
        answer = self.execute(f"set server {edge_proxy()}/{edge_server(region)} addr {host} port {port}")
        # HAProxy 2.6 answers with what it changed ("IP changed from ... to ..."), or an error.
        if answer.strip() and "changed" not in answer and "no need to change" not in answer:
            raise NexusError(
                f"HAProxy refused to move {region} to {host}:{port}: {_first_line(answer)}",
                hint="see its log",
            )

    def _set_state(self, region: str, state: str) -> None:
        self.region_state(region)  # an unknown region gets the list of known ones, not "No such server."
        answer = self.execute(f"set server {edge_proxy()}/{edge_server(region)} state {state}")
        # Success is an empty answer; anything else is HAProxy's error message.
        if answer.strip():
            raise NexusError(
                f"HAProxy refused to set {region} {state}: {_first_line(answer)}", hint="see its log"
            )


def _integer(field: str | None) -> int:
    text = (field or "").strip()
    return int(text) if text.isdigit() else 0


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "(empty answer)")
