from __future__ import annotations

import importlib.metadata
import os
import subprocess
from pathlib import Path

import aws_cdk as cdk
import pytest

from infra.layers import PipLayerBundler
from infra.paths import LAYERS_DIR

pytestmark = pytest.mark.infra

IMAGE = cdk.DockerImage.from_registry("never-pulled")


class _FakePip:
    """Records pip command lines; fails for the platforms it is told to refuse."""

    def __init__(self, *, refuse: tuple[str, ...] = ()) -> None:
        self.refuse = refuse
        self.platforms: list[str] = []

    def __call__(self, command: list[str], **kwargs) -> subprocess.CompletedProcess:
        platform = command[command.index("--platform") + 1]
        self.platforms.append(platform)
        target = Path(command[command.index("-t") + 1])
        target.mkdir(parents=True, exist_ok=True)
        code = 1 if platform in self.refuse else 0
        if not code:
            for name in ("pynamodb", "botocore", "boto3", "s3transfer"):
                (target / name).mkdir()
            (target / "botocore-1.0.0.dist-info").mkdir()
        return subprocess.CompletedProcess(command, code, stdout=f"pip said {code}")


@pytest.fixture
def requirements(tmp_path: Path) -> Path:
    path = tmp_path / "requirements.txt"
    path.write_text("pynamodb==6.1.0\n")
    return path


def test_bundler_installs_cpython_313_wheels_for_manylinux_2_28_aarch64(
    monkeypatch: pytest.MonkeyPatch, requirements: Path, tmp_path: Path
) -> None:
    commands: list[list[str]] = []

    def pip(command: list[str], **kwargs) -> subprocess.CompletedProcess:
        commands.append(command)
        return subprocess.CompletedProcess(command, 0, stdout="")

    monkeypatch.setattr(subprocess, "run", pip)
    PipLayerBundler(requirements).try_bundle(str(tmp_path / "out"), image=IMAGE)
    (command,) = commands
    assert command[command.index("--platform") + 1] == "manylinux_2_28_aarch64"
    assert command[command.index("--python-version") + 1] == "3.13"
    assert command[command.index("--implementation") + 1] == "cp"
    assert command[command.index("-t") + 1] == str(tmp_path / "out" / "python")
    assert {"--only-binary=:all:", "--no-compile"} <= set(command)


def test_bundler_falls_back_to_manylinux2014(
    monkeypatch: pytest.MonkeyPatch, requirements: Path, tmp_path: Path
) -> None:
    pip = _FakePip(refuse=("manylinux_2_28_aarch64",))
    monkeypatch.setattr(subprocess, "run", pip)
    assert PipLayerBundler(requirements).try_bundle(str(tmp_path), image=IMAGE) is True
    assert pip.platforms == ["manylinux_2_28_aarch64", "manylinux2014_aarch64"]


def test_bundler_raises_rather_than_falling_back_to_docker(
    monkeypatch: pytest.MonkeyPatch, requirements: Path, tmp_path: Path
) -> None:
    pip = _FakePip(refuse=("manylinux_2_28_aarch64", "manylinux2014_aarch64"))
    monkeypatch.setattr(subprocess, "run", pip)
    with pytest.raises(RuntimeError, match="pip said 1"):
        PipLayerBundler(requirements).try_bundle(str(tmp_path), image=IMAGE)


def test_bundler_keeps_the_pinned_aws_sdk(
    monkeypatch: pytest.MonkeyPatch, requirements: Path, tmp_path: Path
) -> None:
    monkeypatch.setattr(subprocess, "run", _FakePip())
    PipLayerBundler(requirements).try_bundle(str(tmp_path), image=IMAGE)
    assert {"boto3", "botocore", "s3transfer", "pynamodb"} <= {
        p.name for p in (tmp_path / "python").iterdir()
    }


@pytest.mark.parametrize(
    "name", ["boto3", "botocore", "s3transfer", "urllib3", "jmespath", "python-dateutil", "six"]
)
def test_core_layer_ships_the_sdk_the_tests_run_with(name: str) -> None:
    pins = dict(
        line.split("==")
        for line in (LAYERS_DIR / "core" / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    assert pins[name] == importlib.metadata.version(name)


def test_bundler_copies_local_packages_without_bytecode(
    monkeypatch: pytest.MonkeyPatch, requirements: Path, tmp_path: Path
) -> None:
    package = tmp_path / "src" / "mypkg"
    (package / "__pycache__").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "__pycache__" / "__init__.cpython-313.pyc").write_bytes(b"")
    monkeypatch.setattr(subprocess, "run", _FakePip())
    PipLayerBundler(requirements, packages=(package,)).try_bundle(
        str(tmp_path / "out"), image=IMAGE
    )
    copied = tmp_path / "out" / "python" / "mypkg"
    assert [p.name for p in copied.iterdir()] == ["__init__.py"]


@pytest.mark.skipif(
    os.environ.get("IMGPRO_TEST_LAYER_BUILD") != "1",
    reason="downloads wheels from PyPI; set IMGPRO_TEST_LAYER_BUILD=1",
)
def test_core_layer_build_holds_the_package_and_its_dependencies(tmp_path: Path) -> None:
    core = LAYERS_DIR / "core"
    bundler = PipLayerBundler(core / "requirements.txt", packages=(core / "python" / "imgpro",))
    assert bundler.try_bundle(str(tmp_path), image=IMAGE) is True
    assert (tmp_path / "python" / "imgpro" / "__init__.py").is_file()
    assert (tmp_path / "python" / "pynamodb").is_dir()
    assert (tmp_path / "python" / "aws_lambda_powertools").is_dir()
    assert (tmp_path / "python" / "botocore").is_dir()
