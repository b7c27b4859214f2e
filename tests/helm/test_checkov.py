"""checkov's Kubernetes checks on the rendered manifests: zero failures, every skip justified in place.

checkov's helm framework needs a helm binary, so the manifests rendered by the Helm engine are written to a
temporary directory and scanned with the kubernetes framework (one checkov run for the whole module).
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.helm.helmchart import KUBE_VERSIONS, ROOT, VALUES_FILES, render_file, render_values

CHECKOV = ROOT / ".venv-tools" / "bin" / "checkov"

# Every skip the chart carries, and why (the reason is in the manifest, as checkov.io/skipN annotations).
EXPECTED_SKIPS = {
    ("Deployment", "CKV_K8S_35"),  # nexus-api reads configuration only from environment variables
    ("Deployment", "CKV_K8S_43"),  # image by immutable tag unless image.digest is set
    ("Pod", "CKV_K8S_8"),  # helm test pod: one-shot, no liveness probe
    ("Pod", "CKV_K8S_9"),  # helm test pod: one-shot, no readiness probe
    ("Pod", "CKV_K8S_43"),
}


def _broken(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Deployment with its hardening and its skips removed: checkov must notice."""
    out = []
    for original in docs:
        if original["kind"] == "Deployment":
            doc = copy.deepcopy(original)
            doc["metadata"]["name"] = "broken"
            doc["metadata"]["annotations"] = {}
            pod = doc["spec"]["template"]["spec"]
            del pod["securityContext"], pod["automountServiceAccountToken"]
            del pod["containers"][0]["securityContext"]
            out.append(doc)
    return out


@pytest.fixture(scope="module")
def checkov_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    assert CHECKOV.is_file(), f"{CHECKOV} is missing: run `make setup` (it installs checkov into .venv-tools)"
    root = tmp_path_factory.mktemp("checkov")
    (root / "chart").mkdir()
    (root / "broken").mkdir()
    for name in VALUES_FILES:
        docs = render_file(name, KUBE_VERSIONS[-1]).docs
        (root / "chart" / name).write_text(yaml.safe_dump_all(docs, sort_keys=False))
    broken = _broken(render_file("values-primary.yaml", KUBE_VERSIONS[-1]).docs)
    (root / "broken" / "deployment.yaml").write_text(yaml.safe_dump_all(broken, sort_keys=False))
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"}
    cmd = [str(CHECKOV), "-d", str(root), "--framework", "kubernetes", "--compact", "--skip-download"]
    cmd += ["-o", "json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert proc.stdout.strip(), f"checkov printed nothing: {proc.stderr[-2000:]}"
    report = json.loads(proc.stdout)
    assert isinstance(report, dict) and report["check_type"] == "kubernetes", "one kubernetes report expected"
    results: dict[str, Any] = report["results"]
    return results


def _in(results: list[dict[str, Any]], folder: str) -> list[dict[str, Any]]:
    return [r for r in results if Path(r["file_abs_path"]).parent.name == folder]


def test_no_parsing_errors(checkov_results: dict[str, Any]) -> None:
    assert checkov_results["parsing_errors"] == []


def test_zero_failed_checks_on_the_chart(checkov_results: dict[str, Any]) -> None:
    failed = _in(checkov_results["failed_checks"], "chart")
    assert failed == [], "\n".join(f"{f['check_id']} {f['check_name']}: {f['resource']}" for f in failed)


def test_every_values_file_was_scanned(checkov_results: dict[str, Any]) -> None:
    passed = _in(checkov_results["passed_checks"], "chart")
    scanned = {Path(p["file_abs_path"]).name for p in passed}
    assert scanned == set(VALUES_FILES)
    # the hardening checks ran on the Deployment (and passed)
    deployment_checks = {p["check_id"] for p in passed if p["resource"].startswith("Deployment.")}
    hardening = {f"CKV_K8S_{n}" for n in (20, 22, 23, 28, 31, 37, 38)}
    assert hardening <= deployment_checks, f"not run: {hardening - deployment_checks}"
    assert any(p["check_id"] == "CKV2_K8S_6" for p in passed), "NetworkPolicy coverage check did not run"


def test_skips_are_few_and_justified(checkov_results: dict[str, Any]) -> None:
    skipped = _in(checkov_results["skipped_checks"], "chart")
    for name in VALUES_FILES:
        mine = [s for s in skipped if Path(s["file_abs_path"]).name == name]
        kinds = {(s["resource"].split(".")[0], s["check_id"]) for s in mine}
        assert kinds == EXPECTED_SKIPS, name
        for s in mine:
            reason = s["check_result"].get("suppress_comment", "")
            assert len(reason) >= 30, f"{s['check_id']} on {s['resource']} is skipped without a real reason"


def test_image_digest_removes_its_skip() -> None:
    digest = "sha256:" + "0" * 64
    image = {"repository": "r", "pullPolicy": "IfNotPresent", "digest": digest}
    deployment = render_values({"image": image}).one("Deployment")
    annotations = deployment["metadata"]["annotations"]
    assert not any(v.startswith("CKV_K8S_43=") for v in annotations.values())
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == f"r@{digest}"


def test_checkov_catches_a_broken_deployment(checkov_results: dict[str, Any]) -> None:
    failed = {f["check_id"] for f in _in(checkov_results["failed_checks"], "broken")}
    assert {"CKV_K8S_20", "CKV_K8S_22", "CKV_K8S_28", "CKV_K8S_43"} <= failed
