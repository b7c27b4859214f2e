"""cicd/pipeline.mk: the pipeline's steps as make targets, run here where they can run (lint, unit tests,
the GitOps bump and push against a local Git remote, the ECR replication check against the AWS emulator) and
made to fail cleanly where they cannot (no BuildKit, Trivy or crane on this machine)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws
from tests.cicd.helpers import CICD, REPO, load_module, make_default, make_targets, run_make

VALUES = [REPO / "helm" / "nexus" / f"values-{r}.yaml" for r in ("primary", "dr")]

ecr = load_module(CICD / "scripts" / "ecr.py", "nexus_ci_ecr")


def test_every_documented_step_is_a_target() -> None:
    assert {
        "ci-setup",
        "ci-lint",
        "ci-unit",
        "ci-image-tag",
        "ci-image-build",
        "ci-image-scan",
        "ci-image-push",
        "ci-gitops-bump",
        "ci-gitops-push",
        "ci-clean",
    } <= make_targets()


def test_lint_target_passes() -> None:
    """ruff + mypy (service and pipeline scripts), hadolint, shellcheck, yamllint: the Lint stage."""
    result = run_make("ci-lint")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ci-lint: ok" in result.stdout


def test_unit_target_runs_the_service_tests_and_writes_junit(tmp_path: Path) -> None:
    """make test runs the whole service suite through ci-unit once; here a subset shows the target's contract
    (pytest in the service directory, arguments passed through, JUnit XML named for the service)."""
    subset = REPO / "services" / "nexus-api" / "tests" / "test_config.py"
    args = f"CI_UNIT_ARGS={subset.relative_to(subset.parents[1])}"
    result = run_make("ci-unit", f"CI_REPORTS_DIR={tmp_path}", args)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    suite = ET.parse(tmp_path / "junit-nexus-api.xml").getroot().find("testsuite")
    assert suite is not None
    assert suite.get("name") == "nexus-api"
    cases = suite.findall("testcase")
    assert len(cases) == subset.read_text().count("\ndef test_") > 0
    assert {case.get("classname") for case in cases} == {"tests.test_config"}
    assert suite.get("failures") == "0"
    assert suite.get("errors") == "0"


@pytest.mark.parametrize(
    ("target", "variable", "tool"),
    [
        ("ci-image-build", "BUILDCTL", "buildctl"),
        ("ci-image-scan", "TRIVY", "trivy"),
        ("ci-image-push", "CRANE", "crane"),
    ],
)
def test_container_steps_stop_with_one_line_where_their_tool_is_missing(
    target: str, variable: str, tool: str
) -> None:
    missing = f"nexus-test-no-{tool}"
    result = run_make(target, "IMAGE_TAG=4f2a9c1b7e3d", f"{variable}={missing}")
    assert result.returncode != 0
    ours = [line for line in result.stderr.splitlines() if not line.startswith("make")]
    assert ours == [ours[0]]
    assert ours[0].startswith(f"{target}: {missing} not found: ")


@pytest.mark.parametrize("target", ["ci-image-build", "ci-image-push", "ci-gitops-bump", "ci-gitops-push"])
def test_image_tag_is_required(target: str) -> None:
    # Tools that exist, so that the IMAGE_TAG check is the one that stops the target.
    result = run_make(target, "BUILDCTL=true", "CRANE=true")
    assert result.returncode != 0
    assert f"{target}: IMAGE_TAG is required" in result.stderr


def test_image_tag_is_the_commit() -> None:
    if not (REPO / ".git").exists():
        pytest.skip("not a Git checkout")
    result = run_make("-s", "ci-image-tag")
    assert result.returncode == 0, result.stderr
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], check=False, cwd=REPO, capture_output=True, text=True
    ).stdout
    assert result.stdout.strip() == head.strip()[:12]


def copy_values(dst_root: Path) -> None:
    (dst_root / "helm" / "nexus").mkdir(parents=True)
    for path in VALUES:
        shutil.copy(path, dst_root / "helm" / "nexus" / path.name)


def test_gitops_bump_target_on_a_copy(tmp_path: Path) -> None:
    copy_values(tmp_path)
    result = run_make("ci-gitops-bump", "IMAGE_TAG=4f2a9c1b7e3d", f"GITOPS_DIR={tmp_path}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("(updated)") == 2
    for path in VALUES:
        assert yaml.safe_load((tmp_path / "helm" / "nexus" / path.name).read_text())["image"]["tag"] == (
            "4f2a9c1b7e3d"
        )
    again = run_make("ci-gitops-bump", "IMAGE_TAG=4f2a9c1b7e3d", f"GITOPS_DIR={tmp_path}")
    assert again.returncode == 0
    assert again.stdout.count("already '4f2a9c1b7e3d'") == 2


# --- ci-gitops-push against a local bare repository ---------------------------------------------------------


def git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    out = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def remote_file(remote: Path, branch: str, path: str) -> str:
    return git(remote, "show", f"{branch}:{path}")


def deployed_tag(remote: Path, values_file: str) -> str:
    return str(yaml.safe_load(remote_file(remote, "gitops", f"helm/nexus/{values_file}"))["image"]["tag"])


@pytest.fixture
def gitops_repos(tmp_path: Path) -> tuple[Path, Path]:
    """A working clone (as Jenkins checks out) and its bare origin, holding the chart's two values files."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    remote, work = tmp_path / "origin.git", tmp_path / "work"
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(remote))
    git(tmp_path, "init", "--quiet", "--initial-branch=main", str(work))
    copy_values(work)
    git(work, "add", "-A")
    git(work, "commit", "--quiet", "-m", "chart")
    git(work, "remote", "add", "origin", str(remote))
    git(work, "push", "--quiet", "origin", "main")
    return work, remote


