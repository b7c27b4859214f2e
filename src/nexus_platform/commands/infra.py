"""`nexus infra env|drift`: the platform's Terraform."""

from __future__ import annotations

import json
from dataclasses import asdict

import typer

from nexus_platform import model
from nexus_platform.commands.common import EnvOption, Output, OutputOption, console
from nexus_platform.errors import NexusError
from nexus_platform.terraform import cliconfig

app = typer.Typer(help="Terraform of the platform: plan, drift, CLI configuration.", no_args_is_help=True)


@app.command("env")
def infra_env() -> None:
    """Print shell exports that make plain `terraform` commands work here (offline mirror if present).

    Use: eval "$(nexus infra env)", then cd terraform/aws and run terraform as usual.
    """
    config = cliconfig.write(model.paths().tf_cli_config)
    for key, value in cliconfig.environment(config).items():
        if key in ("TF_CLI_CONFIG_FILE", "CHECKPOINT_DISABLE"):
            console.print(f"export {key}={value}", highlight=False, soft_wrap=True)


@app.command("drift")
def infra_drift(env: EnvOption = "sandbox", output: OutputOption = Output.text) -> None:
    """Re-plan an applied environment and list resources whose real state differs from the code.

    Exits 1 when anything would change (like `terraform plan -detailed-exitcode`'s 2), so automation sees
    drift; 0 when the platform is as the code says.
    """

    from nexus_platform import connect  # noqa: PLC0415

    model.paths().tfvars(env)  # validates the name
    if not connect.emulated(env):
        raise NexusError(
            f"drift for {env!r} needs that environment's backend and credentials",
            hint="run terraform plan there; the CLI reports drift for the sandbox",
        )
    from nexus_platform.sandbox import planes  # noqa: PLC0415

    plane = planes.control()
    result = plane.root().plan(plane.paths.tfvars("sandbox"))
    pending = [asdict(change) for change in result.pending]
    if output is Output.json:
        console.print_json(json.dumps({"drifting": len(pending), "changes": pending}))
    else:
        for change in pending:
            console.print(f"{change['action']:>8}  {change['address']}", highlight=False)
        console.print(f"{len(pending)} resource(s) would change.")
    if pending:
        raise typer.Exit(1)
