"""What the chart does with its values: autoscaling, disruption budget, regions and roles, hardening,
network and mesh policy, monitoring. Each test renders what it needs and asserts on the manifests."""

from __future__ import annotations

import re
from typing import Any

import pytest
from tests.helm.helmchart import (
    CHART_DIR,
    KUBE_VERSIONS,
    NAMESPACE,
    ROOT,
    Rendered,
    load_values_file,
    render_file,
    render_values,
)
from tests.support import private_subnets


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def pod_spec(r: Rendered) -> dict[str, Any]:
    spec: dict[str, Any] = r.one("Deployment")["spec"]["template"]["spec"]
    return spec


def api_container(r: Rendered) -> dict[str, Any]:
    containers = pod_spec(r)["containers"]
    assert [c["name"] for c in containers] == ["nexus-api"]
    container: dict[str, Any] = containers[0]
    return container


def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


# --- autoscaling and disruption budget ------------------------------------------------------------


def test_hpa_bounds_follow_values() -> None:
    r = render_values({"autoscaling": {"enabled": True, "minReplicas": 4, "maxReplicas": 9}})
    hpa = r.one("HorizontalPodAutoscaler")
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (4, 9)
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "nexus"}
    assert "replicas" not in r.one("Deployment")["spec"], "the HPA owns the replica count"


@pytest.mark.parametrize("values_file", ["values-primary.yaml", "values-dr.yaml"])
def test_hpa_of_each_region_matches_its_values_file(values_file: str) -> None:
    wanted = load_values_file(values_file)["autoscaling"]
    hpa = render_file(values_file, KUBE_VERSIONS[-1]).one("HorizontalPodAutoscaler")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (wanted["minReplicas"], wanted["maxReplicas"])


def test_hpa_scales_on_cpu_and_request_rate() -> None:
    metrics = render_values({}).one("HorizontalPodAutoscaler")["spec"]["metrics"]
    cpu = [m for m in metrics if m["type"] == "Resource"]
    assert cpu == [
        {
            "type": "Resource",
            "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
        }
    ]
    rate = [m for m in metrics if m["type"] == "Pods"]
    assert rate[0]["pods"]["metric"]["name"] == "nexus_api_http_requests_per_second"
    assert rate[0]["pods"]["target"] == {"type": "AverageValue", "averageValue": "400"}
    only_cpu = render_values({"autoscaling": {"requestRate": {"enabled": False}}})
    assert [m["type"] for m in only_cpu.one("HorizontalPodAutoscaler")["spec"]["metrics"]] == ["Resource"]


def test_without_autoscaling_replicas_come_from_values() -> None:
    r = render_values({"autoscaling": {"enabled": False}, "replicaCount": 5})
    assert r.maybe("HorizontalPodAutoscaler") is None
    assert r.one("Deployment")["spec"]["replicas"] == 5


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"autoscaling": {"enabled": False}, "replicaCount": 1}, False),
        ({"autoscaling": {"enabled": False}, "replicaCount": 2}, True),
        ({"autoscaling": {"enabled": True, "minReplicas": 1}}, False),
        ({"autoscaling": {"enabled": True, "minReplicas": 2}}, True),
        (
            {"autoscaling": {"enabled": False}, "replicaCount": 1, "podDisruptionBudget": {"enabled": True}},
            False,
        ),
        (
            {"autoscaling": {"enabled": True, "minReplicas": 3}, "podDisruptionBudget": {"enabled": False}},
            False,
        ),
        # replicaCount is ignored while the HPA decides
        ({"autoscaling": {"enabled": True, "minReplicas": 1}, "replicaCount": 4}, False),
    ],
)
def test_pdb_only_when_more_than_one_pod(values: dict[str, Any], expected: bool) -> None:
    r = render_values(values)
    pdb = r.maybe("PodDisruptionBudget")
    assert (pdb is not None) == expected
    if pdb:
        assert pdb["spec"]["maxUnavailable"] == 1
        pod_labels = r.one("Deployment")["spec"]["template"]["metadata"]["labels"]
        assert matches(pdb["spec"]["selector"]["matchLabels"], pod_labels)


# --- regions and roles ----------------------------------------------------------------------------


