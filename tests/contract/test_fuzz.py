"""The local stack answers only what its OpenAPI document describes (schemathesis)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FUZZ = Path(__file__).with_name("fuzz.py")

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(600)
def test_local_stack_answers_only_what_its_openapi_document_describes() -> None:
    """Examples, coverage, fuzzing and stateful phases (upload -> get -> update -> delete
    through the document's links): no 500, no status, header, content type or body the
    document does not describe. In a network namespace with only loopback, because the
    fuzzer imports made-up URLs."""
    unshare = shutil.which("unshare")
    assert unshare, "util-linux's unshare is needed to fuzz in a loopback-only namespace"
    result = subprocess.run(
        [unshare, "--net", sys.executable, str(FUZZ)],
        env={**os.environ, "IMGPRO_FUZZ_IN_NAMESPACE": "1"},
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
