from __future__ import annotations

import json
import socket
import sys
import time
from pathlib import Path

import pytest
from tests.support import free_port

from nexus_platform.errors import NexusError
from nexus_platform.world.local.processes import ProcessManager, port_accepts, port_is_free

SLEEPER = [sys.executable, "-c", "import subprocess,time; subprocess.Popen(['sleep','300']); time.sleep(300)"]


def test_start_and_stop_take_the_whole_process_group(tmp_path: Path) -> None:
    manager = ProcessManager(tmp_path / "run", tmp_path / "logs")
    record = manager.start("sleeper", SLEEPER, ready=lambda: True)
    assert manager.running("sleeper") == record
    children: list[str] = []
    deadline = time.monotonic() + 10  # a loaded machine can take a while to start the child
    while not children and time.monotonic() < deadline:
        time.sleep(0.05)
        children = Path(f"/proc/{record.pid}/task/{record.pid}/children").read_text().split()
    assert children, "the sleeper should have started a child"
    assert manager.stop("sleeper") is True
    assert manager.running("sleeper") is None
    for child in children:
        assert (
            not Path(f"/proc/{child}").exists() or "Z" in Path(f"/proc/{child}/stat").read_text().split()[2]
        )
    assert manager.stop("sleeper") is False  # idempotent


def test_a_process_that_dies_while_starting_is_reported(tmp_path: Path) -> None:
    manager = ProcessManager(tmp_path / "run", tmp_path / "logs")
    with pytest.raises(NexusError, match="exited with code 3"):
        manager.start("bad", [sys.executable, "-c", "raise SystemExit(3)"], ready=lambda: False)
    assert manager.record("bad") is None


def test_corrupt_pid_file_is_ignored_not_fatal(tmp_path: Path) -> None:
    manager = ProcessManager(tmp_path / "run", tmp_path / "logs")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "x.json").write_text("{not json")
    assert manager.running("x") is None
    assert not (tmp_path / "run" / "x.json").exists()


def test_stale_pid_file_of_another_command_is_not_trusted(tmp_path: Path) -> None:
    manager = ProcessManager(tmp_path / "run", tmp_path / "logs")
    (tmp_path / "run").mkdir()
    # pid 1 exists but runs something else: a reused pid must not count as our process.
    record = {"name": "x", "pid": 1, "argv": ["not", "init"], "started_at": 0.0, "log_path": "x"}
    (tmp_path / "run" / "x.json").write_text(json.dumps(record))
    assert manager.running("x") is None


def test_port_probes_tell_a_listening_port_from_a_free_one() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = int(listener.getsockname()[1])
        assert port_accepts("127.0.0.1", port)
        assert not port_is_free("127.0.0.1", port)
    # The same port once nothing listens on it any more.
    assert not port_accepts("127.0.0.1", port)
    assert port_is_free("127.0.0.1", port)
    other = free_port()
    assert port_is_free("127.0.0.1", other)
    assert not port_accepts("127.0.0.1", other)


def test_a_bound_port_that_does_not_listen_is_taken_but_does_not_accept() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        port = int(holder.getsockname()[1])
        assert not port_is_free("127.0.0.1", port)
        assert not port_accepts("127.0.0.1", port)
