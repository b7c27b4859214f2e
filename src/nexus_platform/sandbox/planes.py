"""The sandbox's two planes, wired in one place: the control plane (the emulator and the Terraform applied to
it) and the data plane (the local processes), from the checkout's paths and sandbox.toml."""

from __future__ import annotations

from nexus_platform import model
from nexus_platform.errors import NexusError
from nexus_platform.sandbox.controlplane import ControlPlane
from nexus_platform.sandbox.dataplane import DataPlane


def both(config: model.SandboxConfig | None = None) -> tuple[ControlPlane, DataPlane]:
    control = ControlPlane()
    return control, DataPlane(control.paths, config or model.sandbox_config(), control.env)


def control() -> ControlPlane:
    """The control plane, refusing in one line when the emulator is not running or nothing is applied (a
    precondition, exit 1: not bad input)."""
    plane = ControlPlane()
    if plane.emulator() is None or plane.applied_record() is None:
        raise NexusError("the sandbox is not running", hint="run `nexus up` first")
    return plane


def running() -> tuple[ControlPlane, DataPlane]:
    """Both planes, refusing in one line when the data plane is not running (nothing to act on)."""
    control, data = both()
    if not any(data.running().values()):
        raise NexusError("the sandbox's data plane is not running", hint="run `nexus up`")
    return control, data
