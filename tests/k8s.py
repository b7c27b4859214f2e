"""Validation of Kubernetes manifests for the test suites.

``validate_custom_resource(doc)`` checks a custom resource (Istio, External Secrets, prometheus-operator,
Argo CD, ...) against the ``openAPIV3Schema`` of its CustomResourceDefinition, vendored as JSON under
``tests/data/crds/<group>/<version>/<Kind>.json`` (see tests/data/crds/README.md for where each comes from).

The check is as strict as an API server with ``--validate=strict`` (field validation ``Strict``):

* an object schema that declares ``properties`` and neither ``additionalProperties`` nor
  ``x-kubernetes-preserve-unknown-fields: true`` rejects unknown fields (as the API server does when strict);
* ``x-kubernetes-int-or-string: true`` accepts an integer or a string;
* ``apiVersion``, ``kind`` and ``metadata`` (ObjectMeta, DNS-1123 name) are checked for every resource.

A resource of a non-core group without a vendored schema is a failure, never a silent pass. Built-in groups
(``v1``, ``apps/v1``, ...) are not custom resources: validate those with kubernetes-validate
(``validate_builtin`` below), which raises on a missing schema too.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
from kubernetes_validate.utils import SchemaNotFoundError

CRD_DIR = Path(__file__).resolve().parent / "data" / "crds"

# API groups served by Kubernetes itself (kubernetes-validate has their schemas); "" is the core group ("v1").
BUILTIN_GROUPS = frozenset(
    {
        "",
        "admissionregistration.k8s.io",
        "apiextensions.k8s.io",
        "apiregistration.k8s.io",
        "apps",
        "authentication.k8s.io",
        "authorization.k8s.io",
        "autoscaling",
        "batch",
        "certificates.k8s.io",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "events.k8s.io",
        "extensions",
        "flowcontrol.apiserver.k8s.io",
        "internal.apiserver.k8s.io",
        "networking.k8s.io",
        "node.k8s.io",
        "policy",
        "rbac.authorization.k8s.io",
        "resource.k8s.io",
        "scheduling.k8s.io",
        "storage.k8s.io",
        "storagemigration.k8s.io",
    }
)

_DNS1123_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"

# The part of ObjectMeta a manifest may set (read-only fields like uid or resourceVersion are refused).
_OBJECT_META_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "maxLength": 253, "pattern": _DNS1123_SUBDOMAIN},
        "generateName": {"type": "string"},
        "namespace": {"type": "string", "maxLength": 63, "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
        "labels": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 63}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        "finalizers": {"type": "array", "items": {"type": "string"}},
        "ownerReferences": {"type": "array", "items": {"type": "object"}},
    },
}


class ManifestError(AssertionError):
    """A manifest does not validate (an AssertionError, so pytest reports it as a failed assertion)."""


def split_api_version(api_version: str) -> tuple[str, str]:
    """``apps/v1`` -> ``("apps", "v1")``; ``v1`` -> ``("", "v1")``."""
    group, _, version = api_version.rpartition("/")
    return group, version


def describe(doc: dict[str, Any]) -> str:
    meta = doc.get("metadata") or {}
    ns = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{doc.get('apiVersion')} {doc.get('kind')} {ns}{meta.get('name', '<no name>')}"


def schema_path(group: str, version: str, kind: str) -> Path:
    return CRD_DIR / group / version / f"{kind}.json"


def strict_schema(node: Any) -> Any:
    """Turn a Kubernetes structural schema into a JSON Schema as strict as the API server (see module doc)."""
    if isinstance(node, list):
        return [strict_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: strict_schema(value) for key, value in node.items()}
    if out.pop("x-kubernetes-int-or-string", False):
        out.pop("type", None)
        int_or_string = [{"type": "integer"}, {"type": "string"}]
        if "anyOf" in out:  # the CRD spells the alternatives itself; keep them and require one of ours too
            out = {"allOf": [out, {"anyOf": int_or_string}]}
        else:
            out["anyOf"] = int_or_string
    preserve = out.get("x-kubernetes-preserve-unknown-fields") is True
    if "properties" in out and "additionalProperties" not in out and not preserve:
        out["additionalProperties"] = False
    # Kubernetes' "nullable: true" (OpenAPI v3.0) allows null where JSON Schema would not.
    if out.pop("nullable", False) and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


@functools.cache
def _load_validator(group: str, version: str, kind: str) -> jsonschema.protocols.Validator:
    path = schema_path(group, version, kind)
    if not path.is_file():
        raise ManifestError(
            f"no CRD schema for {group}/{version} {kind}: expected {path.relative_to(CRD_DIR.parents[2])} "
            "(see tests/data/crds/README.md)"
        )
    crd_schema = json.loads(path.read_text())
    schema = copy.deepcopy(strict_schema(crd_schema))
    props = schema.setdefault("properties", {})
    props["apiVersion"] = {"const": f"{group}/{version}"}
    props["kind"] = {"const": kind}
    props["metadata"] = _OBJECT_META_SCHEMA
    schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind", "metadata"})
    schema["type"] = "object"
    schema["additionalProperties"] = False
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    cls.check_schema(schema)
    return cls(schema)


def validate_custom_resource(doc: dict[str, Any]) -> None:
    """Check a custom resource against its vendored CRD schema; raise ManifestError naming the problems."""
    if not isinstance(doc, dict):
        raise ManifestError(f"a manifest must be a mapping, got {type(doc).__name__}")
    api_version, kind = doc.get("apiVersion"), doc.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str) or not api_version or not kind:
        raise ManifestError(f"manifest without apiVersion/kind: {describe(doc)}")
    group, version = split_api_version(api_version)
    if group in BUILTIN_GROUPS:
        raise ManifestError(
            f"{describe(doc)} is a built-in Kubernetes type, not a custom resource: use validate_builtin()"
        )
    validator = _load_validator(group, version, kind)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [
            f"  at {'.'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}" for e in errors[:20]
        ]
        more = f"\n  ... and {len(errors) - 20} more" if len(errors) > 20 else ""
        raise ManifestError(f"{describe(doc)} does not match its CRD schema:\n" + "\n".join(lines) + more)


def validate_builtin(doc: dict[str, Any], kubernetes_version: str) -> None:
    """Validate a built-in resource strictly with kubernetes-validate; a missing schema is a failure.

    kubernetes-validate's CLI passes a resource it has no schema for (CRDs, removed APIs); here that fails.
    """
    group, _ = split_api_version(str(doc.get("apiVersion", "")))
    if group not in BUILTIN_GROUPS:
        raise ManifestError(f"{describe(doc)} is a custom resource: use validate_custom_resource()")
    try:
        kubernetes_validate.validate(doc, kubernetes_version, strict=True)
    except SchemaNotFoundError as exc:
        raise ManifestError(
            f"{describe(doc)}: no Kubernetes {kubernetes_version} schema (removed API?): {exc.message}"
        ) from exc
    except kubernetes_validate.ValidationError as exc:
        path = ".".join(str(p) for p in exc.path) or "<root>"
        raise ManifestError(
            f"{describe(doc)} is invalid for Kubernetes {kubernetes_version} at {path}: {exc.message}"
        ) from exc


def validate_manifest(doc: dict[str, Any], kubernetes_version: str) -> None:
    """Either check, chosen by the resource's API group."""
    group, _ = split_api_version(str(doc.get("apiVersion", "")))
    if group in BUILTIN_GROUPS:
        validate_builtin(doc, kubernetes_version)
    else:
        validate_custom_resource(doc)
