"""Run a real Prometheus or Alertmanager inside a private network namespace and report what it made of its
configuration, as JSON on stdout. Started by the tests as `unshare --net -- python netns_run.py ...`:
inside the namespace only loopback exists, so scrapes of the example targets, DNS lookups and
notifications never leave the machine (and fail at once); the server is always stopped before this script
exits.

    netns_run.py prometheus CONFIG EXPECTED_TARGETS
        -> {"targets": <GET /api/v1/targets?state=any>, "alertmanagers": ..., "rules": ...}
    netns_run.py alertmanager CONFIG SPEC_JSON   (SPEC: {"alerts": [...to post], "expect_receivers": [...]})
        -> {"alerts": <GET /api/v2/alerts>, "notifications": {receiver: [alertname, ...]}}
      (the config's receivers must be webhooks to http://127.0.0.1:{CAPTURE_PORT}/<receiver>;
      {CAPTURE_PORT} is replaced here)

"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

# Run as a script (sys.path[0] is tests/monitoring): the repository root makes the suites' helpers importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.support import free_port


def get_json(url: str, data: Any = None) -> Any:
    body = None if data is None else json.dumps(data).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        text = response.read().decode()
    return json.loads(text) if text else None


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(what)


def _die_with_parent() -> None:
    """In the server's process: get SIGKILL if this script dies (e.g. killed by a test timeout)."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG


class Server:
    def __init__(self, args: list[str]) -> None:
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - the server's output, read back by stop()
        self.proc = subprocess.Popen(
            args,
            stdout=self.log,
            stderr=self.log,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - started before any thread of this script
        )

    def stop(self) -> str:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.seek(0)
        output = self.log.read().decode(errors="replace")[-4000:]
        return output


def prometheus(config: str, expected_targets: int) -> dict[str, Any]:
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        server = Server(
            [
                "prometheus",
                f"--config.file={config}",
                f"--storage.tsdb.path={data}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--enable-feature=expand-external-labels",
            ]
        )
        base = f"http://127.0.0.1:{port}/api/v1"
        try:

            def all_targets() -> bool:
                found = get_json(f"{base}/targets?state=any")["data"]
                return len(found["activeTargets"]) + len(found["droppedTargets"]) >= expected_targets

            wait_for(all_targets, 30, "Prometheus did not discover every target")
            return {
                "targets": get_json(f"{base}/targets?state=any")["data"],
                "alertmanagers": get_json(f"{base}/alertmanagers")["data"],
                "rules": get_json(f"{base}/rules")["data"],
                "config": get_json(f"{base}/status/config")["data"]["yaml"],
            }
        except Exception as error:
            raise RuntimeError(f"{error}\n{server.stop()}") from error
        finally:
            server.stop()


def alertmanager(config: str, alerts_json: str) -> dict[str, Any]:
    received: dict[str, list[str]] = {}
    lock = threading.Lock()

    class Capture(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with lock:
                received.setdefault(self.path.strip("/"), []).extend(
                    alert["labels"]["alertname"] for alert in payload["alerts"]
                )
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    capture = ThreadingHTTPServer(("127.0.0.1", 0), Capture)  # bound now, served once Alertmanager runs
    text = Path(config).read_text().replace("{CAPTURE_PORT}", str(capture.server_address[1]))
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        config_path = Path(data) / "alertmanager.yaml"
        config_path.write_text(text)
        server = Server(
            [
                "prometheus-alertmanager",
                f"--config.file={config_path}",
                f"--storage.path={data}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
            ]
        )
        threading.Thread(target=capture.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{port}/api/v2"
        try:
            wait_for(lambda: get_json(f"{base}/status") is not None, 20, "Alertmanager did not start")
            spec = json.loads(Path(alerts_json).read_text())
            get_json(f"{base}/alerts", spec["alerts"])
            expected_receivers = set(spec["expect_receivers"])
            wait_for(
                lambda: expected_receivers <= set(received), 20, f"notifications for {expected_receivers}"
            )
            time.sleep(1)  # let an unexpected notification arrive, if one is coming
            with lock:
                return {"alerts": get_json(f"{base}/alerts"), "notifications": dict(received)}
        except Exception as error:
            raise RuntimeError(f"{error}\n{server.stop()}") from error
        finally:
            server.stop()
            capture.shutdown()


def main() -> int:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    kind, config, arg = sys.argv[1:4]
    result = prometheus(config, int(arg)) if kind == "prometheus" else alertmanager(config, arg)
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