def test_dr_renders_read_only_standby(dr: Rendered) -> None:
    env = env_of(api_container(dr))
    assert env["NEXUS_API_ROLE"] == "standby"
    assert env["NEXUS_API_REGION"] == "eu-west-1"
    assert "warm standby" in dr.notes and "503" in dr.notes
    # its endpoints are the DR region's (the replica and the global datastore's secondary)
    props = {d["secretKey"]: d["remoteRef"].get("property") for d in dr.one("ExternalSecret")["spec"]["data"]}
    assert props["db_host"] == "database_host.dr"
    assert props["cache_host"] == "cache_primary_endpoint.dr"
    assert dr.one("SecretStore")["spec"]["provider"]["aws"]["region"] == "eu-west-1"
    # read-only refusals (503) are not errors in a standby; "primary is read-only" is not an alert there
    rules = {r["alert"]: r for g in dr.one("PrometheusRule")["spec"]["groups"] for r in g["rules"]}
    assert 'status!="503"' in rules["NexusApiHighErrorRatio"]["expr"]
    assert "NexusApiPrimaryReadOnly" not in rules


def test_primary_renders_writable_primary(primary: Rendered) -> None:
    env = env_of(api_container(primary))
    assert (env["NEXUS_API_ROLE"], env["NEXUS_API_REGION"]) == ("primary", "us-east-1")
    props = {
        d["secretKey"]: d["remoteRef"].get("property") for d in primary.one("ExternalSecret")["spec"]["data"]
    }
    assert props["db_host"] == "database_host.primary"
    rules = {r["alert"]: r for g in primary.one("PrometheusRule")["spec"]["groups"] for r in g["rules"]}
    assert "NexusApiPrimaryReadOnly" in rules
    assert 'status!="503"' not in rules["NexusApiHighErrorRatio"]["expr"]


