"""monitoring/ reaches the clusters: every rule group is in a PrometheusRule the deployed Prometheus selects,
every dashboard reaches Grafana through its sidecar label, the Alertmanager runs monitoring/alertmanager.yaml,
every scrape job of monitoring/prometheus.yaml is either deployed or provided by the chart or helm/nexus, and
the committed objects are what monitoring/deploy/generate.py makes of the files today."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import yaml
from tests.cicd.helpers import ARGOCD, REPO, generate, load_docs, load_module, sources
from tests.helm.helmchart import KUBE_VERSIONS, render_file
from tests.k8s import validate_custom_resource
from tests.monitoring import obslib

DEPLOY = obslib.MONITORING / "deploy"
GENERATOR = DEPLOY / "generate.py"
KPS = yaml.safe_load((ARGOCD / "addons" / "values" / "kube-prometheus-stack.yaml").read_text())
KUSTOMIZATION = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())


def deployed() -> list[dict[str, Any]]:
    return [doc for name in KUSTOMIZATION["resources"] for doc in load_docs(DEPLOY / name)]


def of_kind(kind: str) -> list[dict[str, Any]]:
    return [d for d in deployed() if d["kind"] == kind]


def test_the_committed_objects_are_current() -> None:
    result = subprocess.run(
        [sys.executable, str(GENERATOR), "--check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_every_generated_file_is_deployed() -> None:
    generated = {p.name for p in DEPLOY.glob("*.yaml") if p.name != "kustomization.yaml"}
    assert set(KUSTOMIZATION["resources"]) == generated


def test_every_rule_group_reaches_a_selected_prometheus_rule() -> None:
    spec = KPS["prometheus"]["prometheusSpec"]
    assert spec["ruleSelectorNilUsesHelmValues"] is False, (
        "the chart would select only its own release's rules"
    )
    deployed_groups = [g for rule in of_kind("PrometheusRule") for g in rule["spec"]["groups"]]
    source_groups = [g for path in obslib.rule_files() for g in yaml.safe_load(path.read_text())["groups"]]
    assert deployed_groups == source_groups
    assert all(r["metadata"]["namespace"] == "monitoring" for r in of_kind("PrometheusRule"))


def test_every_dashboard_reaches_grafana_through_the_sidecar() -> None:
    sidecar = KPS["grafana"]["sidecar"]["dashboards"]
    assert sidecar["enabled"] is True
    dashboards = {path.name for path in obslib.DASHBOARDS_DIR.glob("*.json")}
    shipped = {
        name
        for cm in of_kind("ConfigMap")
        if cm["metadata"]["labels"].get(sidecar["label"]) == sidecar["labelValue"]
        for name in cm["data"]
    }
    assert dashboards and shipped == dashboards


def test_the_alertmanager_runs_the_platforms_routing() -> None:
    name = KPS["alertmanager"]["alertmanagerSpec"]["configSecret"]
    (secret,) = [s for s in of_kind("Secret") if s["metadata"]["name"] == name]
    config = yaml.safe_load(secret["stringData"]["alertmanager.yaml"])
    assert config == yaml.safe_load((obslib.MONITORING / "alertmanager.yaml").read_text())
    assert config["route"]["receiver"] != "null"


def test_every_scrape_job_is_deployed_or_provided_elsewhere() -> None:
    scrape = KPS["prometheus"]["prometheusSpec"]["additionalScrapeConfigsSecret"]
    (secret,) = [s for s in of_kind("Secret") if s["metadata"]["name"] == scrape["name"]]
    jobs = {job["job_name"] for job in yaml.safe_load(secret["stringData"][scrape["key"]])}
    source = yaml.safe_load((obslib.MONITORING / "prometheus.yaml").read_text())
    names = [job["job_name"] for job in source["scrape_configs"]]
    elsewhere = load_module(GENERATOR, "monitoring_deploy_generate").PROVIDED_ELSEWHERE
    assert jobs | set(elsewhere) == set(names) and not jobs & set(elsewhere)
    # nexus-api is helm/nexus's ServiceMonitor's job, selected by the chart's release label
    (monitor,) = [
        d for d in render_file("values-primary.yaml", KUBE_VERSIONS[-1]).docs if d["kind"] == "ServiceMonitor"
    ]
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_grafana_keeps_no_default_password() -> None:
    admin = KPS["grafana"]["admin"]
    (external,) = [
        e for e in of_kind("ExternalSecret") if e["spec"]["target"]["name"] == admin["existingSecret"]
    ]
    data = external["spec"]["target"]["template"]["data"]
    assert {admin["userKey"], admin["passwordKey"]} <= set(data)
    assert external["spec"]["refreshInterval"] == "0"


def _merged(files: list[str]) -> dict[str, Any]:
    """Helm's merge of the value files, in order (maps merged, anything else replaced)."""

    def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
        out = dict(base)
        for key, value in over.items():
            both = isinstance(value, dict) and isinstance(out.get(key), dict)
            out[key] = merge(out[key], value) if both else value
        return out

    values: dict[str, Any] = {}
    for name in files:
        values = merge(values, yaml.safe_load((REPO / name.removeprefix("$values/")).read_text()))
    return values


