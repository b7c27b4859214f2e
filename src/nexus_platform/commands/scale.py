"""`nexus scale show|set`: what each region runs of what the platform scales (node groups, nexus-api and its
autoscaler's bounds, database read replicas, cache replicas per shard), on either world."""

from __future__ import annotations

import json
from dataclasses import asdict

import typer
from rich.table import Table

from nexus_platform import connect as choose
from nexus_platform import model
from nexus_platform.commands import scale_set
from nexus_platform.commands.common import EnvOption, Output, OutputOption, console
from nexus_platform.commands.dr import OutputsOption
from nexus_platform.commands.reach import KubeApiOption, KubeCaOption, WorldOption, reach_of
from nexus_platform.errors import NexusError

app = typer.Typer(
    help="Scaling: node groups, nexus-api replicas, read replicas, cache replicas.", no_args_is_help=True
)


@app.command("show")
def show(
    *,
    env: EnvOption = "sandbox",
    outputs: OutputsOption = None,
    world: WorldOption = None,
    kube_api: KubeApiOption = None,
    kube_ca: KubeCaOption = None,
    output: OutputOption = Output.text,
) -> None:
    """Per region: node groups min/desired/max, nexus-api ready/desired replicas and its autoscaler's
    min/max, the database's read replicas, the cache's replicas per shard."""
    target = choose.target(env, outputs, reach_of(world, kube_api, kube_ca))
    if target.world.scaling is None:
        raise NexusError(f"the {target.world.name} world has no scaling view")
    views = [target.world.scaling.show(role) for role in model.ROLES]
    if output is Output.json:
        console.print_json(
            json.dumps({"env": env, "world": target.world.name, "regions": [asdict(v) for v in views]})
        )
        return
    table = Table(title=f"nexus scale show ({env}, {target.world.name} world)")
    for column in (
        "region",
        "node groups (min/desired/max)",
        "nexus-api (ready/desired)",
        "autoscaler",
        "db read replicas",
        "cache replicas/shard",
    ):
        table.add_column(column, overflow="fold")
    for view in views:
        groups = "\n".join(f"{g.name}: {g.min}/{g.desired}/{g.max}" for g in view.node_groups) or "-"
        bounds = "-" if view.api_min is None else f"{view.api_min}..{view.api_max}"
        table.add_row(
            f"{view.region} ({view.role})",
            groups,
            f"{view.api_ready}/{view.api_desired}",
            bounds,
            "-" if view.db_read_replicas is None else str(view.db_read_replicas),
            "-" if view.cache_replicas_per_shard is None else str(view.cache_replicas_per_shard),
        )
    console.print(table)
    for view in views:
        for note in view.notes:
            console.print(f"{view.region}: {note}", highlight=False)


app.command("set")(scale_set.set_)