def push(work: Path, tag: str) -> subprocess.CompletedProcess[str]:
    env = {"GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}
    return run_make("ci-gitops-push", f"IMAGE_TAG={tag}", cwd=work, env=env, timeout=120)


def test_gitops_push_creates_bumps_and_is_idempotent(gitops_repos: tuple[Path, Path]) -> None:
    work, remote = gitops_repos
    first = push(work, "aaaaaaaaaaaa")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "no branch gitops yet" in first.stdout
    for name in ("values-primary.yaml", "values-dr.yaml"):
        assert deployed_tag(remote, name) == "aaaaaaaaaaaa"
    head = git(remote, "rev-parse", "gitops")
    assert "deploy(nexus-api): aaaaaaaaaaaa" in git(remote, "log", "-1", "--format=%B", "gitops")

    again = push(work, "aaaaaaaaaaaa")
    assert again.returncode == 0, again.stderr
    assert "nothing to push" in again.stdout
    assert git(remote, "rev-parse", "gitops") == head

    # A new commit on main: merged into the branch together with its new tag.
    (work / "NEWS").write_text("next release\n")
    git(work, "add", "NEWS")
    git(work, "commit", "--quiet", "-m", "next")
    source = git(work, "rev-parse", "HEAD")
    second = push(work, "bbbbbbbbbbbb")
    assert second.returncode == 0, second.stdout + second.stderr
    assert remote_file(remote, "gitops", "NEWS") == "next release"
    assert git(remote, "merge-base", "--is-ancestor", source, "gitops") == ""
    assert deployed_tag(remote, "values-dr.yaml") == "bbbbbbbbbbbb"
    assert git(work, "worktree", "list").count("\n") == 0  # the temporary worktree is gone

    # Re-running the older build must not roll the deployment back.
    git(work, "checkout", "--quiet", "HEAD~1")
    stale = push(work, "aaaaaaaaaaaa")
    assert stale.returncode != 0
    assert "refusing to roll back" in stale.stderr
    assert deployed_tag(remote, "values-primary.yaml") == "bbbbbbbbbbbb"


def test_gitops_branch_matches_jenkinsfile_and_argocd() -> None:
    branch = make_default("GITOPS_BRANCH")
    assert f"GITOPS_BRANCH = '{branch}'" in (CICD / "Jenkinsfile").read_text()
    nexus = yaml.safe_load((CICD / "argocd" / "apps" / "nexus.yaml").read_text())
    assert nexus["spec"]["template"]["spec"]["source"]["targetRevision"] == branch


# --- ECR: the DR replica check ------------------------------------------------------------------------------


def manifest(seed: int) -> str:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "size": 100 + seed,
                "digest": "sha256:" + f"{seed:x}" * 64,
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "size": 1000 + seed,
                    "digest": "sha256:" + f"{seed + 1:x}" * 64,
                }
            ],
        }
    )


