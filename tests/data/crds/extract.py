"""Regenerate the vendored CRD schemas under tests/data/crds/ from pinned npm @kubernetes-models packages.

Not run by the tests (they read the committed JSON). Needs node + npm; installs into a temporary directory:

    .venv/bin/python tests/data/crds/extract.py

Two kinds of source, because the newer @kubernetes-models releases ship compiled (ajv standalone) validators
instead of schemas (see README.md):

* "raw": packages whose CommonJS models register the CRD's openAPIV3Schema as a plain object
  (crd-generate <= 4). The script loads each model with the registry stubbed out and undoes crd-generate's
  additions: the apiVersion/kind/metadata envelope, ``nullable: true`` on every optional field and the
  ``oneOf: [X, {type: null}]`` wrapping (the CRDs themselves use neither); descriptions are dropped.
* "types": packages generated from the project's Go types. The TypeScript interface of the resource is turned
  into JSON Schema with ts-json-schema-generator (objects closed, optional fields optional, enums kept).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

RAW_PACKAGES = {
    # Istio 1.18.0 CRDs (the platform's minimum Istio): crd-all.gen.yaml of istio/istio 1.18.0
    "@kubernetes-models/istio": "2.3.0",
    # prometheus-operator v0.57.0 CRDs (monitoring.coreos.com/v1 has only gained fields since)
    "@kubernetes-models/prometheus-operator": "4.0.0",
}
TYPES_PACKAGES = {
    # External Secrets Operator, external-secrets.io/v1 (the only version ESO >= 0.17 serves)
    "@kubernetes-models/external-secrets": "2.0.0",
}
TOOLS = {"ts-json-schema-generator": "2.4.0", "typescript": "5.8.3"}

RAW_MODELS = [
    ("@kubernetes-models/istio", "networking.istio.io", "v1beta1", "Gateway"),
    ("@kubernetes-models/istio", "networking.istio.io", "v1beta1", "VirtualService"),
    ("@kubernetes-models/istio", "networking.istio.io", "v1beta1", "DestinationRule"),
    ("@kubernetes-models/istio", "networking.istio.io", "v1beta1", "ServiceEntry"),
    ("@kubernetes-models/istio", "networking.istio.io", "v1beta1", "Sidecar"),
    ("@kubernetes-models/istio", "security.istio.io", "v1beta1", "PeerAuthentication"),
    ("@kubernetes-models/istio", "security.istio.io", "v1beta1", "AuthorizationPolicy"),
    ("@kubernetes-models/istio", "security.istio.io", "v1beta1", "RequestAuthentication"),
    ("@kubernetes-models/prometheus-operator", "monitoring.coreos.com", "v1", "ServiceMonitor"),
    ("@kubernetes-models/prometheus-operator", "monitoring.coreos.com", "v1", "PodMonitor"),
    ("@kubernetes-models/prometheus-operator", "monitoring.coreos.com", "v1", "PrometheusRule"),
]
TYPES_MODELS = [
    ("@kubernetes-models/external-secrets", "external-secrets.io", "v1", "ExternalSecret"),
    ("@kubernetes-models/external-secrets", "external-secrets.io", "v1", "SecretStore"),
    ("@kubernetes-models/external-secrets", "external-secrets.io", "v1", "ClusterSecretStore"),
]

# Loads CommonJS models with @kubernetes-models/validate's register() stubbed; prints what was registered.
DUMP_JS = r"""
const Module = require("module");
const captured = {};
const realLoad = Module._load;
Module._load = function (request) {
  const mod = realLoad.apply(this, arguments);
  if (request === "@kubernetes-models/validate") {
    return { ...mod, register: (id, schema) => { captured[id] = schema; } };
  }
  return mod;
};
for (const file of process.argv.slice(2)) {
  const exported = require(require.resolve(file, { paths: [process.cwd()] }));
  for (const cls of Object.values(exported)) {
    if (!cls || !cls.apiVersion || !cls.kind) continue;
    try { new cls({ metadata: { name: "x" } }).validate(); } catch (e) { /* the stub kept the schema */ }
  }
}
process.stdout.write(JSON.stringify(captured));
"""

ENVELOPE = ("apiVersion", "kind", "metadata")


def run(cmd: list[str], cwd: Path) -> str:
    return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True).stdout


def undo_crd_generate(node: Any) -> Any:
    if isinstance(node, list):
        return [undo_crd_generate(item) for item in node]
    if not isinstance(node, dict):
        return node
    one_of = node.get("oneOf")
    if isinstance(one_of, list) and len(one_of) == 2 and one_of[1] == {"type": "null"} and len(node) == 1:
        return undo_crd_generate(one_of[0])
    return {
        key: undo_crd_generate(value) for key, value in node.items() if key not in ("nullable", "description")
    }


def strip_envelope(schema: dict[str, Any]) -> dict[str, Any]:
    schema = dict(schema)
    schema["properties"] = {k: v for k, v in schema.get("properties", {}).items() if k not in ENVELOPE}
    required = [r for r in schema.get("required", []) if r not in ENVELOPE]
    if required:
        schema["required"] = required
    else:
        schema.pop("required", None)
    schema.pop("$schema", None)
    if not schema.get("definitions"):
        schema.pop("definitions", None)
    return schema


def write(group: str, version: str, kind: str, schema: dict[str, Any]) -> None:
    if "$ref" in json.dumps(schema) and "definitions" not in schema:
        raise SystemExit(f"{group}/{version} {kind}: unresolved $ref left in the schema")
    out = HERE / group / version / f"{kind}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
    print(f"wrote {out.relative_to(HERE)} ({out.stat().st_size} bytes)")


def main() -> int:
    if not shutil.which("npm") or not shutil.which("node"):
        print("needs node and npm", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="crd-extract-") as tmp:
        work = Path(tmp)
        run(["npm", "init", "-y"], work)
        pins = {**RAW_PACKAGES, **TYPES_PACKAGES, **TOOLS}
        run(
            ["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts", "--save-exact"]
            + [f"{name}@{version}" for name, version in pins.items()],
            work,
        )
        for name, version in pins.items():  # npm may quietly resolve another version: refuse that
            got = json.loads((work / "node_modules" / name / "package.json").read_text())["version"]
            if got != version:
                raise SystemExit(f"{name}: wanted {version}, npm installed {got}")

        (work / "dump.cjs").write_text(DUMP_JS)
        modules = [f"{pkg}/{group}/{version}/{kind}" for pkg, group, version, kind in RAW_MODELS]
        captured = json.loads(run(["node", "dump.cjs", *modules], work))
        for _pkg, group, version, kind in RAW_MODELS:
            schema = captured[f"{group}.{version}.{kind}"]
            write(group, version, kind, strip_envelope(undo_crd_generate(schema)))

        options = {"module": "nodenext", "moduleResolution": "nodenext", "strict": True}
        (work / "tsconfig.json").write_text(json.dumps({"compilerOptions": options}))
        for pkg, group, version, kind in TYPES_MODELS:
            entry = work / f"entry-{kind}.ts"
            entry.write_text(f'export type {{ I{kind} }} from "{pkg}/{group}/{version}/{kind}";\n')
            text = run(
                [
                    "npx", "ts-json-schema-generator", "--path", entry.name, "--type", f"I{kind}",
                    "--tsconfig", "tsconfig.json", "--no-type-check", "--expose", "none", "--jsDoc", "none",
                    "--no-top-ref",
                ],
                work,
            )  # fmt: skip
            write(group, version, kind, strip_envelope(json.loads(text)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