def test_each_clusters_grafana_has_its_regions_prometheus_as_the_default() -> None:
    """kube-prometheus-stack's own datasource (named "Prometheus", which the dashboards' datasource variable
    does not list) is off; monitoring/grafana.yaml's Prometheus of the cluster's region takes its place, at
    the chart's Prometheus Service, the only default, tailored to the version the chart runs (and the logs'
    datasource to the Elasticsearch version ECK runs)."""
    regexes = {
        variable["regex"].strip("/")
        for board in obslib.dashboards().values()
        for variable in board["templating"]["list"]
        if variable["type"] == "datasource" and variable["query"] == "prometheus"
    }
    (appset,) = load_docs(ARGOCD / "addons" / "kube-prometheus-stack.yaml")
    (elasticsearch,) = load_docs(ARGOCD / "addons" / "elastic-stack" / "elasticsearch.yaml")
    apps = generate(appset)
    assert len(apps) == 2
    for app in apps:
        region = app["metadata"]["labels"]["nexus-platform/region"]
        (chart,) = [s for s in sources(app) if s.get("chart") == "kube-prometheus-stack"]
        values = _merged(chart["helm"]["valueFiles"])
        grafana = values["grafana"]
        assert grafana["sidecar"]["datasources"]["defaultDatasourceEnabled"] is False
        datasource, logs = grafana["additionalDataSources"]
        assert logs["uid"] == "elasticsearch-logs" and logs["isDefault"] is False
        assert (datasource["uid"], datasource["isDefault"]) == (f"prometheus-{region}", True)
        assert regexes and all(re.search(regex, datasource["name"]) for regex in regexes)
        namespace = app["spec"]["destination"]["namespace"]
        assert datasource["url"] == f"http://{chart['helm']['releaseName']}-prometheus.{namespace}:9090"
        tag = values["prometheus"]["prometheusSpec"]["image"]["tag"]
        assert datasource["jsonData"]["prometheusVersion"] == tag.removeprefix("v")
        # Grafana tailors its queries to the Elasticsearch it names: the version ECK runs.
        assert logs["jsonData"]["esVersion"] == elasticsearch["spec"]["version"]


