"""The core and imaging Lambda layers, built by pip on this machine instead of in Docker."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.paths import ASSET_EXCLUDES, LAYERS_DIR

RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64

# manylinux_2_28 matches Amazon Linux 2023 (python3.12+ runtimes). manylinux2014 is only a
# fallback: with it pip silently resolves older Pillow releases.
_PLATFORMS = ("manylinux_2_28_aarch64", "manylinux2014_aarch64")
_PYTHON_VERSION = "3.13"
# The AWS SDK ships in the core layer, pinned (layers/core/requirements.txt), rather than
# taken from the runtime: /opt/python comes before the runtime's own packages on sys.path,
# so whatever pip puts here (pynamodb pulls botocore with urllib3, jmespath, dateutil and
# six) would shadow part of the runtime's boto3 anyway, and imgpro.fetching needs urllib3
# 2 (BaseHTTPResponse), which the runtime does not promise. Shipping boto3, botocore,
# s3transfer and their dependencies at the versions the tests run with means one
# consistent SDK, the one tested (tests/infra/test_infra_layers.py checks the pins),
# whatever the runtime bundles this month. It costs about 25 MB unzipped of the 250.


@jsii.implements(cdk.ILocalBundling)
class PipLayerBundler:
    """Installs a requirements file for Lambda's platform into `<output>/python`.

    `packages` are local package folders copied next to the installed requirements.
    """

    def __init__(self, requirements: Path, *, packages: tuple[Path, ...] = ()) -> None:
        self.requirements = requirements
        self.packages = packages

    def try_bundle(self, output_dir: str, *, image: cdk.DockerImage, **kwargs: Any) -> bool:
        target = Path(output_dir) / "python"
        self._install(target)
        for package in self.packages:
            shutil.copytree(
                package,
                target / package.name,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            )
        # Returning False would make CDK fall back to Docker; a failure raises instead.
        return True

    def _install(self, target: Path) -> None:
        errors: list[str] = []
        for platform in _PLATFORMS:
            shutil.rmtree(target, ignore_errors=True)
            result = subprocess.run(
                self._pip_command(target, platform),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                check=False,
            )
            if result.returncode == 0:
                return
            errors.append(f"--platform {platform}:\n{result.stdout[-2000:]}")
        raise RuntimeError(
            f"pip could not install {self.requirements} for Lambda:\n" + "\n".join(errors)
        )

    def _pip_command(self, target: Path, platform: str) -> list[str]:
        return [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
            str(self.requirements),
            "-t",
            str(target),
            "--platform",
            platform,
            "--implementation",
            "cp",
            "--python-version",
            _PYTHON_VERSION,
            "--only-binary=:all:",
            "--no-compile",
        ]


def _layer(
    scope: Construct, construct_id: str, *, source: Path, bundler: PipLayerBundler, description: str
) -> lambda_.LayerVersion:
    return lambda_.LayerVersion(
        scope,
        construct_id,
        code=lambda_.Code.from_asset(
            str(source),
            exclude=ASSET_EXCLUDES,
            bundling=cdk.BundlingOptions(
                # Required by the API, never pulled: the local bundler always succeeds or raises.
                image=RUNTIME.bundling_image,
                local=bundler,
            ),
        ),
        compatible_runtimes=[RUNTIME],
        compatible_architectures=[ARCHITECTURE],
        description=description,
    )


class Layers(Construct):
    """`core` goes on every function; `imaging` (Pillow) only on those that decode images."""

    def __init__(
        self, scope: Construct, construct_id: str, *, layers_dir: Path = LAYERS_DIR
    ) -> None:
        super().__init__(scope, construct_id)
        core_dir = layers_dir / "core"
        imaging_dir = layers_dir / "imaging"
        self.core = _layer(
            self,
            "Core",
            source=core_dir,
            bundler=PipLayerBundler(
                core_dir / "requirements.txt", packages=(core_dir / "python" / "imgpro",)
            ),
            description="imgpro domain package with its pure-Python dependencies",
        )
        self.imaging = _layer(
            self,
            "Imaging",
            source=imaging_dir,
            bundler=PipLayerBundler(imaging_dir / "requirements.txt"),
            description="Pillow, for the functions that decode images",
        )
