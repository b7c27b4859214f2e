#!/usr/bin/env python3
"""Generate the Kubernetes objects that put monitoring/ into each region's kube-prometheus-stack.

    .venv/bin/python monitoring/deploy/generate.py          # write the YAML files beside this script
    .venv/bin/python monitoring/deploy/generate.py --check  # exit 1 if a committed file differs

monitoring/ holds plain Prometheus, Alertmanager and Grafana files (tested with promtool, amtool and a real
Prometheus); the Prometheus Operator reads none of them. Argo CD deploys this directory beside the chart
(cicd/argocd/addons/kube-prometheus-stack.yaml, second source), and the chart's values point at what it makes:

- prometheusrules.yaml: one PrometheusRule per monitoring/rules/*.yaml, groups unchanged (the deployed
  Prometheus selects every PrometheusRule: ruleSelectorNilUsesHelmValues false);
- dashboards.yaml: one ConfigMap per dashboard, labelled for Grafana's dashboard sidecar;
- alertmanager-config.yaml: monitoring/alertmanager.yaml as the Secret the Alertmanager runs
  (alertmanagerSpec.configSecret) instead of the chart's route to a `null` receiver;
- scrape-configs.yaml: the jobs of monitoring/prometheus.yaml that neither the chart nor helm/nexus's
  ServiceMonitor provide, as the Secret of prometheusSpec.additionalScrapeConfigsSecret;
- blackbox-config.yaml: monitoring/blackbox.yaml as the blackbox exporter add-on's configuration Secret;
- cicd/argocd/addons/values/yace.yaml: the YACE add-on's values, monitoring/yace.yaml as its configuration;
- cicd/argocd/addons/values/kube-prometheus-stack-<role>.yaml: Grafana's datasources in that role's cluster,
  from monitoring/grafana.yaml: the region's own Prometheus (the chart's in-cluster service, the default) in
  place of the chart's unnamed one, and the region's Elasticsearch logs as they are (Grafana expands their
  $ELASTICSEARCH_* from its environment: kube-prometheus-stack.yaml). Not the other region's Prometheus: no
  network path crosses the regions (terraform/aws/delivery.tf).

The committed files must equal this script's output (tests/monitoring/test_deploy.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from nexus_platform import model

HERE = Path(__file__).resolve().parent
MONITORING = HERE.parent
NAMESPACE = "monitoring"
LABELS = {"app.kubernetes.io/part-of": "nexus-platform", "app.kubernetes.io/managed-by": "argocd"}

# Grafana's dashboard sidecar (kube-prometheus-stack's grafana.sidecar.dashboards label and value).
DASHBOARD_LABEL = ("grafana_dashboard", "1")
ALERTMANAGER_CONFIG = "nexus-alertmanager-config"
SCRAPE_CONFIG = ("nexus-scrape-configs", "scrape-configs.yaml")
BLACKBOX_CONFIG = ("nexus-blackbox-config", "blackbox.yaml")
# kube-prometheus-stack's Prometheus Service in each cluster (release kube-prometheus-stack, port 9090).
PROMETHEUS_URL = "http://kube-prometheus-stack-prometheus.monitoring:9090"
# terraform/modules/region/workload_identity.tf associates the YACE role with this account.
YACE_SERVICE_ACCOUNT = "yace"

# Jobs of monitoring/prometheus.yaml that Prometheus gets elsewhere, and from where.
PROVIDED_ELSEWHERE = {
    "prometheus": "kube-prometheus-stack (prometheus.serviceMonitor)",
    "node-exporter": "kube-prometheus-stack (prometheus-node-exporter)",
    "kube-state-metrics": "kube-prometheus-stack (kube-state-metrics)",
    "kubelet-cadvisor": "kube-prometheus-stack (kubelet.serviceMonitor.cAdvisor)",
    "nexus-api": "helm/nexus's ServiceMonitor (job nexus-api, Istio's merged metrics)",
}


def _meta(name: str, **labels: str) -> dict[str, Any]:
    return {"name": name, "namespace": NAMESPACE, "labels": {**LABELS, **labels}}


def prometheus_rules() -> list[dict[str, Any]]:
    docs = []
    for path in sorted((MONITORING / "rules").glob("*.yaml")):
        groups = yaml.safe_load(path.read_text())["groups"]
        docs.append(
            {
                "apiVersion": "monitoring.coreos.com/v1",
                "kind": "PrometheusRule",
                "metadata": _meta(f"nexus-{path.stem}"),
                "spec": {"groups": groups},
            }
        )
    return docs


def dashboards() -> list[dict[str, Any]]:
    key, value = DASHBOARD_LABEL
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": _meta(f"nexus-dashboard-{path.stem}", **{key: value}),
            "data": {path.name: path.read_text()},
        }
        for path in sorted((MONITORING / "dashboards").glob("*.json"))
    ]


def _secret(name: str, key: str, text: str) -> list[dict[str, Any]]:
    """A configuration file as the Secret a chart reads it from."""
    return [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": _meta(name),
            "type": "Opaque",
            "stringData": {key: text},
        }
    ]


def alertmanager_config() -> list[dict[str, Any]]:
    return _secret(ALERTMANAGER_CONFIG, "alertmanager.yaml", (MONITORING / "alertmanager.yaml").read_text())


def scrape_configs() -> list[dict[str, Any]]:
    config = yaml.safe_load((MONITORING / "prometheus.yaml").read_text())
    jobs = [job for job in config["scrape_configs"] if job["job_name"] not in PROVIDED_ELSEWHERE]
    name, key = SCRAPE_CONFIG
    return _secret(name, key, yaml.safe_dump(jobs, sort_keys=False, width=120))


def blackbox_config() -> list[dict[str, Any]]:
    name, key = BLACKBOX_CONFIG
    return _secret(name, key, (MONITORING / "blackbox.yaml").read_text())


def yace_values() -> dict[str, Any]:
    """The YACE add-on's values: its chart takes the configuration as a string value, written here."""
    return {
        "serviceAccount": {"create": True, "name": YACE_SERVICE_ACCOUNT},
        "config": (MONITORING / "yace.yaml").read_text(),
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
    }


