"""The sandbox's HAProxy edge and regional LBs, against a real haproxy and small HTTP apps."""

from __future__ import annotations

import dataclasses
import http.client
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from tests.support import free_port

from nexus_platform.errors import NexusError
from nexus_platform.world.local.haproxy import (
    EdgeSpec,
    HealthCheck,
    RegionPool,
    Runtime,
    Server,
    ServerState,
    check_config,
    command,
    edge_proxy,
    region_proxy,
    render_config,
    with_primary,
)

pytestmark = pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not installed")

PRIMARY, DR = "us-east-1", "us-west-2"
HEALTH = HealthCheck(interval_ms=200, fall=2, rise=2)
MARGIN = 2.0  # seconds on top of what the health-check arithmetic allows; loose on purpose


class App(ThreadingHTTPServer):
    """A stand-in nexus-api instance: says who answered, and /readyz answers `ready_status`."""

    daemon_threads = True

    def __init__(self, name: str) -> None:
        self.name = name
        self.ready_status = 200
        super().__init__(("127.0.0.1", free_port()), _Handler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def handle_error(self, request: object, client_address: object) -> None:
        # HAProxy resets a check's connection once it has the status line; that is not an app error.
        pass


class _Handler(BaseHTTPRequestHandler):
    server: App

    def do_GET(self) -> None:
        status = self.server.ready_status if self.path == "/readyz" else 200
        body = self.server.name.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class Sandbox:
    spec: EdgeSpec
    apps: dict[str, App]
    runtime: Runtime
    log: Path

    def get(self, path: str = "/", port: int | None = None) -> tuple[int, str | None, str]:
        """(status, X-Nexus-Region, body) of one request on a fresh connection (http.client: no proxies)."""
        conn = http.client.HTTPConnection("127.0.0.1", port or self.spec.edge_port, timeout=5)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.getheader("X-Nexus-Region"), response.read().decode()
        finally:
            conn.close()

    def region(self) -> str | None:
        return self.get()[1]


def wait_for(condition: Callable[[], bool], within: float, what: str, poll: float = 0.05) -> float:
    """Seconds until `condition` held; fails the test if it did not within `within` seconds."""
    start = time.monotonic()
    while time.monotonic() - start < within:
        if condition():
            return time.monotonic() - start
        time.sleep(poll)
    pytest.fail(f"not within {within:.1f} s: {what}")


def make_spec(socket_path: Path, apps: dict[str, App]) -> EdgeSpec:
    def pool(region: str, role: str, names: list[str]) -> RegionPool:
        servers = tuple(Server(name, "127.0.0.1", apps[name].port) for name in names)
        return RegionPool(region, role, "127.0.0.1", free_port(), servers)

    return EdgeSpec(
        edge_host="127.0.0.1",
        edge_port=free_port(),
        stats_host="127.0.0.1",
        stats_port=free_port(),
        runtime_socket=socket_path,
        pools=(pool(PRIMARY, "primary", ["a1", "a2"]), pool(DR, "dr", ["b1", "b2"])),
        health=HEALTH,
    )


@pytest.fixture
def short_dir() -> Iterator[Path]:
    # pytest's tmp_path can exceed the 107-byte UNIX socket path limit.
    path = Path(tempfile.mkdtemp(prefix="nxh", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def sandbox(short_dir: Path) -> Iterator[Sandbox]:
    apps: dict[str, App] = {}
    proc: subprocess.Popen[bytes] | None = None
    try:
        for name in ("a1", "a2", "b1", "b2"):
            apps[name] = App(name)
            threading.Thread(target=apps[name].serve_forever, args=(0.05,), daemon=True).start()
        spec = make_spec(short_dir / "haproxy.sock", apps)
        cfg = short_dir / "haproxy.cfg"
        cfg.write_text(render_config(spec))
        check_config(cfg)
        log = short_dir / "haproxy.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(command(spec, cfg), stdout=out, stderr=subprocess.STDOUT)
        runtime = Runtime(spec.runtime_socket)

        def all_checked_up() -> bool:
            if proc.poll() is not None:
                pytest.fail(f"haproxy exited: {log.read_text()}")
            try:
                states = runtime.servers()
            except NexusError:
                return False
            return len(states) == 6 and all(s.available and s.check_status == "L7OK" for s in states)

        wait_for(all_checked_up, 10, "haproxy up with every server checked healthy")
        yield Sandbox(spec, apps, runtime, log)
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for app in apps.values():
            app.shutdown()
            app.server_close()


# --- config ----------------------------------------------------------------------------------------


def test_rendered_config_passes_haproxy_check(tmp_path: Path) -> None:
    apps = {name: App(name) for name in ("a1", "a2", "b1", "b2")}
    try:
        spec = make_spec(Path("/tmp/nxh-check.sock"), apps)
    finally:
        for app in apps.values():
            app.server_close()
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(render_config(spec))
    check_config(cfg)
    text = cfg.read_text()
    assert f"listen {edge_proxy()}" in text
    assert f"listen {region_proxy(PRIMARY)}" in text
    assert "daemon" not in text
    assert "chroot" not in text
    assert command(spec, cfg) == ["haproxy", "-db", "-f", str(cfg)]
    # Switching the primary is a re-render: the roles swap and the result is still valid.
    swapped = with_primary(spec, DR)
    assert [p.role for p in swapped.pools] == ["dr", "primary"]
    cfg.write_text(render_config(swapped))
    check_config(cfg)


def test_a_broken_config_is_one_line_nexus_error(tmp_path: Path) -> None:
    cfg = tmp_path / "broken.cfg"
    cfg.write_text("global\n    no-such-directive 1\n")
    with pytest.raises(NexusError) as caught:
        check_config(cfg)
    assert "no-such-directive" in str(caught.value)
    assert "\n" not in str(caught.value)
    with pytest.raises(NexusError, match="not found"):
        check_config(cfg, haproxy=str(tmp_path / "no-haproxy"))


def test_inconsistent_specs_are_refused() -> None:
    servers = (Server("a1", "127.0.0.1", 9),)
    pools = (RegionPool(PRIMARY, "primary", "127.0.0.1", 10001, servers),)
    spec = EdgeSpec("127.0.0.1", 10000, "127.0.0.1", 10002, Path("/tmp/x.sock"), pools, HEALTH)
    render_config(spec)
    with pytest.raises(NexusError, match="loopback"):
        render_config(EdgeSpec("0.0.0.0", 10000, "127.0.0.1", 10002, Path("/tmp/x.sock"), pools, HEALTH))
    two = (pools[0], RegionPool(DR, "primary", "127.0.0.1", 10003, servers))
    with pytest.raises(NexusError, match="exactly one primary"):
        render_config(EdgeSpec("127.0.0.1", 10000, "127.0.0.1", 10002, Path("/tmp/x.sock"), two, HEALTH))
    with pytest.raises(NexusError, match="unknown region"):
        with_primary(spec, "eu-west-1")


# --- traffic ---------------------------------------------------------------------------------------


def test_edge_serves_the_primary_balanced_over_its_instances(sandbox: Sandbox) -> None:
    answers = [sandbox.get() for _ in range(20)]
    assert {(status, region) for status, region, _ in answers} == {(200, PRIMARY)}
    assert {body for _, _, body in answers} == {"a1", "a2"}
    # The regional LB is reachable on its own, like an ALB, and names its region too.
    dr_lb = sandbox.spec.pools[1].lb_port
    assert {sandbox.get(port=dr_lb)[1:] for _ in range(6)} == {(DR, "b1"), (DR, "b2")}


def test_failover_to_dr_and_back_when_primary_readiness_fails(sandbox: Sandbox) -> None:
    interval = HEALTH.interval_ms / 1000
    for name in ("a1", "a2"):
        sandbox.apps[name].ready_status = 503
    took = wait_for(lambda: sandbox.region() == DR, HEALTH.fall * interval + MARGIN, "failover to DR")
    assert took < HEALTH.fall * interval + MARGIN
    assert {sandbox.get()[1:] in {(DR, "b1"), (DR, "b2")} for _ in range(10)} == {True}
    assert sandbox.runtime.serving_region() == DR
    assert sandbox.runtime.region_state(PRIMARY).state == "DOWN"

    for name in ("a1", "a2"):
        sandbox.apps[name].ready_status = 200
    # This is what Route 53 failover records do: the primary record wins again as soon as its health
    # check passes; failover is not sticky. Recovery is checked twice in series (instances at the
    # regional LB, then the region at the edge), hence 2 x rise.
    wait_for(lambda: sandbox.region() == PRIMARY, 2 * HEALTH.rise * interval + MARGIN, "back to primary")
    assert {sandbox.get()[1] for _ in range(10)} == {PRIMARY}
    assert sandbox.runtime.serving_region() == PRIMARY


def test_the_edge_counts_consecutive_failed_checks_up_to_its_threshold(sandbox: Sandbox) -> None:
    """What `nexus dr watch` reads instead of counting on top of the edge: 1, 2, ... failed checks while the
    primary is still UP, `fall` once it is DOWN, 0 again once a check passes."""
    assert sandbox.runtime.region_state(PRIMARY).failed_checks == 0
    for name in ("a1", "a2"):
        sandbox.apps[name].ready_status = 503
    seen: list[tuple[str, int]] = []

    def down() -> bool:
        state = sandbox.runtime.region_state(PRIMARY)
        if not seen or seen[-1] != (state.state, state.failed_checks):
            seen.append((state.state, state.failed_checks))
        return state.state == "DOWN"

    wait_for(
        down, HEALTH.fall * HEALTH.interval_ms / 1000 + MARGIN, "the primary DOWN at the edge", poll=0.02
    )
    assert seen == [("UP", 0), ("UP", 1), ("DOWN", HEALTH.fall)], seen
    for name in ("a1", "a2"):
        sandbox.apps[name].ready_status = 200
    wait_for(
        lambda: sandbox.runtime.region_state(PRIMARY).state == "UP",
        2 * HEALTH.rise * HEALTH.interval_ms / 1000 + MARGIN,
        "the primary UP again",
    )
    assert sandbox.runtime.region_state(PRIMARY).failed_checks == 0


def test_a_fresh_verdict_puts_a_recovered_region_up_at_once(sandbox: Sandbox) -> None:
    """mark_up: what a switchover does once it has asked the instances itself, instead of waiting for `rise`
    more checks at the regional LB and then at the edge."""
    interval = HEALTH.interval_ms / 1000
    for name in ("a1", "a2"):
        sandbox.apps[name].ready_status = 503
    wait_for(lambda: sandbox.region() == DR, HEALTH.fall * interval + MARGIN, "failover to DR")
    for name in ("a1", "a2"):
        sandbox.apps[name].ready_status = 200
        sandbox.runtime.mark_up(region_proxy(PRIMARY), name)
    sandbox.runtime.mark_up(edge_proxy(), PRIMARY)
    assert sandbox.runtime.serving_region() == PRIMARY
    assert sandbox.region() == PRIMARY
    with pytest.raises(NexusError, match="refused to mark"):
        sandbox.runtime.mark_up(edge_proxy(), "nowhere")


def test_failed_checks_of_states_without_a_count() -> None:
    def state(status: str, health: int) -> ServerState:
        return ServerState("edge", PRIMARY, status.split(maxsplit=1)[0], status, "", False, "", health, 3, 3)

    assert [state(s, h).failed_checks for s, h in [("UP", 5), ("UP 2/3", 4), ("UP 1/3", 3)]] == [0, 1, 2]
    assert state("DOWN", 0).failed_checks == 3
    assert state("DOWN 1/3", 1).failed_checks == 3  # rising again: still down
    assert state("MAINT", 5).failed_checks == 0  # drained: not checked
    assert ServerState("edge", PRIMARY, "UP", "no check", "", False, "").failed_checks == 0


def test_one_unhealthy_instance_leaves_its_regional_lb_not_the_region(sandbox: Sandbox) -> None:
    sandbox.apps["a1"].ready_status = 503

    def a1_down() -> bool:
        states = {(s.backend, s.server): s for s in sandbox.runtime.servers()}
        return states[(region_proxy(PRIMARY), "a1")].state == "DOWN"

    wait_for(a1_down, HEALTH.fall * HEALTH.interval_ms / 1000 + MARGIN, "a1 out of its regional LB")
    answers = [sandbox.get() for _ in range(10)]
    assert {(status, region, body) for status, region, body in answers} == {(200, PRIMARY, "a2")}
    assert sandbox.runtime.region_state(PRIMARY).available
    assert sandbox.runtime.serving_region() == PRIMARY


# --- runtime API -----------------------------------------------------------------------------------


def test_runtime_reports_servers_and_roles(sandbox: Sandbox) -> None:
    states = sandbox.runtime.servers()
    by_name = {(s.backend, s.server): s for s in states}
    assert set(by_name) == {
        (region_proxy(PRIMARY), "a1"),
        (region_proxy(PRIMARY), "a2"),
        (region_proxy(DR), "b1"),
        (region_proxy(DR), "b2"),
        (edge_proxy(), PRIMARY),
        (edge_proxy(), DR),
    }
    primary, dr = sandbox.runtime.region_state(PRIMARY), sandbox.runtime.region_state(DR)
    assert (primary.is_backup, dr.is_backup) == (False, True)
    assert primary.address == f"127.0.0.1:{sandbox.spec.pools[0].lb_port}"
    assert by_name[(region_proxy(PRIMARY), "a1")].address == f"127.0.0.1:{sandbox.apps['a1'].port}"
    assert (primary.state, primary.check_status) == ("UP", "L7OK")
    with pytest.raises(NexusError, match="unknown region"):
        sandbox.runtime.region_state("eu-west-1")


def test_disable_and_enable_region_at_runtime(sandbox: Sandbox) -> None:
    runtime = sandbox.runtime
    runtime.disable_region(PRIMARY)
    # Maintenance takes effect on the very next request: no health check has to fail first.
    assert sandbox.region() == DR
    runtime.disable_region(PRIMARY)  # idempotent
    assert runtime.region_state(PRIMARY).state == "MAINT"
    assert runtime.serving_region() == DR
    assert {sandbox.get()[1] for _ in range(5)} == {DR}

    runtime.enable_region(PRIMARY)
    runtime.enable_region(PRIMARY)  # idempotent
    wait_for(lambda: sandbox.region() == PRIMARY, HEALTH.rise * HEALTH.interval_ms / 1000 + MARGIN, "back")
    assert runtime.serving_region() == PRIMARY
    assert runtime.region_state(PRIMARY).state == "UP"

    runtime.disable_region(PRIMARY)
    runtime.disable_region(DR)
    assert runtime.serving_region() is None
    assert sandbox.get()[0] == 503
    runtime.enable_region(DR)
    runtime.enable_region(PRIMARY)

    with pytest.raises(NexusError, match="unknown region"):
        runtime.disable_region("eu-west-1")
    runtime.make_primary(PRIMARY)  # already primary: nothing to do
    with pytest.raises(NexusError, match="at runtime"):
        runtime.make_primary(DR)


def test_stats_port_serves_prometheus_metrics_and_html(sandbox: Sandbox) -> None:
    status, _, metrics = sandbox.get("/metrics", port=sandbox.spec.stats_port)
    assert status == 200
    # 2.6 exports server state as one gauge per state label, 1 for the current state.
    assert f'haproxy_server_status{{proxy="{edge_proxy()}",server="{PRIMARY}",state="UP"}} 1' in metrics
    assert f'haproxy_backend_active_servers{{proxy="{region_proxy(PRIMARY)}"}} 2' in metrics
    status, _, page = sandbox.get("/stats", port=sandbox.spec.stats_port)
    assert status == 200
    assert "<html" in page.lower()
    assert region_proxy(DR) in page


def test_runtime_without_haproxy_raises_nexus_error(short_dir: Path) -> None:
    with pytest.raises(NexusError, match="does not exist"):
        Runtime(short_dir / "missing.sock").servers()
    # A socket file left behind by a dead haproxy: nothing accepts on it.
    stale = short_dir / "stale.sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(stale))
    with pytest.raises(NexusError, match="nothing listens"):
        Runtime(stale).disable_region(PRIMARY)


@pytest.mark.parametrize("interval_ms", [200, 1000, 10_000])
def test_a_timed_out_check_keeps_the_interval_schedule(tmp_path: Path, interval_ms: int) -> None:
    """A check that times out (connects dropped: a partitioned region) must not push the next one a whole
    interval later, or `fall` such checks take fall x (interval + timeout): the next check after a failure
    starts `fastinter` after the failed one ended, so timeout + fastinter is the interval (Route 53's fixed
    schedule), and checks connect within the check timeout (HAProxy uses min(timeout connect, inter))."""
    apps = {name: App(name) for name in ("a1", "a2", "b1", "b2")}
    try:
        spec = make_spec(Path("/tmp/nxh-sched.sock"), apps)
    finally:
        for app in apps.values():
            app.server_close()
    spec = dataclasses.replace(spec, health=dataclasses.replace(spec.health, interval_ms=interval_ms))
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(render_config(spec))
    check_config(cfg)
    text = cfg.read_text()
    ms = {key: int(value) for key, value in re.findall(r"timeout (connect|check) (\d+)ms", text)}
    (inter, fastinter), *_ = {
        (int(a), int(b)) for a, b in re.findall(r"inter (\d+)ms fastinter (\d+)ms", text)
    }
    assert inter == interval_ms
    assert ms["connect"] <= ms["check"] < interval_ms
    assert ms["check"] + fastinter == interval_ms
