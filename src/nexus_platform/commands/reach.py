"""How a command reaches the platform: the world, private cluster endpoints, the probe's URLs, a rehearsed
outage (connect.Reach), as options every `nexus dr` command shares."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nexus_platform import connect
from nexus_platform.errors import InputError

WorldOption = Annotated[
    str | None,
    typer.Option(
        "--world",
        help="aws: the production adapters (with --env sandbox: against the emulator, a rehearsal); "
        "local: the sandbox's processes. Default: the environment's own",
    ),
]
KubeApiOption = Annotated[
    list[str] | None,
    typer.Option(
        "--kube-api",
        metavar="ROLE=URL",
        help="a region's Kubernetes API (private endpoints: a tunnel or forwarded port), e.g. dr=https://127.0.0.1:8443",
    ),
]
KubeCaOption = Annotated[
    Path | None, typer.Option("--kube-ca", help="PEM to verify the --kube-api endpoints with")
]
ApiUrlOption = Annotated[
    list[str] | None,
    typer.Option(
        "--api-url",
        metavar="ROLE=URL",
        help="the records API to probe: global, primary or dr (default: api.<domain>, the origin names)",
    ),
]
OutageOption = Annotated[
    list[str] | None,
    typer.Option(
        "--outage",
        metavar="ROLE",
        help="rehearse a regional outage (--world aws on the sandbox): that region's AWS APIs do not answer",
    ),
]


def _pairs(values: list[str] | None, option: str) -> dict[str, str]:
    pairs = {}
    for value in values or []:
        role, sep, url = value.partition("=")
        if not sep or not role or not url:
            raise InputError(
                f"{option} {value!r} is not ROLE=URL", hint=f"e.g. {option} dr=https://127.0.0.1:8443"
            )
        pairs[role] = url
    return pairs


def reach_of(
    world: str | None,
    kube_api: list[str] | None = None,
    kube_ca: Path | None = None,
    api_url: list[str] | None = None,
    outage: list[str] | None = None,
) -> connect.Reach:
    return connect.Reach(
        world=world,
        kube_api=_pairs(kube_api, "--kube-api"),
        kube_ca=kube_ca,
        api_urls=_pairs(api_url, "--api-url"),
        outage=frozenset(outage or ()),
    )
