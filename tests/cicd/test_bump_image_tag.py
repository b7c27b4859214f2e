"""cicd/scripts/bump_image_tag.py: the GitOps step's edit of the regional values files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from tests.cicd.helpers import CICD, REPO, load_module

bump = load_module(CICD / "scripts" / "bump_image_tag.py", "bump_image_tag")

VALUES = """\
# Primary region (comment kept)
region: us-east-1

image:
  # the repository in this region's ECR
  repository: 111122223333.dkr.ecr.us-east-1.amazonaws.com/nexus-api
  # Bumped by the delivery pipeline.
  tag: "0.1.0"   # trailing comment kept
  pullPolicy: Always

env:
- name: A        # sequence style (not indented) kept
  value: "b"
hosts: [a.example.com,   b.example.com]
"""


def changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    a, b = before.splitlines(), after.splitlines()
    assert len(a) == len(b)
    return [(x, y) for x, y in zip(a, b, strict=True) if x != y]


def test_only_the_tag_scalar_changes() -> None:
    new, old = bump.bump_text(VALUES, "4f2a9c1b7e3d")
    assert old == "0.1.0"
    # Quoting style, indentation, the trailing comment and every other line stay byte for byte.
    assert changed_lines(VALUES, new) == [
        ('  tag: "0.1.0"   # trailing comment kept', '  tag: "4f2a9c1b7e3d"   # trailing comment kept')
    ]


def test_idempotent() -> None:
    once, _ = bump.bump_text(VALUES, "4f2a9c1b7e3d")
    twice, old = bump.bump_text(once, "4f2a9c1b7e3d")
    assert twice == once
    assert old == "4f2a9c1b7e3d"


@pytest.mark.parametrize(
    ("tag", "written"),
    [
        ("v1.2.3", "v1.2.3"),  # a plain tag stays plain
        ("123456789012", '"123456789012"'),  # all digits: an int to YAML
        ("1e10", '"1e10"'),  # a float to YAML
        ("0755", '"0755"'),  # an octal int to YAML 1.1 (Helm)
        ("no", '"no"'),  # a boolean to YAML 1.1 (Helm)
        ("abc_1-2.3", "abc_1-2.3"),
    ],
)
def test_plain_style_quotes_when_yaml_would_retype(tag: str, written: str) -> None:
    text = "image:\n  tag: old   # bumped\n"
    new, _ = bump.bump_text(text, tag)
    assert new == f"image:\n  tag: {written}   # bumped\n"
    assert yaml.safe_load(new)["image"]["tag"] == tag


def test_single_quotes_are_kept() -> None:
    new, _ = bump.bump_text("image:\n  tag: 'old'\n", "abc")
    assert new == "image:\n  tag: 'abc'\n"


@pytest.mark.parametrize("empty", ["", " ~", " null", "   # set by CI"])
def test_empty_tag_is_filled_in(empty: str) -> None:
    new, old = bump.bump_text(f"image:\n  tag:{empty}\n  repository: r\n", "abc123")
    assert old is None
    assert yaml.safe_load(new) == {"image": {"tag": "abc123", "repository": "r"}}


def test_tag_added_under_an_image_without_one() -> None:
    text = "image:\n    repository: r   # four-space indent\nreplicas: 2\n"
    new, old = bump.bump_text(text, "abc")
    assert old is None
    assert new == "image:\n    tag: abc\n    repository: r   # four-space indent\nreplicas: 2\n"


def test_image_block_added_when_absent() -> None:
    new, _ = bump.bump_text("# only a comment\nreplicas: 2", "abc")
    assert new == "# only a comment\nreplicas: 2\nimage:\n  tag: abc\n"


def test_flow_mapping() -> None:
    new, _ = bump.bump_text("image: {repository: r, tag: old}\n", "abc")
    assert new == "image: {repository: r, tag: abc}\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("image:\n  tag: |\n    old\n", "not a one-line scalar"),
        ("- a\n- b\n", "not a mapping"),
        ("image: [a]\n", "not a block mapping"),
        ("image:\n", "image is null"),
        ("image: {\n", "not valid YAML"),
    ],
)
def test_unsafe_documents_are_refused(text: str, message: str) -> None:
    with pytest.raises(bump.BumpError, match=message):
        bump.bump_text(text, "abc")


@pytest.mark.parametrize("tag", ["", "-abc", "a/b", "a:b", "x" * 129, "tag with space"])
def test_invalid_tags_are_refused(tag: str) -> None:
    with pytest.raises(bump.BumpError, match="invalid image tag"):
        bump.bump_text("image:\n  tag: old\n", tag)


def test_cli_check_mode_and_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "values.yaml"
    path.write_text(VALUES)
    assert bump.main(["--check", "--tag", "abc", str(path)]) == 1
    assert path.read_text() == VALUES  # --check writes nothing
    assert bump.main(["--tag", "abc", str(path)]) == 0
    assert "'0.1.0' -> 'abc' (updated)" in capsys.readouterr().out
    mtime = path.stat().st_mtime_ns
    assert bump.main(["--check", "--tag", "abc", str(path)]) == 0
    assert bump.main(["--tag", "abc", str(path)]) == 0
    assert path.stat().st_mtime_ns == mtime  # an unchanged file is not rewritten
    assert "already 'abc'" in capsys.readouterr().out
    assert bump.main(["--tag", "a/b", str(path)]) == 2
    assert bump.main(["--tag", "abc", str(tmp_path / "missing.yaml")]) == 2


def test_regional_values_files_of_the_chart(tmp_path: Path) -> None:
    """On copies of helm/nexus/values-primary.yaml and values-dr.yaml: only image.tag changes."""
    sources = [REPO / "helm" / "nexus" / f"values-{r}.yaml" for r in ("primary", "dr")]
    copies = []
    for src in sources:
        dst = tmp_path / src.name
        shutil.copy(src, dst)
        copies.append(dst)
    assert bump.main(["--tag", "4f2a9c1b7e3d", *map(str, copies)]) == 0
    for src, dst in zip(sources, copies, strict=True):
        before, after = yaml.safe_load(src.read_text()), yaml.safe_load(dst.read_text())
        assert after["image"]["tag"] == "4f2a9c1b7e3d"
        after["image"]["tag"] = before["image"]["tag"]
        assert after == before
        assert [x for x in changed_lines(src.read_text(), dst.read_text()) if "tag:" not in x[0]] == []
