"""The TargetGroupBinding of the ingress gateway (cicd/argocd/addons/charts/alb-target-group-binding):
rendered with the Helm engine from the parameters the istio-ingressgateway ApplicationSet gives each cluster
(its cluster generator reading the cluster Secrets Terraform outputs), and held against what Terraform
creates (terraform/modules/region: the target group, its port, the security groups) and what the gateway
chart serves (addons/values/istio-ingressgateway.yaml)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import hcl2
import helm_python as helm
import pytest
import yaml
from tests.cicd.helpers import (
    ARGOCD,
    CLUSTER_SECRETS,
    CLUSTERS,
    GIT_REPO_URL,
    REPO,
    TARGET_GROUP_ANNOTATION,
    generate,
    load_docs,
    make_default,
    sources,
)
from tests.helm.helmchart import KUBE_VERSIONS, Rendered, load_chart, render_values
from tests.k8s import ManifestError, validate_custom_resource

CHART_PATH = "cicd/argocd/addons/charts/alb-target-group-binding"
CHART_DIR = REPO / CHART_PATH
GATEWAY_VALUES = ARGOCD / "addons" / "values" / "istio-ingressgateway.yaml"
REGION_MODULE = REPO / "terraform" / "modules" / "region"
AWS_ROOT = REPO / "terraform" / "aws"
SG_ID = "sg-0123456789abcdef0"

(APPSET,) = load_docs(ARGOCD / "addons" / "istio-ingressgateway.yaml")
APPS = generate(APPSET)
IDS = [app["metadata"]["name"] for app in APPS]


# --- the Argo CD side --------------------------------------------------------------------------------------


def binding_source(app: dict[str, Any]) -> dict[str, Any]:
    (source,) = [s for s in sources(app) if s.get("path") == CHART_PATH]
    return source


def gateway_source(app: dict[str, Any]) -> dict[str, Any]:
    (source,) = [s for s in sources(app) if s.get("chart") == "gateway"]
    return source


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def argocd_values(source: dict[str, Any]) -> dict[str, Any]:
    """The values Argo CD gives the chart: valuesObject, then each parameter as `--set` (`--set-string` when
    forceString), parsed by Helm's own strvals parser."""
    spec = source.get("helm", {})
    assert set(spec) <= {"releaseName", "parameters", "valuesObject"}, "only these are emulated here"
    values: dict[str, Any] = copy.deepcopy(spec.get("valuesObject", {}))
    for param in spec.get("parameters", []):
        parse = helm.parse_set_string_values if param.get("forceString") else helm.parse_set_string
        values = merge(values, parse(f"{param['name']}={param['value']}"))
    return values


def render_app(app: dict[str, Any], extra: dict[str, Any] | None = None, kube_version: str = "") -> Rendered:
    """`helm template` of the binding chart as Argo CD runs it for this Application (release, namespace)."""
    source = binding_source(app)
    return render_values(
        merge(argocd_values(source), extra or {}),
        kube_version or KUBE_VERSIONS[-1],
        chart_dir=CHART_DIR,
        release=source["helm"].get("releaseName", app["metadata"]["name"]),
        namespace=app["spec"]["destination"]["namespace"],
    )


