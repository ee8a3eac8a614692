"""Where the deployable sources live, resolved from this file so synth works from any cwd."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = PROJECT_ROOT / "functions"
LAYERS_DIR = PROJECT_ROOT / "layers"

# Kept out of asset hashes, so a test run or a local import does not change what deploys.
ASSET_EXCLUDES = ["**/__pycache__", "**/*.pyc", "**/*.egg-info", ".pytest_cache"]
