"""Every rendered manifest validates strictly: built-in kinds against the Kubernetes schema of each supported
version (kubernetes-validate), custom resources against their CRD schemas (tests/k8s.py, tests/data/crds/)."""

from __future__ import annotations

import copy

import jsonschema
import pytest
from tests.helm.helmchart import Rendered
from tests.k8s import (
    BUILTIN_GROUPS,
    ManifestError,
    split_api_version,
    strict_schema,
    validate_builtin,
    validate_custom_resource,
)

CUSTOM_KINDS = {
    "Gateway",
    "VirtualService",
    "DestinationRule",
    "PeerAuthentication",
    "AuthorizationPolicy",
    "ExternalSecret",
    "SecretStore",
    "ServiceMonitor",
    "PrometheusRule",
}


def test_builtin_manifests_validate_strictly(rendered: Rendered) -> None:
    builtin = [d for d in rendered.docs if split_api_version(d["apiVersion"])[0] in BUILTIN_GROUPS]
    expected = {"Deployment", "Service", "HorizontalPodAutoscaler", "NetworkPolicy", "Pod", "Namespace"}
    assert {d["kind"] for d in builtin} >= expected
    for doc in builtin:
        validate_builtin(doc, rendered.kube_version)


def test_custom_resources_validate_against_their_crds(rendered: Rendered) -> None:
    custom = [d for d in rendered.docs if split_api_version(d["apiVersion"])[0] not in BUILTIN_GROUPS]
    assert {d["kind"] for d in custom} == CUSTOM_KINDS
    for doc in custom:
        validate_custom_resource(doc)


# --- the checks are not vacuous: each catches a broken manifest --------------------------------------------


def test_kubernetes_validate_rejects_an_unknown_field(primary: Rendered) -> None:
    deployment = copy.deepcopy(primary.one("Deployment"))
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}
    with pytest.raises(ManifestError, match="livenessProbes"):
        validate_builtin(deployment, "1.29")


def test_kubernetes_validate_rejects_a_wrong_type(primary: Rendered) -> None:
    hpa = copy.deepcopy(primary.one("HorizontalPodAutoscaler"))
    hpa["spec"]["minReplicas"] = "3"
    with pytest.raises(ManifestError, match="minReplicas"):
        validate_builtin(hpa, "1.27")


def test_a_removed_builtin_api_fails_instead_of_passing() -> None:
    """kubernetes-validate has no schema for policy/v1beta1 in 1.25+: that must fail, not pass silently."""
    pdb = {"apiVersion": "policy/v1beta1", "kind": "PodDisruptionBudget", "metadata": {"name": "x"}}
    with pytest.raises(ManifestError, match=r"no Kubernetes 1\.31 schema"):
        validate_builtin(pdb, "1.31")


def test_crd_validation_rejects_an_unknown_field(primary: Rendered) -> None:
    rule = copy.deepcopy(primary.one("DestinationRule"))
    rule["spec"]["trafficPolicy"]["outlierDetection"]["consecutiveErrors5xx"] = 5
    with pytest.raises(ManifestError, match="consecutiveErrors5xx"):
        validate_custom_resource(rule)


def test_crd_validation_rejects_a_bad_enum(primary: Rendered) -> None:
    peer = copy.deepcopy(primary.one("PeerAuthentication"))
    peer["spec"]["mtls"]["mode"] = "STRICTEST"
    with pytest.raises(ManifestError, match="STRICTEST"):
        validate_custom_resource(peer)


def test_crd_validation_checks_patterns(primary: Rendered) -> None:
    monitor = copy.deepcopy(primary.one("ServiceMonitor"))
    monitor["spec"]["endpoints"][0]["interval"] = "30"  # Prometheus needs a unit
    with pytest.raises(ManifestError, match="interval"):
        validate_custom_resource(monitor)


def test_crd_validation_of_external_secrets_v1(primary: Rendered) -> None:
    secret = copy.deepcopy(primary.one("ExternalSecret"))
    secret["spec"]["secretStoreRef"]["kind"] = "Vault"
    with pytest.raises(ManifestError, match="Vault"):
        validate_custom_resource(secret)


def test_a_custom_resource_without_a_vendored_schema_fails() -> None:
    doc = {"apiVersion": "networking.istio.io/v1alpha3", "kind": "EnvoyFilter", "metadata": {"name": "x"}}
    with pytest.raises(ManifestError, match="no CRD schema"):
        validate_custom_resource(doc)


def test_builtins_are_not_custom_resources(primary: Rendered) -> None:
    with pytest.raises(ManifestError, match="built-in"):
        validate_custom_resource(primary.one("Service"))


def test_strict_schema_semantics_follow_the_api_server() -> None:
    """Closed objects unless x-kubernetes-preserve-unknown-fields; int-or-string; nullable."""
    crd = {
        "type": "object",
        "properties": {
            "closed": {"type": "object", "properties": {"a": {"type": "string"}}},
            "open": {
                "type": "object",
                "properties": {"a": {"type": "string"}},
                "x-kubernetes-preserve-unknown-fields": True,
            },
            "port": {"x-kubernetes-int-or-string": True},
            "maybe": {"type": "string", "nullable": True},
        },
    }
    check = jsonschema.Draft7Validator(strict_schema(crd))
    assert check.is_valid({"closed": {"a": "x"}, "open": {"b": 1}, "port": 8080, "maybe": None})
    assert check.is_valid({"port": "http"})
    assert not check.is_valid({"closed": {"b": "x"}})
    assert not check.is_valid({"port": 1.5})
    assert not check.is_valid({"unknown": 1})