def test_grafanas_logs_datasource_reads_elasticsearch_as_a_read_only_user() -> None:
    """Every $VARIABLE of the Elasticsearch datasource is in Grafana's environment; its Secret is copied from
    the logging namespace (the file-realm user ECK reads, whose role only reads the log data streams, and
    ECK's public CA) by a SecretStore whose ServiceAccount may read only those two Secrets there."""
    (appset,) = load_docs(ARGOCD / "addons" / "kube-prometheus-stack.yaml")
    (chart,) = [s for s in sources(generate(appset)[0]) if s.get("chart") == "kube-prometheus-stack"]
    grafana = _merged(chart["helm"]["valueFiles"])["grafana"]
    (logs,) = [d for d in grafana["additionalDataSources"] if d["type"] == "elasticsearch"]
    env, from_secrets = grafana["env"], grafana["envValueFrom"]
    assert set(re.findall(r"\$([A-Z_]+)", yaml.safe_dump(logs))) == set(env) | set(from_secrets)

    stack = ARGOCD / "addons" / "elastic-stack"
    (es,) = load_docs(stack / "elasticsearch.yaml")
    name, namespace = es["metadata"]["name"], es["metadata"]["namespace"]
    assert env["ELASTICSEARCH_URL"] == f"https://{name}-es-http.{namespace}.svc:9200"
    refs = [value["secretKeyRef"] for value in from_secrets.values()]
    (external,) = [
        e for e in of_kind("ExternalSecret") if e["spec"]["target"]["name"] in {r["name"] for r in refs}
    ]
    assert {d["secretKey"] for d in external["spec"]["data"]} == {r["key"] for r in refs}
    (store,) = [
        s
        for s in of_kind("SecretStore")
        if s["metadata"]["name"] == external["spec"]["secretStoreRef"]["name"]
    ]
    kubernetes = store["spec"]["provider"]["kubernetes"]
    assert kubernetes["remoteNamespace"] == namespace
    for resource in (store, external):
        validate_custom_resource(resource)

    # The user: in the cluster's file realm, with a role that reads the nexus log data streams only.
    remote = {d["remoteRef"]["key"] for d in external["spec"]["data"]}
    (user,) = remote - {f"{name}-es-http-certs-public"}
    assert user in {realm["secretName"] for realm in es["spec"]["auth"]["fileRealm"]}
    docs = [d for path in sorted(stack.glob("*.yaml")) for d in load_docs(path)]
    (made,) = [d for d in docs if d["kind"] == "ExternalSecret" and d["spec"]["target"]["name"] == user]
    (role_name,) = made["spec"]["target"]["template"]["data"]["roles"].split(",")
    (roles,) = [d for d in docs if d["kind"] == "Secret" and d["metadata"]["name"] in
                {r["secretName"] for r in es["spec"]["auth"]["roles"]}]  # fmt: skip
    role = yaml.safe_load(roles["stringData"]["roles.yml"])[role_name]
    assert "cluster" not in role
    assert role["indices"] == [{"names": ["logs-nexus-*"], "privileges": ["read", "view_index_metadata"]}]

    # RBAC there: get, on exactly those two Secrets, for the store's ServiceAccount.
    (rbac,) = [d for d in docs if d["kind"] == "Role"]
    (binding,) = [
        d for d in docs if d["kind"] == "RoleBinding" and d["roleRef"]["name"] == rbac["metadata"]["name"]
    ]
    (rule,) = rbac["rules"]
    assert (set(rule["resourceNames"]), rule["verbs"]) == (remote, ["get"])
    account = kubernetes["auth"]["serviceAccount"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account, "namespace": "monitoring"}]
    assert [d["metadata"]["name"] for d in of_kind("ServiceAccount")] == [account]


def test_eks_control_plane_jobs_and_their_alerts_are_off() -> None:
    for component in ("kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy"):
        assert KPS[component]["enabled"] is False, component
    rules = KPS["defaultRules"]["rules"]
    for group in ("etcd", "kubeControllerManager", "kubeSchedulerAlerting", "kubeProxy"):
        assert rules[group] is False, group


# What each deployed scrape job reads, and the Argo CD add-on (cicd/argocd/addons/<name>.yaml) that runs it.
JOB_PROVIDERS = {
    "istiod": "istiod",
    "envoy-stats": "istiod",  # the sidecars it injects
    "yace": "yace",
    "blackbox": "prometheus-blackbox-exporter",
    "fluentd": "fluentd",
    "nexus-ops": "prometheus-pushgateway",
}


def test_every_deployed_scrape_job_has_its_exporter() -> None:
    scrape = KPS["prometheus"]["prometheusSpec"]["additionalScrapeConfigsSecret"]
    (secret,) = [s for s in of_kind("Secret") if s["metadata"]["name"] == scrape["name"]]
    jobs = {job["job_name"] for job in yaml.safe_load(secret["stringData"][scrape["key"]])}
    assert jobs == set(JOB_PROVIDERS)
    for job, addon in JOB_PROVIDERS.items():
        assert (ARGOCD / "addons" / f"{addon}.yaml").is_file(), f"{job}: no add-on {addon}"


def test_the_exporters_run_the_configuration_in_monitoring() -> None:
    blackbox = yaml.safe_load(
        (ARGOCD / "addons" / "values" / "prometheus-blackbox-exporter.yaml").read_text()
    )
    (secret,) = [
        s for s in of_kind("Secret") if s["metadata"]["name"] == blackbox["configExistingSecretName"]
    ]
    assert secret["stringData"]["blackbox.yaml"] == (obslib.MONITORING / "blackbox.yaml").read_text()
    yace = yaml.safe_load((ARGOCD / "addons" / "values" / "yace.yaml").read_text())
    assert yace["config"] == (obslib.MONITORING / "yace.yaml").read_text()
    # the account Terraform gives YACE's role to (terraform test asserts the association)
    identity = (obslib.ROOT / "terraform" / "modules" / "region" / "workload_identity.tf").read_text()
    assert f'service_account = "{yace["serviceAccount"]["name"]}"' in identity
