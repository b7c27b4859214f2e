"""`nexus up|down|status`: the sandbox, both planes."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Any

import typer
from rich.table import Table

from nexus_platform.commands.common import Output, OutputOption, console
from nexus_platform.commands.progress import ApplyProgress, Quiet


def _mode(sync: bool | None) -> str | None:
    return None if sync is None else ("sync" if sync else "async")


def up(
    output: OutputOption = Output.text,
    sync: Annotated[
        bool | None,
        typer.Option(
            "--sync/--async",
            help="replication into the DR region: synchronous (remote_apply) or asynchronous "
            "(default: sandbox.toml's replication.mode, or what the running sandbox has)",
        ),
    ] = None,
) -> None:
    """Bring up the sandbox: the AWS emulator with the platform's Terraform applied, then the data plane.

    The data plane is every region's real processes (PostgreSQL primary and cross-region replica, Redis,
    nexus-api, the link emulator, HAProxy as the edge, Prometheus and Alertmanager). Ends with a write through
    the edge, read back from the DR region. With everything running it changes nothing.
    """
    from nexus_platform.sandbox import inventory, planes  # noqa: PLC0415
    from nexus_platform.world.local import traffic  # noqa: PLC0415

    plane, data = planes.both()
    emulator_was_running = plane.emulator() is not None
    # Before anything starts: a taken port must not leave a half-started sandbox behind.
    before = data.check_ports()
    started: list[str] = []
    text = output is Output.text
    try:
        if text:
            console.print(
                f"Control plane: the AWS emulator on {plane.endpoint_url}, terraform/aws applied to it ..."
            )
        with ApplyProgress(enabled=text) as progress:
            result = plane.up(on_event=progress)
        with (
            console.status("data plane", spinner="dots") if text and console.is_terminal else Quiet() as shown
        ):

            def say(message: str) -> None:
                if text:
                    if console.is_terminal:
                        shown.update(f"data plane: starting {message}")
                    else:
                        console.print(f"data plane: {message}", highlight=False)

            report = data.up(
                result.outputs,
                lambda region: plane.client("secretsmanager", region),
                mode=_mode(sync),
                progress=say,
                started=started,
            )
        # Inside the cleanup: a Ctrl-C while waiting for the edge or the proof write stops what was started.
        data.wait_serving()
        edge = traffic.Client(data.edge_url())
        # Read back through the DR region's own load balancer, which names the region that answered.
        dr_api = traffic.Client(data.lb_url("dr"))
        # Every 20 ms: the DR region's autoscaler reads this balancer's request rate, and the default 2 ms
        # poll is 500 requests/s, enough to scale the region out.
        proof = traffic.write_and_follow(edge, dr_api, data.region("dr"), poll_interval=0.02)
    except BaseException as exc:
        # Stop what this run started of the data plane (what it found running stays as it was). On Ctrl-C the
        # emulator it started goes too; after a failure it stays, so the next `up` need not apply again.
        data.stop([name for name, was_running in before.items() if not was_running])
        if isinstance(exc, KeyboardInterrupt) and not emulator_was_running:
            plane.down()
        raise
    if output is Output.json:
        rows = inventory.collect(result.outputs, plane.env.region("primary").name, plane.client)
        payload = {
            "applied": result.applied,
            "resources": result.resources,
            "apply_seconds": round(result.apply_seconds, 1),
            "endpoint_url": result.endpoint_url,
            "inventory": [asdict(row) for row in rows],
            "dataplane": {
                "started": report.started,
                "seconds": round(report.seconds, 2),
                "mode": report.mode,
            },
            "proof": asdict(proof),
            "edge_url": data.edge_url(),
        }
        console.print_json(json.dumps(payload))
        return
    verb = f"applied in {result.apply_seconds:.0f}s" if result.applied else "unchanged since the last apply"
    console.print(f"Control plane: {result.resources} resources, {verb}. AWS API: {result.endpoint_url}")
    if report.started:
        console.print(
            f"Data plane: started {len(report.started)} processes in {report.seconds:.1f}s "
            f"({report.mode} replication)."
        )
    else:
        console.print(f"Data plane: already running ({report.mode} replication).")
    _print_status(_status_payload())
    console.print(
        f"Write through the edge: {proof.record_id} stored in {proof.written_in} (served by "
        f"{proof.served_by}, acknowledged in {proof.ack_ms:.0f} ms), readable in {proof.read_from} "
        f"{proof.visible_after_ms:.0f} ms later.",
        highlight=False,
    )
    console.print("Try next:", highlight=False)
    for line in (
        f"curl -s -X PUT {data.edge_url()}/api/v1/records/hello -H 'Content-Type: application/json' "
        '-d \'{"data": {"msg": "hi"}}\'',
        f"curl -s -H 'Cache-Control: no-cache' {data.instances('dr')[0].url}/api/v1/records/hello",
        "nexus status        # both planes, per region",
        "nexus down          # stop everything",
    ):
        console.print(f"  {line}", highlight=False, soft_wrap=True)


def down(output: OutputOption = Output.text) -> None:
    """Stop everything the sandbox started, both planes (nothing is left running, no listener, no orphan)."""
    from nexus_platform.sandbox import planes  # noqa: PLC0415

    plane, data = planes.both()
    stopped_data = data.down()
    stopped = plane.down()
    if output is Output.json:
        console.print_json(json.dumps({"stopped": stopped or bool(stopped_data), "processes": stopped_data}))
    else:
        count = len(stopped_data) + (1 if stopped else 0)
        console.print(f"Sandbox stopped ({count} processes)." if count else "Sandbox was not running.")


def _status_payload() -> dict[str, Any]:
    from nexus_platform.sandbox import planes, status  # noqa: PLC0415

    plane, data = planes.both()
    record = plane.emulator()
    return {
        "control_plane": {
            "emulator": {
                "running": record is not None,
                "pid": record.pid if record else None,
                "endpoint_url": plane.endpoint_url,
            },
            "applied": plane.applied_record() is not None,
        },
        **status.collect(data, data.cache_token()),
    }


def _print_status(payload: dict[str, Any]) -> None:
    cp = payload["control_plane"]["emulator"]
    state = f"running (pid {cp['pid']}) on {cp['endpoint_url']}" if cp["running"] else "not running"
    console.print(f"control plane: emulator {state}", highlight=False)
    link_state = payload["link"]
    edge = payload["edge"]
    delay = "" if link_state.get("delay_ms") is None else f", {link_state['delay_ms']:g} ms one way"
    table = Table(
        title=f"data plane ({payload['mode']} replication): edge {edge['url']} serving "
        f"{edge.get('serving_region') or 'nothing'}; link {link_state.get('state') or 'down'}{delay}"
    )
    for column in ("region", "process", "port", "state", "role", "detail"):
        table.add_column(column)
    for role, region in payload["regions"].items():
        db, cache = region["database"], region["cache"]
        for process in region["processes"]:
            detail, kind = "", ""
            if process["name"].endswith(".postgres"):
                kind = db.get("role") or ""
                if kind == "primary" and db.get("replica_lag_bytes") is not None:
                    detail = f"replica behind {db['replica_lag_bytes']} B / {db['replica_lag_seconds']:.3f} s"
                elif kind == "replica":
                    age = db.get("heartbeat_age_seconds")
                    detail = (
                        f"{'streaming' if db.get('streaming') else 'NOT streaming'}, "
                        f"{db.get('replay_gap_bytes')} B to replay"
                        + (f", primary heartbeat {age:.1f} s old" if age is not None else "")
                    )
            elif process["name"].endswith(".redis"):
                kind = cache.get("role") or ""
                if cache.get("link_status"):
                    detail = f"link {cache['link_status']}"
            elif ".api-" in process["name"]:
                kind = "primary" if role == "primary" else "standby"
            table.add_row(
                f"{region['region']} ({role})",
                process["name"],
                ",".join(map(str, process["ports"])),
                "up" if process["up"] else "[red]DOWN[/red]",
                kind,
                detail,
            )
        table.add_row(
            f"{region['region']} ({role})",
            "edge's view",
            "",
            str(region.get("edge") or "unknown"),
            "",
            region["lb_url"],
        )
    for process in [
        payload["edge"]["process"],
        payload["link"]["process"],
        *payload["monitoring"]["processes"],
        payload["autoscaler"]["process"],
    ]:
        table.add_row(
            "global",
            process["name"],
            ",".join(map(str, process["ports"])),
            "up" if process["up"] else "[red]DOWN[/red]",
            "",
            "",
        )
    console.print(table)


def status(output: OutputOption = Output.text) -> None:
    """Show both planes side by side per region: processes, ports, roles, replication lag, link, edge.

    JSON shape (stable): control_plane.emulator, edge.url, edge.serving_region, link.state,
    regions.<primary|dr>.api_urls, .database.role (primary|replica), .cache.role, .processes[].
    """
    payload = _status_payload()
    if output is Output.json:
        console.print_json(json.dumps(payload))
    else:
        _print_status(payload)