@pytest.fixture
def registries(monkeypatch: pytest.MonkeyPatch) -> Any:
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        clients = {r: boto3.client("ecr", region_name=r) for r in ("us-east-1", "eu-west-1")}
        for client in clients.values():
            client.create_repository(repositoryName="nexus-api", imageTagMutability="IMMUTABLE")
        yield clients


def put(client: Any, tag: str, seed: int) -> str:
    image = client.put_image(
        repositoryName="nexus-api",
        imageManifest=manifest(seed),
        imageManifestMediaType="application/vnd.oci.image.manifest.v1+json",
        imageTag=tag,
    )
    return str(image["image"]["imageId"]["imageDigest"])


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps = 0

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.sleeps += 1


def verify(digest: str, clock: FakeClock, timeout: float = 60) -> str:
    return str(
        ecr.verify_replication(
            repository="nexus-api",
            tag="t1",
            digest=digest,
            source_region="us-east-1",
            replica_region="eu-west-1",
            timeout=timeout,
            interval=15,
            sleep=clock.sleep,
            clock=clock.time,
        )
    )


def test_replication_verified_when_dr_has_the_same_digest(registries: Any) -> None:
    digest = put(registries["us-east-1"], "t1", 1)
    assert put(registries["eu-west-1"], "t1", 1) == digest
    clock = FakeClock()
    assert verify(digest, clock) == f"nexus-api:t1 replicated to eu-west-1 with digest {digest}"
    assert clock.sleeps == 0


def test_replication_waits_then_times_out(registries: Any) -> None:
    digest = put(registries["us-east-1"], "t1", 1)
    clock = FakeClock()
    with pytest.raises(ecr.EcrError, match="has not reached eu-west-1 after 60s"):
        verify(digest, clock, timeout=60)
    assert clock.sleeps == 4


def test_replica_with_another_digest_fails_at_once(registries: Any) -> None:
    digest = put(registries["us-east-1"], "t1", 1)
    other = put(registries["eu-west-1"], "t1", 2)
    assert other != digest
    clock = FakeClock()
    with pytest.raises(ecr.EcrError, match=f"has digest {other}, expected {digest}"):
        verify(digest, clock)
    assert clock.sleeps == 0


def test_source_must_hold_the_pushed_digest(registries: Any) -> None:
    put(registries["us-east-1"], "t1", 1)
    with pytest.raises(ecr.EcrError, match="in us-east-1 is sha256:"):
        verify("sha256:" + "0" * 64, FakeClock())


def test_digest_login_and_registry_commands(
    registries: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    digest = put(registries["us-east-1"], "t1", 3)
    assert ecr.main(["digest", "--region", "us-east-1", "--repository", "nexus-api", "--tag", "t1"]) == 0
    assert capsys.readouterr().out.strip() == digest
    absent = ["digest", "--region", "eu-west-1", "--repository", "nexus-api", "--tag", "t1"]
    assert ecr.main(absent) == ecr.EXIT_ABSENT
    assert ecr.main(["registry", "--region", "us-east-1"]) == 0
    host = capsys.readouterr().out.strip()
    assert host.endswith(".dkr.ecr.us-east-1.amazonaws.com")
    assert ecr.main(["login", "--region", "us-east-1", "--docker-config", str(tmp_path)]) == 0
    config = json.loads((tmp_path / "config.json").read_text())
    assert list(config["auths"]) == [host]
    assert (tmp_path / "config.json").stat().st_mode & 0o077 == 0
