"""Ephemeral media on the local stack: once its TTL passes (the test moves the stack's
clock over HTTP), the TTL emulator deletes the item and the expiry worker its bytes, so
the local CDN answers 404 for the original and every variant, on both sides."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import boto3
import pytest
import requests

from tests.e2e.conftest import STRICT_IMPORTS, TRACEBACK, _running_stack
from tests.support.images import encode, photo

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalStackProcess

pytestmark = pytest.mark.e2e

BUCKET = "imgpro-local"
ACCEPT_WEBP = {"Accept": "image/avif,image/webp,*/*;q=0.8"}
ACCEPT_LEGACY = {"Accept": "image/png,image/*;q=0.8"}
GONE_WITHIN_S = 15
"""The emulator runs every second; the rest is the worker's few calls to moto."""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackProcess]:
    """A stack of this module's own: moving its clock must not expire other tests' media."""
    yield from _running_stack(tmp_path_factory.mktemp("expiry"), flags=STRICT_IMPORTS)


def _upload(stack: LocalStackProcess, **fields: str) -> dict:
    response = requests.post(
        f"{stack.base_url}/v1/upload",
        headers={"Authorization": f"Bearer {stack.tokens['acme:*']}"},
        files={"file": ("photo.jpg", encode(photo((800, 600)), "JPEG"))},
        data=fields,
        timeout=60,
    )
    assert response.status_code == 201, response.text
    return response.json()


def _objects(stack: LocalStackProcess, uid: str) -> set[str]:
    s3 = boto3.client(
        "s3",
        endpoint_url=stack.aws_endpoint,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        region_name="us-east-1",
    )
    listed = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return {obj["Key"] for obj in listed if uid in obj["Key"]}


def _status(url: str, headers: dict[str, str] | None = None) -> int:
    return requests.get(url, headers=headers or {}, timeout=30).status_code


def test_expired_media_disappears_from_the_local_cdn(stack: LocalStackProcess) -> None:
    mark = stack.output_mark()
    public = _upload(stack, public="1", ttl="5m")
    private = _upload(stack, public="0", ttl="5m")
    keeper = _upload(stack, public="1")
    variant = f"{public['src']}?size=s"
    for accept in (ACCEPT_WEBP, ACCEPT_LEGACY):
        assert _status(variant, accept) == 200
    assert _status(private["src"]) == 200
    uid = public["id"]
    assert _objects(stack, uid) == {f"o/{uid}.jpg", f"v/{uid}/s.webp", f"v/{uid}/s.jpg"}
    assert _objects(stack, private["id"]) == {f"private/o/{private['id']}.jpg"}

    moved = requests.post(
        f"{stack.base_url}/_local/clock", json={"advance_seconds": 301}, timeout=10
    )
    assert moved.status_code == 200 and moved.json()["offset_seconds"] == 301

    deadline = time.monotonic() + GONE_WITHIN_S
    while _status(public["src"]) != 404:
        assert time.monotonic() < deadline, "the expired original is still served"
        time.sleep(0.2)
    for accept in (ACCEPT_WEBP, ACCEPT_LEGACY):
        assert _status(variant, accept) == 404
    while _objects(stack, uid) or _objects(stack, private["id"]):
        assert time.monotonic() < deadline, "objects of expired media are still stored"
        time.sleep(0.2)
    assert _status(private["src"]) == 404  # still signed and unexpired: the bytes are gone
    assert _status(keeper["src"]) == 200
    token = {"Authorization": f"Bearer {stack.tokens['acme:*']}"}
    assert (
        requests.get(f"{stack.base_url}/v1/media/{uid}", headers=token, timeout=10).status_code
        == 404
    )
    assert TRACEBACK not in stack.output_since(mark)
