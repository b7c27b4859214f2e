"""The Fluentd that Argo CD deploys runs logging/fluentd/fluent.conf, in the image that file was checked
against, with everything the file reads from its environment and its disk, as a user Elasticsearch knows.

Facts of the fluentd chart 0.5.2 this relies on: it mounts the ConfigMap named by `mainConfigMapNameOverride`
at /etc/fluent and points FLUENTD_CONF at /etc/fluent/fluent.conf; `fileConfigs` become /etc/fluent/config.d/
(its defaults ship to "elasticsearch-master" as elastic/changeme); `env`, `extraVolumes`, `extraVolumeMounts`
and `podAnnotations` are copied into the pod as given.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import yaml
from tests.cicd.helpers import ARGOCD, REPO, generate, load_docs, sources

FLUENTD = REPO / "logging" / "fluentd"
CONF = FLUENTD / "fluent.conf"
VALUES = yaml.safe_load((ARGOCD / "addons" / "values" / "fluentd.yaml").read_text())
KUSTOMIZATION = yaml.safe_load((FLUENTD / "kustomization.yaml").read_text())
STACK = [d for p in sorted((ARGOCD / "addons" / "elastic-stack").glob("*.yaml")) for d in load_docs(p)]


def stack(kind: str) -> dict[str, Any]:
    (doc,) = [d for d in STACK if d["kind"] == kind]
    return doc


def env(name: str) -> dict[str, Any]:
    (entry,) = [e for e in VALUES["env"] if e["name"] == name]
    return dict(entry)


def fluentd_user() -> dict[str, Any]:
    """The ExternalSecret that makes the Secret Fluentd reads its user from (Grafana has its own)."""
    name = env("FLUENT_ELASTICSEARCH_USER")["valueFrom"]["secretKeyRef"]["name"]
    (doc,) = [d for d in STACK if d["kind"] == "ExternalSecret" and d["spec"]["target"]["name"] == name]
    return doc


def test_the_deployed_configuration_is_the_file_in_logging() -> None:
    (generator,) = KUSTOMIZATION["configMapGenerator"]
    assert generator["files"] == ["fluent.conf"]
    assert generator["options"]["disableNameSuffixHash"] is True
    assert generator["name"] == VALUES["mainConfigMapNameOverride"]
    assert VALUES["fileConfigs"] == {}, "the chart's default outputs (elasticsearch-master, elastic/changeme)"
    for app in generate(load_docs(ARGOCD / "addons" / "fluentd.yaml")[0]):
        paths = [s["path"] for s in sources(app) if "path" in s]
        assert paths == ["logging/fluentd"]
        assert KUSTOMIZATION["namespace"] == app["spec"]["destination"]["namespace"]


def test_a_changed_pipeline_rolls_the_daemonset() -> None:
    digest = hashlib.sha256(CONF.read_bytes()).hexdigest()
    assert VALUES["podAnnotations"]["nexus-platform/fluent-conf-sha256"] == digest, (
        "logging/fluentd/fluent.conf changed: put its sha256 in addons/values/fluentd.yaml podAnnotations"
    )


def test_the_image_is_the_one_the_configuration_was_checked_against() -> None:
    image = yaml.safe_load((FLUENTD / "image.yaml").read_text())["image"]
    assert f"{VALUES['image']['repository']}:{VALUES['image']['tag']}" == image


def test_every_environment_variable_the_configuration_reads_is_set() -> None:
    read = set(re.findall(r"ENV\['([A-Z0-9_]+)'\]", CONF.read_text()))
    assert read, "fluent.conf reads no environment: the check is empty"
    assert read <= {e["name"] for e in VALUES["env"]}


def test_the_cluster_name_is_set_per_cluster() -> None:
    index = [e["name"] for e in VALUES["env"]].index("NEXUS_CLUSTER")
    for app in generate(load_docs(ARGOCD / "addons" / "fluentd.yaml")[0]):
        (chart,) = [s for s in sources(app) if "chart" in s]
        params = {p["name"]: p["value"] for p in chart["helm"]["parameters"]}
        assert params[f"env[{index}].value"] == app["spec"]["destination"]["name"]


def test_the_ca_file_is_eck_public_ca() -> None:
    (ca_file,) = re.findall(r"^\s*ca_file\s+(\S+)", CONF.read_text(), re.M)
    mounts = {m["name"]: m["mountPath"] for m in VALUES["extraVolumeMounts"]}
    volumes = {v["name"]: v for v in VALUES["extraVolumes"]}
    (name,) = [n for n, path in mounts.items() if ca_file.startswith(path.rstrip("/") + "/")]
    es = stack("Elasticsearch")["metadata"]["name"]
    assert volumes[name]["secret"]["secretName"] == f"{es}-es-http-certs-public"
    assert ca_file.endswith("/ca.crt")


def test_fluentd_writes_as_its_own_file_realm_user() -> None:
    secret = fluentd_user()["spec"]["target"]["name"]
    for var, key in (
        ("FLUENT_ELASTICSEARCH_USER", "username"),
        ("FLUENT_ELASTICSEARCH_PASSWORD", "password"),
    ):
        ref = env(var)["valueFrom"]["secretKeyRef"]
        assert (ref["name"], ref["key"]) == (secret, key)
    auth = stack("Elasticsearch")["spec"]["auth"]
    assert {"secretName": secret} in auth["fileRealm"]
    template = fluentd_user()["spec"]["target"]["template"]
    assert template["type"] == "kubernetes.io/basic-auth"
    assert fluentd_user()["spec"]["refreshInterval"] == "0", "a rotated password breaks running pods"
    role_name = template["data"]["roles"]
    roles_secret = stack("Secret")
    assert {"secretName": roles_secret["metadata"]["name"]} in auth["roles"]
    role = yaml.safe_load(roles_secret["stringData"]["roles.yml"])[role_name]
    (indices,) = role["indices"]
    (stream,) = re.findall(r"^\s*data_stream_name\s+(\S+)", CONF.read_text(), re.M)
    assert any(re.fullmatch(n.replace("*", ".*"), stream) for n in indices["names"])
    assert "create_doc" in indices["privileges"]
    assert not {"all", "delete", "delete_index", "manage"} & set(indices["privileges"])
