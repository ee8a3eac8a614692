"""What each function's handler module loads at cold start, in a fresh interpreter.

A cold start is mostly imports (bench/cold_start.py measures them); these tests pin the
structure that keeps it short: a route loads the code of its own route and not the
upload path, the form parser, idempotency, signing, resumable uploads, Pillow or
Pydantic unless it uses them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ROOT / "functions"
LAYER = ROOT / "layers" / "core" / "python"

CHILD = """
import json, sys
sys.path.insert(0, sys.argv[1])
before = set(sys.modules)
import handler
print(json.dumps(sorted(set(sys.modules) - before)))
"""

ALL_FUNCTIONS = sorted(p.name for p in FUNCTIONS.iterdir() if (p / "handler.py").is_file())
READERS = ("get_media", "share", "list_media", "service_info")
ENDPOINT_MODULES = {
    "service_info": "service",
    "get_media": "reading",
    "share": "reading",
    "list_media": "listing",
    "update_media": "changing",
    "delete_media": "changing",
    "batch_update": "changing",
    "batch_delete": "changing",
    "upload": "uploading",
    "upload_direct": "uploading",
    "import_url": "uploading",
    **{name: "resumable" for name in ALL_FUNCTIONS if name.startswith("multipart_")},
}
WRITE_PATHS = (
    "imgpro.media.creating",
    "imgpro.media.changing",
    "imgpro.storage",
    "imgpro.idempotency",
    "imgpro.http.multipart",
    "python_multipart",
    "imgpro.signing",
    "imgpro.resumable",
    "imgpro.naming",
)
DECODERS = ("PIL", "pillow_heif", "imgpro.imaging.raster", "imgpro.imaging.pipeline")


@cache
def loaded(function: str) -> frozenset[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(LAYER),
        "AWS_DEFAULT_REGION": "us-east-1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(FUNCTIONS / function)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return frozenset(json.loads(done.stdout))


@pytest.mark.parametrize("function", READERS)
def test_a_read_route_loads_no_upload_change_form_idempotency_or_signing_code(
    function: str,
) -> None:
    assert sorted(set(WRITE_PATHS) & loaded(function)) == []


@pytest.mark.parametrize("function", ALL_FUNCTIONS)
def test_no_handler_loads_an_image_decoder_at_cold_start(function: str) -> None:
    # The functions that decode images import Pillow inside the call that needs it.
    assert sorted(set(DECODERS) & loaded(function)) == []


@pytest.mark.parametrize("function", sorted(ENDPOINT_MODULES))
def test_a_route_loads_only_its_own_endpoints_module(function: str) -> None:
    own = f"imgpro.endpoints.{ENDPOINT_MODULES[function]}"
    others = {m for m in loaded(function) if m.startswith("imgpro.endpoints.")} - {own}
    # Changing routes share the path parameter's reader with the read routes.
    allowed = {"imgpro.endpoints.reading"} if ENDPOINT_MODULES[function] == "changing" else set()
    assert own in loaded(function)
    assert others <= allowed


@pytest.mark.parametrize("function", sorted(set(ALL_FUNCTIONS) - {"openapi"}))
def test_only_the_openapi_route_loads_pydantic(function: str) -> None:
    assert "pydantic" not in loaded(function)


def test_get_media_loads_only_the_media_reading_use_case() -> None:
    media = {m for m in loaded("get_media") if m.startswith("imgpro.media.")}
    assert media == {"imgpro.media.reading", "imgpro.media.records", "imgpro.media.store"}