def test_regions_differ_only_where_they_should(primary: Rendered, dr: Rendered) -> None:
    p_hosts = primary.one("Gateway")["spec"]["servers"][0]["hosts"]
    d_hosts = dr.one("Gateway")["spec"]["servers"][0]["hosts"]
    assert "api.nexus-platform.example.com" in p_hosts and "api.nexus-platform.example.com" in d_hosts
    assert "us-east-1.origin.nexus-platform.example.com" in p_hosts
    assert "eu-west-1.origin.nexus-platform.example.com" in d_hosts
    assert api_container(primary)["image"].startswith(
        "111122223333.dkr.ecr.us-east-1.amazonaws.com/nexus-api:"
    )
    assert api_container(dr)["image"].startswith("111122223333.dkr.ecr.eu-west-1.amazonaws.com/nexus-api:")
    p_sa = primary.one("ServiceAccount")["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
    d_sa = dr.one("ServiceAccount")["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
    assert p_sa.endswith("-us-east-1") and d_sa.endswith("-eu-west-1")


# --- the workload ---------------------------------------------------------------------------------


def test_rolling_update_never_drops_below_capacity(rendered_latest: Rendered) -> None:
    strategy = rendered_latest.one("Deployment")["spec"]["strategy"]
    assert strategy["type"] == "RollingUpdate"
    assert strategy["rollingUpdate"]["maxUnavailable"] == 0


def test_probes_use_the_service_endpoints(rendered_latest: Rendered) -> None:
    c = api_container(rendered_latest)
    assert c["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert c["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert c["resources"]["requests"] and c["resources"]["limits"]["memory"]


def test_service_links_off_and_one_worker() -> None:
    """A Service called nexus-api would inject NEXUS_API_PORT=tcp://...: service links must be off."""
    r = render_values({"fullnameOverride": "nexus-api"})
    assert r.one("Service")["metadata"]["name"] == "nexus-api"
    assert pod_spec(r)["enableServiceLinks"] is False
    env = env_of(api_container(r))
    assert env["NEXUS_API_PORT"] == "8080"
    assert env["NEXUS_API_WORKERS"] == "1"


def test_graceful_shutdown_outlasts_the_drain() -> None:
    r = render_values({"shutdown": {"drainSeconds": 40, "preStopSleepSeconds": 7}})
    spec, c = pod_spec(r), api_container(r)
    assert env_of(c)["NEXUS_API_SHUTDOWN_TIMEOUT_SECONDS"] == "40"
    assert c["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", "7"]
    assert spec["terminationGracePeriodSeconds"] > 40 + 7
    default = render_values({})
    assert pod_spec(default)["terminationGracePeriodSeconds"] > 25 + 5


def test_credentials_come_from_the_external_secret(rendered_latest: Rendered) -> None:
    es = rendered_latest.one("ExternalSecret")
    target = es["spec"]["target"]
    env = env_of(api_container(rendered_latest))
    for key in ("NEXUS_API_DATABASE_URL", "NEXUS_API_REDIS_URL"):
        ref = env[key]["secretKeyRef"]
        assert ref == {"name": target["name"], "key": key}
        assert key in target["template"]["data"]
    db_url = target["template"]["data"]["NEXUS_API_DATABASE_URL"]
    assert db_url.startswith("postgresql://{{ .db_username | urlquery }}:{{ .db_password | urlquery }}@")
    assert db_url.endswith("sslmode=require")
    assert target["template"]["data"]["NEXUS_API_REDIS_URL"].startswith("rediss://")
    store = rendered_latest.one("SecretStore")
    assert es["spec"]["secretStoreRef"] == {"kind": "SecretStore", "name": store["metadata"]["name"]}
    jwt = store["spec"]["provider"]["aws"]["auth"]["jwt"]["serviceAccountRef"]["name"]
    assert jwt == rendered_latest.one("ServiceAccount")["metadata"]["name"]
    secrets_in_values = [str(v) for v in env.values() if isinstance(v, str)]
    assert not any("password" in v.lower() for v in secrets_in_values)


def test_existing_cluster_secret_store_can_be_used() -> None:
    r = render_values(
        {"externalSecret": {"secretStore": {"create": False, "kind": "ClusterSecretStore", "name": "aws"}}}
    )
    assert r.maybe("SecretStore") is None
    assert r.one("ExternalSecret")["spec"]["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": "aws"}


def test_service_account_has_irsa_role_and_no_token(rendered_latest: Rendered) -> None:
    sa = rendered_latest.one("ServiceAccount")
    arn = sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
    assert re.fullmatch(r"arn:aws:iam::\d{12}:role/[\w+=,.@/-]+", arn)
    wanted = (load_values_file(rendered_latest.values_file) or {}).get("serviceAccount", {}).get("roleArn")
    assert arn == (wanted or "arn:aws:iam::111122223333:role/nexus-production-nexus-api-us-east-1")
    assert sa["automountServiceAccountToken"] is False
    assert pod_spec(rendered_latest)["automountServiceAccountToken"] is False
    assert pod_spec(rendered_latest)["serviceAccountName"] == sa["metadata"]["name"]


def test_topology_spread_across_zones(rendered_latest: Rendered) -> None:
    spread = pod_spec(rendered_latest)["topologySpreadConstraints"]
    zone = [s for s in spread if s["topologyKey"] == "topology.kubernetes.io/zone"]
    assert len(zone) == 1 and zone[0]["maxSkew"] == 1 and zone[0]["whenUnsatisfiable"] == "DoNotSchedule"
    pod_labels = rendered_latest.one("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert matches(zone[0]["labelSelector"]["matchLabels"], pod_labels)


# --- pod security ---------------------------------------------------------------------------------

PSA_RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim"}
PSA_RESTRICTED_VOLUMES |= {"projected", "secret", "name"}


def assert_restricted(spec: dict[str, Any], what: str) -> None:
    """Pod Security Standards, restricted profile (plus read-only root filesystem and no SA token)."""
    pod_sc = spec["securityContext"]
    assert pod_sc["runAsNonRoot"] is True, what
    assert pod_sc.get("runAsUser", 1) != 0, what
    assert pod_sc["seccompProfile"]["type"] == "RuntimeDefault", what
    assert spec["automountServiceAccountToken"] is False, what
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        assert not spec.get(key), f"{what}: {key}"
    for volume in spec.get("volumes", []):
        assert set(volume) <= PSA_RESTRICTED_VOLUMES, f"{what}: volume {volume}"
    for c in spec["containers"] + spec.get("initContainers", []):
        sc = c["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False, what
        assert sc.get("privileged", False) is False, what
        assert sc["readOnlyRootFilesystem"] is True, what
        assert sc["runAsNonRoot"] is True and sc["runAsUser"] >= 10000, what
        assert sc["capabilities"]["drop"] == ["ALL"], what
        assert set(sc["capabilities"].get("add", [])) <= {"NET_BIND_SERVICE"}, what
        assert sc["seccompProfile"]["type"] == "RuntimeDefault", what
        assert "hostPort" not in str(c.get("ports", [])), what


def test_security_context_is_restricted(rendered_latest: Rendered) -> None:
    assert_restricted(pod_spec(rendered_latest), "Deployment")
    assert_restricted(rendered_latest.one("Pod")["spec"], "helm test pod")


def test_restricted_check_is_not_vacuous() -> None:
    spec = pod_spec(render_values({}))
    broken = {
        **spec,
        "containers": [{**spec["containers"][0], "securityContext": {"allowPrivilegeEscalation": True}}],
    }
    with pytest.raises(AssertionError):
        assert_restricted(broken, "broken")


def test_namespace_enforces_restricted_pod_security(rendered_latest: Rendered) -> None:
    labels = rendered_latest.one("Namespace")["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
    assert labels["istio-injection"] == "enabled"
    assert render_values({"namespace": {"create": False}}).maybe("Namespace") is None


# --- network policy -------------------------------------------------------------------------------


def api_policy(r: Rendered) -> dict[str, Any]:
    return r.one("NetworkPolicy", component="api")


def test_network_policy_selects_the_api_pods(rendered_latest: Rendered) -> None:
    policy = api_policy(rendered_latest)["spec"]
    pod_labels = rendered_latest.one("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert matches(policy["podSelector"]["matchLabels"], pod_labels)
    assert policy["policyTypes"] == ["Ingress", "Egress"]


def test_network_policy_egress_only_to_database_cache_dns_and_istiod(rendered_latest: Rendered) -> None:
    egress = api_policy(rendered_latest)["spec"]["egress"]
    ports = {(p["port"], p["protocol"]) for rule in egress for p in rule["ports"]}
    assert ports == {(5432, "TCP"), (6379, "TCP"), (53, "UDP"), (53, "TCP"), (15012, "TCP")}
    for rule in egress:
        assert rule.get("to"), "an egress rule without destinations allows every destination"
        assert rule.get("ports"), "an egress rule without ports allows every port"
    istiod = [r for r in egress if r["ports"] == [{"port": 15012, "protocol": "TCP"}]]
    assert istiod[0]["to"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "istio-system"
    }
    dns = [r for r in egress if {"port": 53, "protocol": "UDP"} in r["ports"]]
    assert dns[0]["to"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "kube-system"
    }


@pytest.mark.parametrize("port", [5432, 6379], ids=["database", "cache"])
def test_network_policy_datastore_cidrs_are_the_regions_private_subnets(
    primary: Rendered, dr: Rendered, port: int
) -> None:
    """RDS and ElastiCache live in the private subnets of Terraform's address plan (production.tfvars)."""
    for role, r in (("primary", primary), ("dr", dr)):
        egress = api_policy(r)["spec"]["egress"]
        rule = next(rule for rule in egress if rule["ports"] == [{"port": port, "protocol": "TCP"}])
        cidrs = sorted(peer["ipBlock"]["cidr"] for peer in rule["to"])
        assert cidrs == sorted(private_subnets("production", role)), role


def test_network_policy_without_istio_has_no_istiod_egress() -> None:
    egress = api_policy(render_values({"istio": {"enabled": False}}))["spec"]["egress"]
    assert 15012 not in {p["port"] for rule in egress for p in rule["ports"]}


def test_network_policy_ingress_only_from_gateway_prometheus_and_test(rendered_latest: Rendered) -> None:
    ingress = api_policy(rendered_latest)["spec"]["ingress"]
    peers = [peer for rule in ingress for peer in rule["from"]]
    assert all("ipBlock" not in p for p in peers)
    namespaces = [
        p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for p in peers
        if "namespaceSelector" in p
    ]
    assert namespaces == ["istio-ingress", "monitoring"]
    gateway = ingress[0]
    assert gateway["from"][0]["podSelector"]["matchLabels"] == {"istio": "ingressgateway"}
    assert gateway["ports"] == [{"port": 8080, "protocol": "TCP"}]
    local = [p for p in peers if "namespaceSelector" not in p]
    assert [p["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for p in local] == ["helm-test"]


# --- mesh -----------------------------------------------------------------------------------------


def test_mesh_policy(rendered_latest: Rendered) -> None:
    host = f"nexus.{NAMESPACE}.svc.cluster.local"
    dr_spec = rendered_latest.one("DestinationRule")["spec"]
    assert dr_spec["host"] == host
    assert dr_spec["trafficPolicy"]["tls"] == {"mode": "ISTIO_MUTUAL"}
    outlier = dr_spec["trafficPolicy"]["outlierDetection"]
    assert outlier["consecutive5xxErrors"] > 0 and outlier["baseEjectionTime"]
    peer = rendered_latest.one("PeerAuthentication")["spec"]
    assert peer["mtls"] == {"mode": "STRICT"}
    pod_labels = rendered_latest.one("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert matches(peer["selector"]["matchLabels"], pod_labels)
    assert pod_labels["sidecar.istio.io/inject"] == "true"


def test_virtual_service_timeouts_retries_and_routes(rendered_latest: Rendered) -> None:
    vs = rendered_latest.one("VirtualService")["spec"]
    gateway = rendered_latest.one("Gateway")
    assert vs["gateways"] == [gateway["metadata"]["name"]]
    assert vs["hosts"] == gateway["spec"]["servers"][0]["hosts"]
    api = vs["http"][0]
    assert api["timeout"] == "10s"
    assert api["retries"]["attempts"] == 2 and api["retries"]["perTryTimeout"] == "4s"
    assert "503" not in api["retries"]["retryOn"].split(","), "read-only 503s are answers, not faults"
    assert api["route"][0]["destination"] == {
        "host": f"nexus.{NAMESPACE}.svc.cluster.local",
        "port": {"number": 8080},
    }
    routed = [m["uri"] for m in api["match"]]
    assert {"prefix": "/api/"} in routed and {"exact": "/readyz"} in routed
    assert not any("metrics" in str(u) for u in routed), "/metrics must not be public"


def test_https_server_only_with_a_tls_secret(rendered_latest: Rendered) -> None:
    """On EKS the ALB ends TLS: no 443 server naming a secret nothing creates; one where a secret is named."""
    protocols = [s["port"]["protocol"] for s in rendered_latest.one("Gateway")["spec"]["servers"]]
    assert protocols == ["HTTP"]
    direct = render_values({"istio": {"gateway": {"credentialName": "nexus-api-tls"}}}).one("Gateway")
    https = direct["spec"]["servers"][0]
    assert https["port"] == {"number": 443, "name": "https", "protocol": "HTTPS"}
    assert https["tls"] == {
        "mode": "SIMPLE",
        "credentialName": "nexus-api-tls",
        "minProtocolVersion": "TLSV1_2",
    }


def test_plain_http_from_the_alb_is_served_not_redirected(rendered_latest: Rendered) -> None:
    """The ALB ends TLS and forwards HTTP to the gateway's port-80 server: a redirect there would loop."""
    http = [s for s in rendered_latest.one("Gateway")["spec"]["servers"] if s["port"]["protocol"] == "HTTP"]
    assert len(http) == 1 and "tls" not in http[0]
    redirecting = render_values({"istio": {"gateway": {"httpsRedirect": True}}}).one("Gateway")
    servers = redirecting["spec"]["servers"]
    assert [s["tls"] for s in servers if s["port"]["protocol"] == "HTTP"] == [{"httpsRedirect": True}]


def test_authorization_policy_allows_the_gateway_only_on_public_paths(rendered_latest: Rendered) -> None:
    policy = rendered_latest.one("AuthorizationPolicy")["spec"]
    assert policy["action"] == "ALLOW"
    gateway_rule = policy["rules"][0]
    principals = gateway_rule["from"][0]["source"]["principals"]
    assert principals == ["cluster.local/ns/istio-ingress/sa/istio-ingressgateway"]
    assert gateway_rule["to"][0]["operation"]["paths"] == ["/api/*", "/healthz", "/readyz"]
    for rule in policy["rules"]:
        assert rule.get("from") and rule.get("to"), "a rule without from/to would allow everyone/everything"


def test_istio_can_be_turned_off() -> None:
    r = render_values({"istio": {"enabled": False}})
    assert not {
        "Gateway",
        "VirtualService",
        "DestinationRule",
        "PeerAuthentication",
        "AuthorizationPolicy",
    } & set(r.kinds())
    assert "sidecar.istio.io/inject" not in r.one("Deployment")["spec"]["template"]["metadata"]["labels"]
    endpoint = r.one("ServiceMonitor")["spec"]["endpoints"][0]
    assert (endpoint["port"], endpoint["path"]) == ("http", "/metrics")


# --- monitoring -----------------------------------------------------------------------------------


def test_service_monitor_carries_the_release_label(rendered_latest: Rendered) -> None:
    sm = rendered_latest.one("ServiceMonitor")
    assert sm["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert rendered_latest.one("PrometheusRule")["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    custom = render_values({"metrics": {"serviceMonitor": {"releaseLabel": "prom-eu"}}})
    assert custom.one("ServiceMonitor")["metadata"]["labels"]["release"] == "prom-eu"
    assert custom.one("PrometheusRule")["metadata"]["labels"]["release"] == "prom-eu"


def test_service_monitor_finds_the_service_and_its_port(rendered_latest: Rendered) -> None:
    sm = rendered_latest.one("ServiceMonitor")["spec"]
    service = rendered_latest.one("Service")
    assert matches(sm["selector"]["matchLabels"], service["metadata"]["labels"])
    assert sm["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    port_names = {p["name"] for p in service["spec"]["ports"]}
    endpoint = sm["endpoints"][0]
    assert endpoint["port"] in port_names
    # with the sidecar: Istio's merged metrics (app + Envoy) on the agent port, plaintext under STRICT mTLS
    assert (endpoint["port"], endpoint["path"]) == ("http-metrics", "/stats/prometheus")
    annotations = rendered_latest.one("Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/path"] == "/metrics" and annotations["prometheus.io/port"] == "8080"


def documented_metrics() -> set[str]:
    readme = (ROOT / "services" / "nexus-api" / "README.md").read_text()
    names = set(re.findall(r"^\| `(nexus_api_[a-z_]+)` \|", readme, flags=re.MULTILINE))
    assert len(names) > 10, "the metrics table of services/nexus-api/README.md was not found"
    return names


def test_alert_rules_use_only_documented_metric_names(rendered_latest: Rendered) -> None:
    documented = documented_metrics()
    groups = rendered_latest.one("PrometheusRule")["spec"]["groups"]
    rules = [rule for g in groups for rule in g["rules"]]
    assert len(rules) >= 2
    for rule in rules:
        used = set(re.findall(r"\bnexus_api_[a-z_]+", rule["expr"]))
        assert used, rule["alert"]
        for name in used:
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            assert name in documented or base in documented, f"{rule['alert']} uses undocumented {name}"
        assert f'namespace="{NAMESPACE}"' in rule["expr"] and 'service="nexus"' in rule["expr"]
        assert rule["labels"]["severity"] in {"critical", "warning"}
        assert rule["annotations"]["summary"]


def test_helm_test_pod_checks_health_through_the_service(rendered_latest: Rendered) -> None:
    pod = rendered_latest.one("Pod")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    script = pod["spec"]["containers"][0]["args"][0]
    assert f"http://nexus.{NAMESPACE}.svc.cluster.local:8080" in script
    assert '"/healthz", "/readyz"' in script
    assert "quitquitquit" in script  # lets the pod complete despite its Istio sidecar
    assert pod["spec"]["containers"][0]["image"] == api_container(rendered_latest)["image"]
    test_policy = rendered_latest.one("NetworkPolicy", component="helm-test")["spec"]
    assert matches(test_policy["podSelector"]["matchLabels"], pod["metadata"]["labels"])
    assert render_values({"tests": {"enabled": False}}).maybe("Pod") is None


def test_chart_dir_has_the_per_region_values_files() -> None:
    assert (CHART_DIR / "values-primary.yaml").is_file() and (CHART_DIR / "values-dr.yaml").is_file()
