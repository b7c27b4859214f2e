"""cicd/argocd: every resource against its CRD schema, and what the ApplicationSets, projects and the
bootstrap Application do (emulated: the list generator, project checks, RollingSync step selection)."""

from __future__ import annotations

import copy
import fnmatch
import re
from pathlib import Path
from typing import Any

import pytest
from tests.cicd.helpers import (
    ARGOCD,
    CLUSTERS,
    GIT_REPO_URL,
    REPO,
    argocd_resources,
    generate,
    load_docs,
    make_default,
    selected_by,
    sources,
)
from tests.k8s import ManifestError, validate_custom_resource

from nexus_platform import model

RESOURCES = list(argocd_resources())
APPSETS = {doc["metadata"]["name"]: doc for _, doc in RESOURCES if doc["kind"] == "ApplicationSet"}
PROJECTS = {doc["metadata"]["name"]: doc for _, doc in RESOURCES if doc["kind"] == "AppProject"}
GENERATED = [app for appset in APPSETS.values() for app in generate(appset)]
PLAIN_APPS = [doc for _, doc in RESOURCES if doc["kind"] == "Application"]
ALL_APPS = GENERATED + PLAIN_APPS
GITOPS_BRANCH = make_default("GITOPS_BRANCH")
EXACT_SEMVER = re.compile(r"^\d+\.\d+\.\d+$")


def name_of(doc: dict[str, Any]) -> str:
    return f"{doc['kind']}/{doc['metadata']['name']}"


def test_the_clusters_are_the_ones_terraform_names_per_region() -> None:
    """CLUSTERS (tests/cicd/helpers.py) derives each cluster's name and region from production.tfvars the way
    terraform/aws/networking.tf does; hold that derivation against the Terraform source."""
    regions = model.load_tfvars(REPO / "terraform" / "aws" / "networking.tf")["locals"][0]["regions"]
    for role in model.ROLES:
        assert regions[role]["name"] == f"${{local.name_prefix}}-{role}", role
        assert regions[role]["region"] == f"${{var.{role}_region}}", role
    assert set(CLUSTERS) == set(model.ROLES)


def test_the_expected_resources_exist() -> None:
    assert set(PROJECTS) == {"gitops", "nexus", "platform-addons"}
    assert "nexus" in APPSETS
    assert [a["metadata"]["name"] for a in PLAIN_APPS] == ["nexus-gitops"]


@pytest.mark.parametrize(("path", "doc"), RESOURCES, ids=[f"{p.name}:{name_of(d)}" for p, d in RESOURCES])
def test_resource_matches_its_crd_schema(path: Path, doc: dict[str, Any]) -> None:
    validate_custom_resource(doc)


@pytest.mark.parametrize("app", GENERATED, ids=[a["metadata"]["name"] for a in GENERATED])
def test_generated_application_matches_the_application_schema(app: dict[str, Any]) -> None:
    validate_custom_resource(app)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda d: d["spec"]["template"]["spec"]["syncPolicy"]["automated"].update(selfHeel=True),
            "selfHeel",
        ),
        (lambda d: d["spec"]["strategy"].update(type=["RollingSync"]), "is not of type 'string'"),
        (lambda d: d["spec"]["template"]["spec"].update(destinations=[]), "destinations"),
    ],
    ids=["unknown-field", "wrong-type", "unknown-nested-field"],
)
def test_schema_check_is_strict(mutate: Any, message: str) -> None:
    """The vendored schemas really are enforced, unknown fields included (negative controls)."""
    doc = copy.deepcopy(APPSETS["nexus"])
    mutate(doc)
    with pytest.raises(ManifestError, match=message):
        validate_custom_resource(doc)


# --- the nexus ApplicationSet ------------------------------------------------------------------------------


def nexus_apps() -> dict[str, dict[str, Any]]:
    return {
        app["metadata"]["labels"]["nexus-platform/region-role"]: app for app in generate(APPSETS["nexus"])
    }


def test_nexus_yields_exactly_the_two_regional_apps() -> None:
    apps = nexus_apps()
    assert set(apps) == {"primary", "dr"}
    for role, app in apps.items():
        spec = app["spec"]
        assert app["metadata"]["name"] == f"nexus-{role}"
        assert app["metadata"]["labels"]["nexus-platform/region"] == CLUSTERS[role]["region"]
        assert spec["project"] == "nexus"
        assert spec["destination"] == {"name": CLUSTERS[role]["cluster"], "namespace": "nexus"}
        source = spec["source"]
        assert source["repoURL"] == GIT_REPO_URL
        assert source["path"] == "helm/nexus"
        assert source["targetRevision"] == GITOPS_BRANCH
        assert source["helm"]["valueFiles"] == ["values.yaml", f"values-{role}.yaml"]
        assert source["helm"]["releaseName"] == "nexus-api"


def test_nexus_value_files_exist_in_the_chart() -> None:
    chart = REPO / "helm" / "nexus"
    assert (chart / "Chart.yaml").is_file(), "the nexus Applications deploy helm/nexus: it must be a chart"
    for app in nexus_apps().values():
        for values in app["spec"]["source"]["helm"]["valueFiles"]:
            assert (chart / values).is_file(), values


