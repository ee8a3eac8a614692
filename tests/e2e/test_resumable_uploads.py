"""Resumable uploads over HTTP on the local stack, as Uppy's `@uppy/aws-s3` makes them:
the routes under /v1/uploads/s3/multipart, the parts PUT to their presigned S3 URLs."""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING, Any

import pytest
import requests

from tests.e2e.test_quotas import _token
from tests.support import images

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalStackProcess

pytestmark = pytest.mark.e2e

PART = 5 * 1024 * 1024
ORIGIN = "http://pages.example"


class Uploader:
    def __init__(self, stack: LocalStackProcess, token: str) -> None:
        self.base = f"{stack.base_url}/v1/uploads/s3/multipart"
        self.headers = {"Authorization": f"Bearer {token}"}

    def start(self, data: bytes, **metadata: Any) -> requests.Response:
        body = {
            "filename": "big.png",
            "type": "image/png",
            "metadata": {"size": len(data), **metadata},
        }
        return requests.post(self.base, json=body, headers=self.headers, timeout=30)

    def sign(self, started: dict[str, Any], number: int) -> requests.Response:
        return requests.get(
            f"{self.base}/{started['uploadId']}/{number}",
            params={"key": started["key"]},
            headers=self.headers,
            timeout=30,
        )

    def put(self, started: dict[str, Any], data: bytes, numbers: range) -> list[dict[str, Any]]:
        parts = []
        for number in numbers:
            signed = self.sign(started, number)
            assert signed.status_code == 200, signed.text
            chunk = data[(number - 1) * PART : number * PART]
            # As a browser does: cross-origin, reading the ETag CORS exposes.
            sent = requests.put(signed.json()["url"], data=chunk, headers={"Origin": ORIGIN})
            assert sent.status_code == 200, sent.text
            assert "ETag" in sent.headers.get("Access-Control-Expose-Headers", "")
            parts.append({"PartNumber": number, "ETag": sent.headers["ETag"]})
        return parts

    def listed(self, started: dict[str, Any]) -> requests.Response:
        return requests.get(
            f"{self.base}/{started['uploadId']}",
            params={"key": started["key"]},
            headers=self.headers,
            timeout=30,
        )

    def complete(self, started: dict[str, Any], parts: list[dict[str, Any]]) -> requests.Response:
        return requests.post(
            f"{self.base}/{started['uploadId']}/complete",
            params={"key": started["key"]},
            json={"parts": parts},
            headers=self.headers,
            timeout=30,
        )

    def abort(self, started: dict[str, Any]) -> requests.Response:
        return requests.delete(
            f"{self.base}/{started['uploadId']}",
            params={"key": started["key"]},
            headers=self.headers,
            timeout=30,
        )

    def ready(self, location: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            media = requests.get(location, headers=self.headers, timeout=30).json()
            if "status" not in media:
                return media
            assert media["status"] == "processing", media
            time.sleep(0.2)
        raise AssertionError(f"{location} did not become ready")


@pytest.fixture(scope="module")
def big_png() -> bytes:
    data = images.encode(images.noise((2900, 2400)), "PNG")
    assert 3 * PART < len(data) < 5 * PART
    return data


def _parts(data: bytes) -> int:
    return -(-len(data) // PART)


def test_an_upload_sent_in_parts_resumes_and_becomes_the_same_bytes(local_stack, big_png) -> None:
    uploader = Uploader(local_stack, local_stack.tokens["acme:*"])
    started = uploader.start(big_png, tags="resumable")
    assert started.status_code == 201, started.text
    upload = started.json()
    first = uploader.put(upload, big_png, range(1, 3))
    # The client went away; on its return it asks what S3 has and sends only the rest.
    listed = uploader.listed(upload).json()
    assert [p["PartNumber"] for p in listed] == [1, 2]
    rest = uploader.put(upload, big_png, range(3, _parts(big_png) + 1))
    completed = uploader.complete(upload, first + rest)
    assert completed.status_code == 200, completed.text
    media = uploader.ready(completed.json()["location"])
    assert media["tags"] == ["resumable"] and media["filesize"] == len(big_png)
    stored = requests.get(media["src"], timeout=30).content
    assert hashlib.sha256(stored).digest() == hashlib.sha256(big_png).digest()


def test_another_teams_token_cannot_sign_a_part_of_an_upload(local_stack) -> None:
    owner = Uploader(local_stack, local_stack.tokens["acme:*"])
    upload = owner.start(b"x" * 1000).json()
    intruder = Uploader(local_stack, local_stack.tokens["globex:*"])
    refused = intruder.sign(upload, 1)
    assert refused.status_code == 404 and refused.json()["code"] == "not_found"
    assert intruder.abort(upload).status_code == 404
    assert owner.sign(upload, 1).status_code == 200
    assert owner.abort(upload).status_code == 200


def test_an_aborted_upload_is_gone_with_its_media(local_stack) -> None:
    uploader = Uploader(local_stack, local_stack.tokens["acme:*"])
    upload = uploader.start(b"x" * PART).json()
    uploader.put(upload, b"x" * PART, range(1, 2))
    aborted = uploader.abort(upload)
    assert (aborted.status_code, aborted.json()) == (200, {})
    assert uploader.listed(upload).status_code == 404
    media = requests.get(
        f"{local_stack.base_url}/v1/media/{upload['media']['id']}",
        headers=uploader.headers,
        timeout=30,
    )
    assert media.status_code == 404


def test_an_upload_that_fits_the_storage_quota_exactly_completes_and_one_byte_more_is_refused(
    local_stack,
) -> None:
    data = images.encode(images.noise((300, 200)), "PNG")
    token = _token(local_stack, "quota-resumable", "--max-storage", str(len(data)))
    uploader = Uploader(local_stack, token)
    over = uploader.start(data + b"\0")
    assert over.status_code == 403 and over.json()["code"] == "quota_exceeded"
    started = uploader.start(data)
    assert started.status_code == 201, started.text
    upload = started.json()
    parts = uploader.put(upload, data, range(1, 2))
    completed = uploader.complete(upload, parts)
    assert completed.status_code == 200, completed.text
    media = uploader.ready(completed.json()["location"])
    assert media["filesize"] == len(data)
    full = uploader.start(b"x")
    assert full.status_code == 403 and full.json()["code"] == "quota_exceeded"
