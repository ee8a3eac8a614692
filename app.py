#!/usr/bin/env python3
"""CDK entry point: `cdk synth` / `cdk deploy` run this through cdk.json."""

from __future__ import annotations

import sys
from pathlib import Path

# The domain package lives in the core layer's folder; make it importable even when the
# project has not been pip-installed (a fresh clone running `npx cdk synth`).
sys.path.insert(0, str(Path(__file__).resolve().parent / "layers" / "core" / "python"))

import aws_cdk as cdk

from infra.stack import ImgProStack

app = cdk.App()
ImgProStack(app, "ImgPro", description="imgpro: self-hostable image hosting API")
app.synth()
