"""Regenerate the Argo CD CRD schemas in tests/data/crds/argoproj.io/ (tests/data/crds/README-argocd.md).

Not run by the tests (they read the committed JSON). Needs npm, only to fetch the package (nothing is
installed and no JavaScript runs):

    .venv/bin/python tests/data/crds/argoproj.io/extract.py

Source: ``@kubernetes-models/argo-cd@2.5.0``, generated (crd-generate) from Argo CD v2.10.8's
manifests/crds/{application,applicationset,appproject}-crd.yaml. Its CommonJS models hold each CRD's
``openAPIV3Schema`` as a plain JSON object literal (later releases ship compiled validators instead). The
script fetches the tarball with ``npm pack``, checks it against the registry's pinned sha512, reads the three
literals and undoes what crd-generate added or lost:

* the apiVersion/kind/metadata envelope (tests/k8s.py checks those itself), ``nullable: true`` on optional
  fields, ``oneOf: [X, {type: null}]`` wrappers and descriptions are removed;
* ``x-kubernetes-preserve-unknown-fields: true`` is restored: crd-generate drops it and writes
  ``properties: {}`` instead, which a strict validator reads as "no field allowed" (Helm ``valuesObject``,
  generator ``elements``). Every field-less object of these CRDs is such a free-form object (controller-gen
  emits ``type: object`` without properties only for them); map types keep their ``additionalProperties``;
* the two *fields* named ``description`` (AppProject ``spec.description`` and ``spec.roles[].description``,
  strings in appproject-crd.yaml) are put back: crd-generate strips every key called "description", fields
  included.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PACKAGE = "@kubernetes-models/argo-cd"
VERSION = "2.5.0"
# dist.integrity of the package version on the npm registry (npm view @kubernetes-models/argo-cd@2.5.0 dist).
INTEGRITY = "sha512-VwNH19QfRZZlElSu9J3w9ZG+SfrLl+6FVR43hpEpVAaxn0kYXrjbEOOsCnfWNh35xvGu5wb62f8uVzhU+fSmoQ=="
UPSTREAM = "argo-cd/v2.10.8/manifests/crds/"
KINDS = ("AppProject", "Application", "ApplicationSet")
ENVELOPE = ("apiVersion", "kind", "metadata")
_LITERAL = re.compile(r"const schema = (\{.*?\n\});\n", re.DOTALL)


def undo_crd_generate(node: Any) -> Any:
    """Undo crd-generate in a schema node (a dict whose keys are JSON Schema keywords)."""
    if isinstance(node, list):
        return [undo_crd_generate(item) for item in node]
    if not isinstance(node, dict):
        return node
    one_of = node.get("oneOf")
    if isinstance(one_of, list) and len(one_of) == 2 and one_of[1] == {"type": "null"} and len(node) == 1:
        return undo_crd_generate(one_of[0])
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("nullable", "description"):
            continue
        if key == "properties" and isinstance(value, dict):
            # Field names, not keywords: a field may well be called "description" (AppProject.spec has one).
            out[key] = {name: undo_crd_generate(sub) for name, sub in value.items()}
        else:
            out[key] = undo_crd_generate(value)
    if out.get("type") == "object" and out.get("properties") == {}:
        del out["properties"]
        if "additionalProperties" not in out:
            out["x-kubernetes-preserve-unknown-fields"] = True
    return out


def restore_description_fields(kind: str, schema: dict[str, Any]) -> dict[str, Any]:
    if kind == "AppProject":
        spec = schema["properties"]["spec"]["properties"]
        spec["description"] = {"type": "string"}
        spec["roles"]["items"]["properties"]["description"] = {"type": "string"}
    return schema


def strip_envelope(schema: dict[str, Any]) -> dict[str, Any]:
    schema = dict(schema)
    schema["properties"] = {k: v for k, v in schema["properties"].items() if k not in ENVELOPE}
    required = [r for r in schema.get("required", []) if r not in ENVELOPE]
    if required:
        schema["required"] = required
    else:
        schema.pop("required", None)
    return schema


def fetch(work: Path) -> dict[str, str]:
    """The package's three model files, from the npm tarball verified against INTEGRITY."""
    cmd = ["npm", "pack", "--silent", f"{PACKAGE}@{VERSION}"]
    out = subprocess.run(cmd, cwd=work, check=True, capture_output=True, text=True).stdout.split()
    tarball = work / out[-1]
    digest = base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
    if f"sha512-{digest}" != INTEGRITY:
        raise SystemExit(f"{tarball.name}: sha512 does not match the pinned integrity of {PACKAGE}@{VERSION}")
    files: dict[str, str] = {}
    with tarfile.open(tarball) as tar:
        meta = json.loads(tar.extractfile("package/package.json").read())  # type: ignore[union-attr]
        if meta["version"] != VERSION or UPSTREAM not in json.dumps(meta):
            raise SystemExit(f"{tarball.name}: not {PACKAGE}@{VERSION} generated from {UPSTREAM}")
        for kind in KINDS:
            member = tar.extractfile(f"package/argoproj.io/v1alpha1/{kind}.js")
            if member is None:
                raise SystemExit(f"{tarball.name}: no model for {kind}")
            files[kind] = member.read().decode()
    return files


def main() -> int:
    if not shutil.which("npm"):
        print("needs npm", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="argocd-crds-") as tmp:
        for kind, source in fetch(Path(tmp)).items():
            match = _LITERAL.search(source)
            if match is None:
                raise SystemExit(f"{kind}: no schema literal in the model")
            schema = strip_envelope(undo_crd_generate(json.loads(match.group(1))))
            schema = restore_description_fields(kind, schema)
            out = HERE / "v1alpha1" / f"{kind}.json"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
            print(f"wrote {out.relative_to(HERE.parent)} ({out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