def test_nexus_sync_policy() -> None:
    for app in nexus_apps().values():
        policy = app["spec"]["syncPolicy"]
        assert policy["automated"] == {"prune": True, "selfHeal": True}
        assert {"CreateNamespace=true", "ServerSideApply=true"} <= set(policy["syncOptions"])
        assert policy["retry"]["limit"] > 0
    assert APPSETS["nexus"]["spec"]["syncPolicy"]["preserveResourcesOnDeletion"] is True


def rollout_order(appset: dict[str, Any]) -> list[list[str]]:
    """Which generated Applications each RollingSync step syncs; every Application is in exactly one step."""
    steps = appset["spec"]["strategy"]["rollingSync"]["steps"]
    apps = generate(appset)
    order = [
        [a["metadata"]["name"] for a in apps if selected_by(step, a["metadata"]["labels"])] for step in steps
    ]
    flat = [name for step in order for name in step]
    assert sorted(flat) == sorted(a["metadata"]["name"] for a in apps), "an Application is in no step or two"
    return order


def test_nexus_rolls_out_primary_then_dr() -> None:
    assert APPSETS["nexus"]["spec"]["strategy"]["type"] == "RollingSync"
    assert rollout_order(APPSETS["nexus"]) == [["nexus-primary"], ["nexus-dr"]]


def test_addons_roll_out_dr_then_primary() -> None:
    for name, appset in APPSETS.items():
        if name == "nexus":
            continue
        addon = name.removeprefix("addon-")
        assert rollout_order(appset) == [[f"{addon}-dr"], [f"{addon}-primary"]], name


def test_every_application_set_targets_exactly_the_two_clusters() -> None:
    for name, appset in APPSETS.items():
        apps = generate(appset)
        assert sorted(a["spec"]["destination"]["name"] for a in apps) == sorted(
            c["cluster"] for c in CLUSTERS.values()
        ), name
        for app in apps:
            role = app["metadata"]["labels"]["nexus-platform/region-role"]
            assert app["spec"]["destination"]["name"] == CLUSTERS[role]["cluster"]
            assert app["metadata"]["labels"]["nexus-platform/region"] == CLUSTERS[role]["region"]


# --- pins --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("app", ALL_APPS, ids=[a["metadata"]["name"] for a in ALL_APPS])
def test_every_source_is_pinned(app: dict[str, Any]) -> None:
    """Helm charts: an exact version (no range, no wildcard). Git: the GitOps branch the pipeline writes."""
    for source in sources(app):
        revision = source["targetRevision"]
        assert revision != "HEAD"
        if "chart" in source:
            assert EXACT_SEMVER.match(revision), f"{source['chart']}: {revision!r} is not an exact version"
        else:
            assert source["repoURL"] == GIT_REPO_URL
            assert revision == GITOPS_BRANCH, f"git source follows {revision!r}, not the GitOps branch"


@pytest.mark.parametrize("app", ALL_APPS, ids=[a["metadata"]["name"] for a in ALL_APPS])
def test_every_repository_path_exists(app: dict[str, Any]) -> None:
    """A source from this repository names a directory that exists; a Helm one (helm: set, or a Chart.yaml)
    is a chart whose value files exist in it."""
    for source in sources(app):
        if "path" not in source:
            continue
        assert source["repoURL"] == GIT_REPO_URL
        directory = REPO / source["path"]
        assert directory.is_dir(), source["path"]
        if "helm" in source:
            assert (directory / "Chart.yaml").is_file(), f"{source['path']}: helm source without a chart"
            for values in source["helm"].get("valueFiles", []):
                if not values.startswith("$"):
                    assert (directory / values).is_file(), f"{source['path']}: {values}"


# --- projects ----------------------------------------------------------------------------------------------


def allowed(project: dict[str, Any], app: dict[str, Any]) -> list[str]:
    """What Argo CD would refuse: sources outside sourceRepos, destinations outside destinations."""
    spec = project["spec"]
    problems = []
    for source in sources(app):
        if not any(fnmatch.fnmatchcase(source["repoURL"], pattern) for pattern in spec["sourceRepos"]):
            problems.append(f"source {source['repoURL']}")
    dest = app["spec"]["destination"]
    if not any(
        (d.get("name") == dest.get("name") or d.get("server") == dest.get("server"))
        and fnmatch.fnmatchcase(dest["namespace"], d["namespace"])
        for d in spec["destinations"]
    ):
        problems.append(f"destination {dest}")
    return problems


@pytest.mark.parametrize("app", ALL_APPS, ids=[a["metadata"]["name"] for a in ALL_APPS])
def test_every_application_is_allowed_by_its_project(app: dict[str, Any]) -> None:
    assert allowed(PROJECTS[app["spec"]["project"]], app) == []


