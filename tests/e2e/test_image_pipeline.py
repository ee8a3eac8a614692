"""The image pipeline over the local stack: every input format, SVG, the large-upload flow."""

from __future__ import annotations

import io
import os
import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
import requests
from PIL import Image

from tests.support.images import encode, noise

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalStackProcess

pytestmark = pytest.mark.e2e

FORMATS = [
    ("JPEG", "jpg", "image/jpeg", "JPEG"),
    ("PNG", "png", "image/png", "PNG"),
    ("GIF", "gif", "image/gif", "GIF"),
    ("WEBP", "webp", "image/webp", "WEBP"),
    ("HEIF", "webp", "image/webp", "WEBP"),
    ("AVIF", "webp", "image/webp", "WEBP"),
    ("TIFF", "webp", "image/webp", "WEBP"),
    ("BMP", "webp", "image/webp", "WEBP"),
]


def _auth(stack: LocalStackProcess) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.tokens['acme:*']}"}


@pytest.mark.parametrize(("fmt", "ext", "content_type", "served_as"), FORMATS)
def test_each_input_format_is_served_as_promised(
    local_stack, fmt, ext, content_type, served_as
) -> None:
    data = encode(noise((120, 80)), fmt)
    response = requests.post(
        f"{local_stack.base_url}/v1/upload",
        headers=_auth(local_stack),
        files={"file": ("upload", data)},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["width"], body["height"]) == (120, 80)
    assert urlsplit(body["src"]).path.endswith(f".{ext}") and body["name"] == f"upload.{ext}"
    served = requests.get(body["src"], timeout=10)
    assert served.status_code == 200
    assert served.headers["Content-Type"] == content_type
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert int(served.headers["Content-Length"]) == body["filesize"] == len(served.content)
    with Image.open(io.BytesIO(served.content)) as image:
        assert image.format == served_as and image.size == (120, 80)


def test_an_svg_is_sanitized_and_served_under_a_csp(local_stack) -> None:
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30" onload="alert(1)">'
        b'<script>alert(2)</script><rect width="40" height="30" fill="red"/></svg>'
    )
    response = requests.post(
        f"{local_stack.base_url}/v1/upload",
        headers=_auth(local_stack),
        files={"file": ("logo.svg", svg)},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["width"], body["height"]) == (40, 30)
    assert urlsplit(body["src"]).path.endswith(".svg")
    served = requests.get(body["src"], timeout=10)
    assert served.headers["Content-Type"] == "image/svg+xml"
    assert "default-src 'none'" in served.headers["Content-Security-Policy"]
    assert b"<rect" in served.content
    assert b"script" not in served.content and b"onload" not in served.content


def test_a_hostile_file_is_a_400_over_http(local_stack) -> None:
    response = requests.post(
        f"{local_stack.base_url}/v1/upload",
        headers=_auth(local_stack),
        files={"file": ("x.jpg", encode(noise((50, 50)), "JPEG")[:900])},
        timeout=30,
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["file"]


def test_a_body_over_the_lambda_limit_is_api_gateways_own_413(local_stack) -> None:
    # API Gateway answers it in its own words, as deployed (no gateway response can
    # change them); below it the upload function's JSON 413 names the direct flow.
    response = requests.post(
        f"{local_stack.base_url}/v1/upload",
        headers=_auth(local_stack),
        files={"file": ("big.bmp", os.urandom(7 * 1024 * 1024))},
        timeout=60,
    )
    assert response.status_code == 413
    assert response.json() == {"message": "Request Too Long"}


def _wait_until_settled(stack: LocalStackProcess, uid: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = requests.get(
            f"{stack.base_url}/v1/media/{uid}", headers=_auth(stack), timeout=10
        ).json()
        if body.get("status") != "processing" or time.monotonic() > deadline:
            return body
        time.sleep(0.25)


def _direct_upload(stack: LocalStackProcess, name: str, data: bytes, size: int) -> dict:
    announced = requests.post(
        f"{stack.base_url}/v1/upload/direct",
        headers=_auth(stack),
        json={"name": name, "filesize": size},
        timeout=30,
    )
    assert announced.status_code == 201, announced.text
    body = announced.json()
    assert body["status"] == "processing"
    upload = body["upload"]
    posted = requests.post(
        upload["url"], data=upload["fields"], files={"file": (name, data)}, timeout=120
    )
    return {"media": body, "posted": posted}


def test_a_50_mb_file_goes_through_the_large_upload_flow_and_ends_ready(local_stack) -> None:
    # A 50 MB BMP (4100 x 4100 x 3 bytes): too big for POST /v1/upload, fine for the flow.
    seed = Image.frombytes("RGB", (410, 410), os.urandom(410 * 410 * 3))
    data = encode(seed.resize((4100, 4100), Image.Resampling.BICUBIC), "BMP")
    assert len(data) > 50_000_000
    result = _direct_upload(local_stack, "scan.bmp", data, len(data))
    assert result["posted"].status_code in (200, 201, 204), result["posted"].text
    body = _wait_until_settled(local_stack, result["media"]["id"])
    assert "status" not in body, body
    assert (body["width"], body["height"]) == (4100, 4100)
    assert body["name"] == "scan.webp"
    served = requests.get(body["src"], timeout=30)
    assert served.headers["Content-Type"] == "image/webp"
    assert Image.open(io.BytesIO(served.content)).size == (4100, 4100)


def test_a_direct_upload_over_its_declared_size_is_refused_by_the_policy(local_stack) -> None:
    result = _direct_upload(local_stack, "a.png", encode(noise((64, 64)), "PNG"), 100)
    assert result["posted"].status_code == 400
    assert b"EntityTooLarge" in result["posted"].content
    body = requests.get(
        f"{local_stack.base_url}/v1/media/{result['media']['id']}",
        headers=_auth(local_stack),
        timeout=10,
    ).json()
    assert body["status"] == "processing"  # nothing landed, nothing processed


def test_a_direct_upload_that_is_not_an_image_ends_failed(local_stack) -> None:
    junk = b"not an image " * 100
    result = _direct_upload(local_stack, "a.png", junk, len(junk))
    assert result["posted"].status_code in (200, 201, 204)
    assert _wait_until_settled(local_stack, result["media"]["id"])["status"] == "failed"