def binding(app: dict[str, Any], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    rendered = render_app(app, extra)
    assert rendered.kinds() == ["TargetGroupBinding"]
    return rendered.docs[0]


def element_cluster(app: dict[str, Any]) -> str:
    """The ApplicationSet element's cluster (the destination is rendered from it)."""
    role = app["metadata"]["labels"]["nexus-platform/region-role"]
    cluster = app["spec"]["destination"]["name"]
    assert cluster == CLUSTERS[role]["cluster"]
    return str(cluster)


# --- the Terraform side ------------------------------------------------------------------------------------


def tf_blocks(path: Path, kind: str) -> dict[str, Any]:
    """`resource` blocks as {"type.name": body}, `module`/`variable` blocks as {name: body}."""
    with path.open() as handle:
        parsed = hcl2.load(handle)
    out: dict[str, Any] = {}
    for block in parsed.get(kind, []):
        for key, body in block.items():
            if kind == "resource":
                for name, inner in body.items():
                    out[f"{key}.{name}"] = inner
            else:
                out[key] = body
    return out


def tf_local(name: str) -> str:
    with (REGION_MODULE / "main.tf").open() as handle:
        parsed = hcl2.load(handle)
    (value,) = [block[name] for block in parsed["locals"] if name in block]
    return str(value)


def short_name(module_name: str) -> str:
    """local.short_name of the region module, for a module named module_name."""
    assert tf_local("short_name") == '${trimsuffix(substr(var.name, 0, 26), "-")}'
    return module_name[:26].removesuffix("-")


def app_port() -> int:
    """var.app_port as the root configuration sets it (the module's default unless a region overrides it)."""
    default = tf_blocks(REGION_MODULE / "variables.tf", "variable")["app_port"]["default"]
    modules = tf_blocks(AWS_ROOT / "regions.tf", "module")
    assert set(modules) == {"primary", "dr"}
    assert all("app_port" not in body for body in modules.values()), "a region overrides app_port"
    return int(default)


TARGET_GROUP = tf_blocks(REGION_MODULE / "loadbalancer.tf", "resource")["aws_lb_target_group.app"]


def gateway_service_port(name: str) -> dict[str, Any]:
    service = yaml.safe_load(GATEWAY_VALUES.read_text())["service"]
    (port,) = [p for p in service["ports"] if p["name"] == name]
    return dict(port)


# --- tests: wiring -----------------------------------------------------------------------------------------


def test_terraform_target_group_is_named_short_name_app() -> None:
    """The other half of "<cluster>-app": Terraform's expression, read from the module, not assumed."""
    assert TARGET_GROUP["name"] == "${local.short_name}-app"
    assert TARGET_GROUP["target_type"] == "ip"
    assert TARGET_GROUP["port"] == "${var.app_port}"
    assert TARGET_GROUP["protocol"] == "HTTP"
    # The EKS cluster, registered in Argo CD under its own name, is named like the module.
    assert tf_local("cluster_name") == "${var.name}"


def test_both_clusters_get_a_binding_from_this_repository() -> None:
    assert sorted(element_cluster(app) for app in APPS) == sorted(c["cluster"] for c in CLUSTERS.values())
    for app in APPS:
        source = binding_source(app)
        assert source["repoURL"] == GIT_REPO_URL
        assert source["targetRevision"] == make_default("GITOPS_BRANCH")
        assert (REPO / source["path"] / "Chart.yaml").is_file()
        assert "ref" not in source and "chart" not in source


def cluster_arn(cluster: str) -> str:
    (secret,) = [s for s in CLUSTER_SECRETS if s["stringData"]["name"] == cluster]
    return str(secret["metadata"]["annotations"][TARGET_GROUP_ANNOTATION])


@pytest.mark.parametrize("app", APPS, ids=IDS)
def test_binding_names_the_regions_terraform_target_group_by_arn(app: dict[str, Any]) -> None:
    """The ARN the cluster's Secret carries: of a target group in the cluster's own region, named as Terraform
    names that region's ("${local.short_name}-app")."""
    cluster = element_cluster(app)
    spec = binding(app)["spec"]
    assert "targetGroupName" not in spec
    arn = spec["targetGroupARN"]
    assert arn == cluster_arn(cluster)
    _, _, service, region, _, resource = arn.split(":", 5)
    assert (service, region) == ("elasticloadbalancing", app["metadata"]["labels"]["nexus-platform/region"])
    assert resource.split("/")[:2] == ["targetgroup", f"{short_name(cluster)}-app"]


def test_the_two_regions_bind_different_target_groups() -> None:
    arns = {binding(app)["spec"]["targetGroupARN"] for app in APPS}
    assert arns == {cluster_arn(c["cluster"]) for c in CLUSTERS.values()}


def test_a_cluster_registered_without_the_arn_gets_no_binding() -> None:
    """A cluster Secret without the annotation (registered by hand, not from Terraform's output): Go's index
    gives "", and the chart refuses to render rather than bind nothing."""
    bare = []
    for secret in CLUSTER_SECRETS:
        copied = copy.deepcopy(secret)
        copied["metadata"]["annotations"].pop(TARGET_GROUP_ANNOTATION)
        bare.append(copied)
    for app in generate(APPSET, bare):
        with pytest.raises(helm.HelmValuesError):
            render_app(app)


def test_only_the_platforms_clusters_get_the_gateway() -> None:
    """The generator selects clusters by their region role: another cluster registered in the same Argo CD
    gets no gateway Application."""
    other = copy.deepcopy(CLUSTER_SECRETS[0])
    other["stringData"]["name"] = "someone-elses"
    other["metadata"]["labels"].pop("nexus-platform/region-role")
    names = {app["spec"]["destination"]["name"] for app in generate(APPSET, [*CLUSTER_SECRETS, other])}
    assert names == {c["cluster"] for c in CLUSTERS.values()}


@pytest.mark.parametrize("app", APPS, ids=IDS)
def test_binding_registers_the_gateway_pods_on_the_target_group_port(app: dict[str, Any]) -> None:
    """serviceRef is the gateway Service's http2 port; the controller registers <pod IP>:<its targetPort>,
    which must be Terraform's app_port (the target group's port, the only one the ALB may reach)."""
    doc = binding(app)
    spec = doc["spec"]
    gateway = gateway_source(app)
    assert doc["metadata"]["namespace"] == app["spec"]["destination"]["namespace"] == "istio-ingress"
    assert spec["serviceRef"]["name"] == gateway["helm"]["releaseName"] == "istio-ingressgateway"
    http2 = gateway_service_port("http2")
    assert spec["serviceRef"]["port"] == http2["port"] == 80
    assert http2["targetPort"] == app_port() == 8080
    assert spec["targetType"] == TARGET_GROUP["target_type"] == "ip"


def test_gateway_service_stays_inside_the_cluster_and_keeps_the_charts_ports() -> None:
    """The ALB reaches the pods directly: no LoadBalancer Service. The override keeps the gateway chart's port
    names and numbers (Gateway servers select by Service port) and moves only the target ports."""
    service = yaml.safe_load(GATEWAY_VALUES.read_text())["service"]
    assert service["type"] == "ClusterIP"
    ports = {p["name"]: (p["port"], p["targetPort"], p["protocol"]) for p in service["ports"]}
    assert ports == {
        "status-port": (15021, 15021, "TCP"),
        "http2": (80, 8080, "TCP"),
        "https": (443, 8443, "TCP"),
    }


@pytest.mark.parametrize("app", APPS, ids=IDS)
def test_binding_survives_a_cluster_without_the_crd_yet(app: dict[str, Any]) -> None:
    doc = binding(app)
    options = doc["metadata"]["annotations"]["argocd.argoproj.io/sync-options"].split(",")
    assert "SkipDryRunOnMissingResource=true" in options
    retry = app["spec"]["syncPolicy"]["retry"]
    assert retry["limit"] > 0


@pytest.mark.parametrize("app", APPS, ids=IDS)
def test_gateway_rollouts_wait_for_the_alb(app: dict[str, Any]) -> None:
    """Pod readiness gates: the controller injects them only into namespaces labelled for it."""
    labels = app["spec"]["syncPolicy"]["managedNamespaceMetadata"]["labels"]
    assert labels["elbv2.k8s.aws/pod-readiness-gate-inject"] == "enabled"
    assert app["spec"]["destination"]["namespace"] == "istio-ingress"


@pytest.mark.parametrize("app", APPS, ids=IDS)
def test_binding_has_the_standard_labels(app: dict[str, Any]) -> None:
    labels = binding(app)["metadata"]["labels"]
    for key in ("name", "instance", "version", "managed-by", "part-of"):
        assert labels.get(f"app.kubernetes.io/{key}"), key
    assert labels["app.kubernetes.io/name"] == "alb-target-group-binding"
    assert labels["app.kubernetes.io/instance"] == binding_source(app)["helm"]["releaseName"]


# --- tests: networking only with the ALB security group ----------------------------------------------------


@pytest.mark.parametrize("app", APPS, ids=IDS)
def test_no_networking_rules_by_default(app: dict[str, Any]) -> None:
    assert "networking" not in binding(app)["spec"]


@pytest.mark.parametrize("app", APPS, ids=IDS)
def test_networking_lets_the_alb_security_group_in_when_set(app: dict[str, Any]) -> None:
    spec = binding(app, {"albSecurityGroupId": SG_ID})["spec"]
    assert spec["networking"] == {
        "ingress": [
            {
                "from": [{"securityGroup": {"groupID": SG_ID}}],
                "ports": [{"port": app_port(), "protocol": "TCP"}, {"port": 15021, "protocol": "TCP"}],
            }
        ]
    }


def test_terraform_already_lets_the_alb_reach_the_pods() -> None:
    """Why albSecurityGroupId stays unset: the nodes' security group (which the pods share with the VPC CNI)
    admits the ALB's on app_port and on the target health-check port, and the ALB may send there."""
    security = tf_blocks(REGION_MODULE / "security.tf", "resource")
    ports = tf_blocks(REGION_MODULE / "security.tf", "locals")["alb_target_ports"]
    assert {key: value["port"] for key, value in ports.items()} == {
        "traffic": "${var.app_port}",
        "health_check": "${var.target_health_check.port}",
    }
    rule = security["aws_vpc_security_group_ingress_rule.nodes_from_alb"]
    egress = security["aws_vpc_security_group_egress_rule.alb_to_nodes"]
    for body in (rule, egress):
        assert body["for_each"] == "${local.alb_target_ports}"
        assert body["from_port"] == body["to_port"] == "${each.value.port}"
    assert rule["security_group_id"] == "${aws_security_group.nodes.id}"
    assert rule["referenced_security_group_id"] == "${aws_security_group.alb.id}"
    assert egress["referenced_security_group_id"] == "${aws_security_group.nodes.id}"
    nodes = tf_blocks(REGION_MODULE / "compute.tf", "resource")["aws_launch_template.nodes"]
    assert nodes["vpc_security_group_ids"] == ["${aws_security_group.nodes.id}"]


def test_target_health_check_is_the_gateways_readiness_port() -> None:
    """ALB health checks carry the target's IP as Host, which the gateway's port-80 server does not serve; the
    status port answers for any Host. It must be the port the gateway chart exposes as status-port."""
    default = tf_blocks(REGION_MODULE / "variables.tf", "variable")["target_health_check"]["default"]
    assert default == {"port": gateway_service_port("status-port")["targetPort"], "path": "/healthz/ready"}
    assert TARGET_GROUP["health_check"][0]["port"] == "${tostring(var.target_health_check.port)}"


# --- tests: CRD schema, lint, values schema ----------------------------------------------------------------


@pytest.mark.parametrize("extra", [{}, {"albSecurityGroupId": SG_ID}], ids=["plain", "networking"])
@pytest.mark.parametrize("app", APPS, ids=IDS)
def test_binding_matches_the_crd_schema(app: dict[str, Any], extra: dict[str, Any]) -> None:
    validate_custom_resource(binding(app, extra))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda s: s.update(targetType="pod"), "pod"),
        (lambda s: s.update(targetGroupArn="arn"), "targetGroupArn"),
        (lambda s: s["serviceRef"].pop("port"), "port"),
        (lambda s: s["networking"]["ingress"][0].pop("ports"), "ports"),
        (lambda s: s["networking"]["ingress"][0]["ports"][0].update(protocol="SCTP"), "SCTP"),
    ],
    ids=["bad-enum", "unknown-field", "missing-port", "rule-without-ports", "bad-protocol"],
)
def test_crd_schema_is_enforced(mutate: Any, message: str) -> None:
    doc = copy.deepcopy(binding(APPS[0], {"albSecurityGroupId": SG_ID}))
    mutate(doc["spec"])
    with pytest.raises(ManifestError, match=message):
        validate_custom_resource(doc)


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("app", APPS, ids=IDS)
def test_chart_lints(app: dict[str, Any], kube_version: str) -> None:
    report = helm.lint(
        CHART_DIR,
        argocd_values(binding_source(app)),
        strict=True,
        namespace=app["spec"]["destination"]["namespace"],
        kube_version=f"v{kube_version}.0",
    )
    assert report["total_charts_linted"] == 1
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []  # 2 = warning, 3 = error


