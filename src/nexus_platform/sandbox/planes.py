"""The sandbox's two planes, wired in one place: the control plane (the emulator and the Terraform applied to
it) and the data plane (the local processes), from the checkout's paths and sandbox.toml."""

from __future__ import annotations

from nexus_platform import model
from nexus_platform.platform import InputError
from nexus_platform.sandbox.controlplane import ControlPlane
from nexus_platform.sandbox.dataplane import DataPlane


def both(config: model.SandboxConfig | None = None) -> tuple[ControlPlane, DataPlane]:
    control = ControlPlane()
    return control, DataPlane(control.paths, config or model.sandbox_config(), control.env)


def running() -> tuple[ControlPlane, DataPlane]:
    """Both planes, refusing in one line when the data plane is not running (nothing to act on)."""
    control, data = both()
    if not any(data.running().values()):
        raise InputError("the sandbox's data plane is not running", hint="run `nexus up`")
    return control, data
