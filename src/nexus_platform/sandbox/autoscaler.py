"""`python -m nexus_platform.sandbox.autoscaler`: the sandbox's nexus-api autoscaler process (`nexus up`
starts it; world/local/autoscaler.py has the rules). Stops on SIGTERM."""

from __future__ import annotations

import signal
import threading

from nexus_platform import logs
from nexus_platform.ops import lock
from nexus_platform.sandbox import planes
from nexus_platform.world.local.autoscaler import Autoscaler
from nexus_platform.world.local.world import LocalCompute


def main() -> None:
    logs.setup("INFO")
    control, plane = planes.both()
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    env = control.env.name

    def busy() -> str | None:
        holder = lock.busy(plane.paths.state_dir, env)
        return holder.run_id if holder else None

    scaler = Autoscaler(
        plane,
        LocalCompute(plane, lambda region: control.client("secretsmanager", region)),
        window=plane.config.autoscaler_scale_down_s,
        busy=busy,
        events=plane.autoscaler_events,
    )
    scaler.run(plane.config.autoscaler_interval_s, stopping.is_set)


if __name__ == "__main__":
    main()