def test_chart_renders_nothing_without_a_target_group_arn() -> None:
    """targetGroupARN has no default: the chart's own values alone fail, in lint and in render."""
    assert "targetGroupARN" not in load_chart(CHART_DIR).values
    with pytest.raises(helm.HelmValuesError, match="targetGroupARN"):
        render_values({}, chart_dir=CHART_DIR, release="istio-ingressgateway", namespace="istio-ingress")
    report = helm.lint(CHART_DIR, {}, strict=True, namespace="istio-ingress")
    assert any("targetGroupARN" in error for error in report["errors"])


ARN = (
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/nexus-production-primary-app/"
    "0123456789abcdef"
)


def test_values_schema_accepts_terraforms_arn() -> None:
    load_chart(CHART_DIR).validate_schema({"targetGroupARN": ARN})
    load_chart(CHART_DIR).validate_schema({"targetGroupARN": ARN.replace("arn:aws:", "arn:aws-us-gov:")})


@pytest.mark.parametrize(
    "values",
    [
        {"targetGroupARN": ARN, "targetGroupName": "nexus-production-primary-app"},
        {"targetGroupARN": ARN, "serviceRef": {"name": "x", "port": 80, "ns": "y"}},
        {"targetGroupARN": ""},
        {"targetGroupARN": ARN.replace(":targetgroup/", ":loadbalancer/app/")},
        {"targetGroupARN": ARN.replace("elasticloadbalancing", "ec2")},
        {"targetGroupARN": ARN.replace("nexus-production-primary-app", "-app")},
        {
            "targetGroupARN": ARN.replace(
                "nexus-production-primary-app", "a-target-group-name-that-is-far-too-long"
            )
        },
        {"targetGroupARN": ARN, "albSecurityGroupId": "alb-sg"},
        {"targetGroupARN": ARN, "albIngressPorts": []},
        {"targetGroupARN": ARN, "serviceRef": {"name": "x", "port": 0}},
    ],
    ids=[
        "unknown-key",
        "unknown-nested-key",
        "empty-arn",
        "a-load-balancer-arn",
        "another-service",
        "leading-hyphen",
        "name-over-32",
        "bad-sg-id",
        "no-ports",
        "port-0",
    ],
)
def test_values_schema_rejects_bad_values(values: dict[str, Any]) -> None:
    with pytest.raises(helm.HelmValuesError):
        load_chart(CHART_DIR).validate_schema(values)


def test_values_schema_describes_every_value_and_closes_every_object() -> None:
    schema = load_chart(CHART_DIR).schema
    assert isinstance(schema, dict)
    defaults = load_chart(CHART_DIR).values
    assert set(defaults) | {"targetGroupARN"} == set(schema["properties"])
    assert schema["required"] == ["targetGroupARN", "serviceRef"]

    def closed(node: Any, path: str) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object":
                assert node.get("additionalProperties") is False, f"{path} accepts unknown keys"
            for key, sub in node.items():
                closed(sub, f"{path}/{key}")
        elif isinstance(node, list):
            for index, sub in enumerate(node):
                closed(sub, f"{path}/{index}")

    closed(schema, "")
