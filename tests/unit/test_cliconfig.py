from __future__ import annotations

from pathlib import Path

import pytest

from nexus_platform.errors import NexusError
from nexus_platform.terraform import cliconfig


def make_mirror(base: Path) -> Path:
    platform = base / "registry.terraform.io" / "hashicorp" / "aws" / "5.100.0" / "linux_amd64"
    platform.mkdir(parents=True)
    (platform / "terraform-provider-aws_v5.100.0_x5").write_text("")
    return base


def test_finds_a_mirror_below_a_search_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(cliconfig.MIRROR_ENV, raising=False)
    mirror = make_mirror(tmp_path / "opt" / "tf-plugins")
    assert cliconfig.find_mirror((str(tmp_path / "nowhere"), str(tmp_path / "opt"))) == mirror


def test_no_mirror_means_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(cliconfig.MIRROR_ENV, raising=False)
    (tmp_path / "empty" / "registry.terraform.io").mkdir(parents=True)  # a host folder with no provider
    assert cliconfig.find_mirror((str(tmp_path),)) is None
    assert "filesystem_mirror" not in cliconfig.render(None)


def test_env_var_names_the_mirror_and_is_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mirror = make_mirror(tmp_path / "m")
    monkeypatch.setenv(cliconfig.MIRROR_ENV, str(mirror / "registry.terraform.io"))
    assert cliconfig.find_mirror(()) == mirror
    monkeypatch.setenv(cliconfig.MIRROR_ENV, str(tmp_path / "not-a-mirror"))
    with pytest.raises(NexusError, match="not a provider mirror"):
        cliconfig.find_mirror(())


def test_written_config_routes_registry_providers_to_the_mirror(tmp_path: Path) -> None:
    mirror = make_mirror(tmp_path / "m")
    target = cliconfig.write(tmp_path / "rc", mirror)
    text = target.read_text()
    assert f'path    = "{mirror}"' in text
    assert 'exclude = ["registry.terraform.io/*/*"]' in text
    before = target.stat().st_mtime_ns
    cliconfig.write(target, mirror)  # unchanged content is not rewritten
    assert target.stat().st_mtime_ns == before


def test_environment_disables_checkpoint(tmp_path: Path) -> None:
    env = cliconfig.environment(tmp_path / "rc")
    assert env["CHECKPOINT_DISABLE"] == "1"
    assert env["TF_CLI_CONFIG_FILE"] == str(tmp_path / "rc")