def test_projects_allow_only_what_is_declared() -> None:
    for project in PROJECTS.values():
        spec = project["spec"]
        # No wildcards: every repository and destination is named.
        assert not any("*" in repo for repo in spec["sourceRepos"]), project["metadata"]["name"]
        for dest in spec["destinations"]:
            assert "*" not in str(dest), (project["metadata"]["name"], dest)
    nexus = PROJECTS["nexus"]["spec"]
    assert nexus["sourceRepos"] == [GIT_REPO_URL]
    assert sorted((d["name"], d["namespace"]) for d in nexus["destinations"]) == sorted(
        (c["cluster"], "nexus") for c in CLUSTERS.values()
    )
    addons = PROJECTS["platform-addons"]["spec"]
    used_repos = {
        s["repoURL"] for a in GENERATED if a["spec"]["project"] == "platform-addons" for s in sources(a)
    }
    assert set(addons["sourceRepos"]) == used_repos, "every repository is used, none is missing"
    assert {d["name"] for d in addons["destinations"]} == {c["cluster"] for c in CLUSTERS.values()}


def test_project_refuses_what_is_not_declared() -> None:
    app = copy.deepcopy(nexus_apps()["primary"])
    app["spec"]["source"]["repoURL"] = "https://git.example.com/someone/else.git"
    app["spec"]["destination"]["namespace"] = "kube-system"
    assert allowed(PROJECTS["nexus"], app) == [
        "source https://git.example.com/someone/else.git",
        "destination {'name': 'nexus-production-primary', 'namespace': 'kube-system'}",
    ]


def chart_kinds() -> set[tuple[str, str]]:
    """(group, kind) of every resource template of helm/nexus (not the helm test hook: Argo CD skips it)."""
    kinds = set()
    for path in sorted((REPO / "helm" / "nexus" / "templates").glob("*.yaml")):
        text = path.read_text()
        for api_version, kind in re.findall(r"^apiVersion:\s*(\S+)\s*\n(?:.*\n)*?^kind:\s*(\S+)", text, re.M):
            group = api_version.rpartition("/")[0]
            kinds.add((group, kind))
    return kinds


def test_nexus_project_whitelists_exactly_the_chart_kinds() -> None:
    assert chart_kinds(), "helm/nexus/templates holds no resource template"
    spec = PROJECTS["nexus"]["spec"]
    whitelisted = {(k["group"], k["kind"]) for k in spec["namespaceResourceWhitelist"]}
    whitelisted |= {(k["group"], k["kind"]) for k in spec["clusterResourceWhitelist"]}
    assert whitelisted == chart_kinds()
    assert spec["clusterResourceWhitelist"] == [{"group": "", "kind": "Namespace"}]


def test_cluster_resource_whitelists_are_minimal() -> None:
    assert PROJECTS["gitops"]["spec"]["clusterResourceWhitelist"] == []
    addons = {
        (k["group"], k["kind"]) for k in PROJECTS["platform-addons"]["spec"]["clusterResourceWhitelist"]
    }
    assert not any("*" in group or "*" in kind for group, kind in addons)
    assert ("", "Node") not in addons
    assert ("", "PersistentVolume") not in addons


def test_project_roles_name_groups_and_scope_policies_to_the_project() -> None:
    for name, project in PROJECTS.items():
        roles = project["spec"]["roles"]
        assert roles, name
        for role in roles:
            assert role["groups"]
            for policy in role["policies"]:
                parts = [p.strip() for p in policy.split(",")]
                assert parts[0] == "p"
                assert parts[1] == f"proj:{name}:{role['name']}"
                assert parts[4].startswith(f"{name}/"), policy
                assert parts[5] == "allow"


# --- bootstrap ---------------------------------------------------------------------------------------------


def brace_globs(pattern: str) -> list[str]:
    match = re.fullmatch(r"\{(.*)\}", pattern)
    return match.group(1).split(",") if match else [pattern]


def test_root_application_syncs_every_argocd_file_and_nothing_else() -> None:
    root = next(a for a in PLAIN_APPS if a["metadata"]["name"] == "nexus-gitops")
    source = root["spec"]["source"]
    assert source["path"] == "cicd/argocd"
    assert source["targetRevision"] == GITOPS_BRANCH
    assert source["directory"]["recurse"] is True
    # Argo CD matches include/exclude with gobwas/glob and no separators: "*" crosses "/" (as fnmatch does).
    include = brace_globs(source["directory"]["include"])
    exclude = brace_globs(source["directory"].get("exclude", "{}"))
    included = set()
    for path in ARGOCD.rglob("*.yaml"):
        rel = path.relative_to(ARGOCD).as_posix()
        if any(fnmatch.fnmatchcase(rel, g) for g in include) and not any(
            fnmatch.fnmatchcase(rel, g) for g in exclude if g
        ):
            included.add(rel)
    argocd_files = {p.relative_to(ARGOCD).as_posix() for p, _ in RESOURCES}
    assert included == argocd_files
    for path in included:
        assert all(d["apiVersion"].startswith("argoproj.io/") for d in load_docs(ARGOCD / path)), path
