"""The Terraform CLI configuration: a provider mirror when the machine has one, the registry otherwise.

Air-gapped machines carry providers in a filesystem mirror (a folder holding `registry.terraform.io/...`).
We look for one where Terraform's own docs put implied mirrors and in the usual system prefixes, so no
machine layout is hard-coded; NEXUS_TF_PLUGIN_MIRROR names one explicitly.
"""

from __future__ import annotations

import os
from pathlib import Path

from nexus_platform.errors import NexusError

MIRROR_ENV = "NEXUS_TF_PLUGIN_MIRROR"
REGISTRY_HOST = "registry.terraform.io"
# Where a mirror may sit: Terraform's implied local mirror directories, then system prefixes.
_SEARCH_ROOTS = (
    "~/.terraform.d/plugins",
    "~/.local/share/terraform/plugins",
    "/usr/local/share/terraform/plugins",
    "/usr/share/terraform/plugins",
    "/opt",
    "/usr/local/share",
    "/usr/share",
    "/srv",
)
_MAX_DEPTH = 2


def _is_mirror(path: Path) -> bool:
    host = path / REGISTRY_HOST
    return host.is_dir() and any(host.glob("*/*/*/*_*"))


def find_mirror(search_roots: tuple[str, ...] = _SEARCH_ROOTS) -> Path | None:
    """The provider mirror to use, or None when Terraform should use the registry."""
    explicit = os.environ.get(MIRROR_ENV)
    if explicit:
        path = Path(explicit).expanduser()
        if path.name == REGISTRY_HOST:
            path = path.parent
        if not _is_mirror(path):
            raise NexusError(
                f"{MIRROR_ENV}={explicit} is not a provider mirror",
                hint=f"point it at a folder holding {REGISTRY_HOST}/<namespace>/<type>/<version>/<os_arch>",
            )
        return path
    for raw in search_roots:
        root = Path(raw).expanduser()
        if not root.is_dir():
            continue
        frontier = [root]
        for _ in range(_MAX_DEPTH + 1):
            found = next((candidate for candidate in frontier if _is_mirror(candidate)), None)
            if found:
                return found
            frontier = [child for parent in frontier for child in _subdirs(parent)]
    return None


def _subdirs(path: Path) -> list[Path]:
    try:
        return sorted(child for child in path.iterdir() if child.is_dir() and not child.is_symlink())
    except OSError:
        return []


def render(mirror: Path | None) -> str:
    if mirror is None:
        return "# No local provider mirror found: Terraform uses the public registry.\n"
    return (
        "# Written by nexus: providers come from this machine's filesystem mirror.\n"
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f'    path    = "{mirror}"\n'
        f'    include = ["{REGISTRY_HOST}/*/*"]\n'
        "  }\n"
        "  direct {\n"
        f'    exclude = ["{REGISTRY_HOST}/*/*"]\n'
        "  }\n"
        "}\n"
    )


def write(target: Path, mirror: Path | None = None, *, search: bool = True) -> Path:
    """Write the CLI config (only when its content changes) and return its path."""
    chosen = mirror if mirror is not None or not search else find_mirror()
    content = render(chosen)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists() or target.read_text() != content:
        tmp = target.with_suffix(".tmp")
        tmp.write_text(content)
        tmp.replace(target)
    return target


def environment(config: Path) -> dict[str, str]:
    """Variables every Terraform invocation of ours runs with: offline-safe and non-interactive."""
    return {
        "TF_CLI_CONFIG_FILE": str(config),
        "CHECKPOINT_DISABLE": "1",
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
    }