def grafana_values(region: str) -> dict[str, Any]:
    """kube-prometheus-stack's Grafana datasources in the cluster of `region`: monitoring/grafana.yaml's
    Prometheus of that region, pointed at the chart's Prometheus and made the default, instead of the chart's
    own "Prometheus" (which the dashboards' datasource variable, /^Prometheus /, would not list); its
    Elasticsearch logs as they are."""
    sources = yaml.safe_load((MONITORING / "grafana.yaml").read_text())["datasources"]
    (own,) = [s for s in sources if s["type"] == "prometheus" and s["uid"] == f"prometheus-{region}"]
    logs = [s for s in sources if s["type"] == "elasticsearch"]
    # The version Grafana tailors its queries to: the Prometheus the chart runs (its pinned image tag).
    tag = yaml.safe_load((ADDON_VALUES / "kube-prometheus-stack.yaml").read_text())["prometheus"]
    version = str(tag["prometheusSpec"]["image"]["tag"]).removeprefix("v")
    datasource = {**own, "url": PROMETHEUS_URL, "isDefault": True}
    datasource["jsonData"] = {**own.get("jsonData", {}), "prometheusVersion": version}
    return {
        "grafana": {
            "sidecar": {"datasources": {"defaultDatasourceEnabled": False}},
            "additionalDataSources": [datasource, *logs],
        }
    }


FILES = {
    "prometheusrules.yaml": prometheus_rules,
    "dashboards.yaml": dashboards,
    "alertmanager-config.yaml": alertmanager_config,
    "scrape-configs.yaml": scrape_configs,
    "blackbox-config.yaml": blackbox_config,
}
# Files outside this directory, with what makes each.
ADDON_VALUES = MONITORING.parent / "cicd" / "argocd" / "addons" / "values"
VALUES = {
    ADDON_VALUES / "yace.yaml": (
        yace_values,
        "# Generated by monitoring/deploy/generate.py: YACE's values, its configuration being\n"
        "# monitoring/yace.yaml (addons/yace.yaml; the service account is the one Terraform gives\n"
        "# a Pod Identity role).\n",
    ),
    **{
        ADDON_VALUES / f"kube-prometheus-stack-{region.role}.yaml": (
            lambda name=region.name: grafana_values(name),
            "# Generated by monitoring/deploy/generate.py from monitoring/grafana.yaml: Grafana's\n"
            f"# datasources in the {region.role} cluster ({region.name}), beside\n"
            "# kube-prometheus-stack.yaml (addons/kube-prometheus-stack.yaml).\n",
        )
        for region in model.environment("production").regions
    },
}
HEADER = "# Generated by monitoring/deploy/generate.py from monitoring/: edit those files and re-run it.\n"


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (embedded files) as literal blocks: the generated files read like their sources;
    sequences indented under their key (the repository's yamllint rule)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def render(name: str) -> str:
    return HEADER + yaml.dump_all(FILES[name](), Dumper=_Dumper, sort_keys=False, width=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a committed file differs")
    args = parser.parse_args(argv)
    stale = []
    outputs = {HERE / name: render(name) for name in FILES}
    for path, (make, header) in VALUES.items():
        outputs[path] = header + yaml.dump(make(), Dumper=_Dumper, sort_keys=False, width=120)
    for path, text in outputs.items():
        name = path.name
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print(f"out of date: {', '.join(stale)}; run monitoring/deploy/generate.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
