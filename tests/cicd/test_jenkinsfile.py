"""cicd/Jenkinsfile and its agent pod: the Groovy parses and lints clean (npm-groovy-lint), the declarative
structure is the one the pipeline needs, every stage runs a make target that cicd/pipeline.mk defines, and
the pod template is a valid, restricted Pod with one documented exception (rootless BuildKit)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.cicd.helpers import CICD, JENKINSFILE, make_targets
from tests.k8s import validate_builtin

TOOLS = CICD / "tools"
LINTER = TOOLS / "node_modules" / ".bin" / "npm-groovy-lint"
TEXT = JENKINSFILE.read_text()
POD = yaml.safe_load((CICD / "jenkins" / "pod.yaml").read_text())


@pytest.fixture(scope="module")
def groovy_lint() -> Path:
    """npm-groovy-lint from cicd/tools (pinned: package.json + package-lock.json), installed on first use."""
    if not LINTER.exists():
        if shutil.which("npm") is None:
            pytest.fail(
                "npm-groovy-lint is not installed and npm is missing: "
                "install Node.js >= 20, then npm ci --prefix cicd/tools"
            )
        result = subprocess.run(
            ["npm", "ci", "--prefix", str(TOOLS), "--no-audit", "--no-fund"],
            check=False,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if result.returncode != 0:
            pytest.fail(
                "could not install npm-groovy-lint (npm ci --prefix cicd/tools): "
                "is the npm registry reachable?\n" + result.stderr[-2000:]
            )
    if shutil.which("java") is None:
        pytest.fail(
            "npm-groovy-lint needs a Java runtime (17 works): apt-get install openjdk-17-jre-headless"
        )
    return LINTER


def lint(linter: Path, path: Path) -> subprocess.Popen[str]:
    cmd = [
        str(linter),
        "--config",
        str(CICD / ".groovylintrc.json"),
        "--noserver",
        "--output",
        "json",
        str(path),
    ]
    return subprocess.Popen(cmd, cwd=CICD, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def findings(proc: subprocess.Popen[str]) -> list[dict[str, Any]]:
    out, _ = proc.communicate(timeout=180)
    report = json.loads(out[out.index("{") :])
    return [f for file in report["files"].values() for f in file["errors"]]


def test_jenkinsfile_lints_clean_and_a_broken_one_does_not(groovy_lint: Path, tmp_path: Path) -> None:
    broken = tmp_path / "Jenkinsfile"
    broken.write_text(TEXT.replace("stages {", "stages {{", 1))
    # One file per run (the linter can hang on a parse error when given several), both runs in parallel.
    ours, negative = lint(groovy_lint, JENKINSFILE), lint(groovy_lint, broken)
    problems = [f for f in findings(ours) if f["severity"] in ("error", "warning")]
    assert problems == []
    assert any(f["severity"] == "error" for f in findings(negative)), "the linter did not see a syntax error"


def test_groovylint_config_explains_every_disabled_rule() -> None:
    lines = (CICD / ".groovylintrc.json").read_text().splitlines()
    for i, line in enumerate(lines):
        if re.search(r'"\w+":\s*"off"', line):
            assert lines[i - 1].strip().startswith("//"), f"no reason above: {line.strip()}"


# --- structure ---------------------------------------------------------------------------------------------


def stages() -> list[tuple[str, str]]:
    """(name, body) of every stage, in order."""
    starts = [(m.start(), m.group(1)) for m in re.finditer(r"stage\('([^']+)'\)\s*\{", TEXT)]
    ends = [s for s, _ in starts[1:]] + [TEXT.index("\n    post {")]
    return [(name, TEXT[start:end]) for (start, name), end in zip(starts, ends, strict=True)]


def make_calls(body: str) -> list[str]:
    return re.findall(r"\bmake\s+(?:-s\s+)?(ci-[a-z-]+)", body)


def test_stages_in_order_each_running_its_make_target() -> None:
    assert [(name, make_calls(body)) for name, body in stages()] == [
        ("Checkout", ["ci-image-tag", "ci-setup"]),
        ("Lint", ["ci-lint"]),
        ("Unit tests", ["ci-unit"]),
        ("Build image", ["ci-image-build"]),
        ("Scan image", ["ci-image-scan"]),
        ("Push to ECR", ["ci-image-push"]),
        ("Update GitOps values", ["ci-gitops-push"]),
    ]


def test_every_make_target_called_exists() -> None:
    called = set(make_calls(TEXT))
    assert called
    assert called <= make_targets(), called - make_targets()
    assert "ci-clean" in called


def test_steps_are_make_targets_only() -> None:
    """No stage does its work in inline shell: every sh step is a make call (plus the SSH setup for Git)."""
    for name, body in stages():
        for script in re.findall(r"sh\(?\s*(?:script:\s*)?('''.*?'''|'[^']*')", body, re.S):
            commands = [c.strip() for c in script.strip("'").splitlines() if c.strip()]
            commands = [c for c in commands if not c.startswith(("export GIT_SSH_COMMAND", "-o "))]
            assert all(c.startswith("make ") for c in commands), (name, commands)


def test_options() -> None:
    options = TEXT[TEXT.index("options {") : TEXT.index("environment {")]
    for option in ("timestamps()", "timeout(", "buildDiscarder(logRotator(", "disableConcurrentBuilds()"):
        assert option in options


def test_kubernetes_agent_uses_the_pod_template() -> None:
    assert re.search(r"agent\s*\{\s*kubernetes\s*\{\s*yamlFile 'cicd/jenkins/pod.yaml'", TEXT)
    assert "defaultContainer 'tools'" in TEXT


def test_push_and_gitops_only_on_main() -> None:
    bodies = dict(stages())
    for name in ("Push to ECR", "Update GitOps values"):
        assert re.search(r"when\s*\{\s*branch 'main'\s*\}", bodies[name]), name
    for name in ("Lint", "Unit tests", "Build image", "Scan image"):
        assert "when" not in bodies[name]


def test_post_publishes_reports_and_cleans_up() -> None:
    post = TEXT[TEXT.index("\n    post {") :]
    assert "junit(testResults: 'build/reports/junit-*.xml'" in post
    assert "archiveArtifacts(" in post
    cleanup = post[post.index("cleanup {") :]
    assert "make ci-clean" in cleanup
    assert "cleanWs(" in cleanup


def test_no_secrets_in_the_pipeline() -> None:
    assert not re.search(r"(AKIA[0-9A-Z]{16}|aws_secret|password\s*=)", TEXT, re.I)
    assert "withCredentials" in TEXT


# --- agent pod ---------------------------------------------------------------------------------------------


def containers() -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in POD["spec"]["containers"]}


def test_pod_template_is_a_valid_pod() -> None:
    # appArmorProfile in securityContext is a field of Kubernetes >= 1.30.
    validate_builtin(POD, "1.31")


def test_pod_is_restricted() -> None:
    pod = POD["spec"]["securityContext"]
    assert pod["runAsNonRoot"] is True
    assert pod["runAsUser"] != 0
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    assert POD["spec"].get("hostNetwork") is not True
    assert POD["spec"].get("hostPID") is not True
    assert not any("hostPath" in v for v in POD["spec"]["volumes"])
    assert "docker.sock" not in yaml.safe_dump(POD)
    for name, container in containers().items():
        ctx = container["securityContext"]
        assert ctx.get("privileged") is not True, name
        assert ctx["capabilities"] == {"drop": ["ALL"]}, name
        assert ctx.get("runAsUser", pod["runAsUser"]) != 0, name
        assert "resources" in container and "requests" in container["resources"], name
        if name == "buildkitd":
            continue
        assert ctx["allowPrivilegeEscalation"] is False, name
        assert ctx["readOnlyRootFilesystem"] is True, name
        assert "seccompProfile" not in ctx, name  # inherits RuntimeDefault


def test_buildkitd_is_the_only_exception_and_is_rootless() -> None:
    buildkitd = containers()["buildkitd"]
    assert buildkitd["image"].endswith("-rootless")
    assert "--oci-worker-no-process-sandbox" in buildkitd["args"]
    ctx = buildkitd["securityContext"]
    assert ctx["runAsUser"] == 1000
    assert ctx["seccompProfile"] == {"type": "Unconfined"}
    assert ctx["appArmorProfile"] == {"type": "Unconfined"}
    # Reached by buildctl in the tools container over the pod's loopback only.
    assert "tcp://127.0.0.1:1234" in buildkitd["args"]
    tools_env = {e["name"]: e["value"] for e in containers()["tools"]["env"]}
    assert tools_env["BUILDKIT_HOST"] == "tcp://127.0.0.1:1234"


def test_tools_image_provides_every_tool_the_targets_call() -> None:
    dockerfile = (CICD / "jenkins" / "tools.Dockerfile").read_text()
    for tool in ("buildctl", "trivy", "crane", "make", "git", "postgresql-15", "redis-server", "/contrib"):
        assert tool in dockerfile, tool
    assert re.search(r"^USER 1000", dockerfile, re.M)
