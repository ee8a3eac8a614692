"""POST /v1/upload/direct and the worker that processes what lands in incoming/."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote_plus, urlsplit

import boto3
import pytest

from tests.conftest import BUCKET
from tests.support import images
from tests.support.gateway import FakeContext, handler_module


def _announce(api, size: int = 1000, token: str = "acme", **fields):
    body = {"name": "big.png", "filesize": size, **fields}
    return api.post("/v1/upload/direct", token=token, json_body=body)


def _land(uid: str, data: bytes) -> None:
    """What S3 does when the client's presigned POST succeeds, then its event."""
    key = f"incoming/{uid}"
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=data)
    event = {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Post",
                "s3": {
                    "bucket": {"name": BUCKET, "arn": f"arn:aws:s3:::{BUCKET}"},
                    "object": {"key": quote_plus(key, safe="/"), "size": len(data)},
                },
            }
        ]
    }
    handler_module("process_upload").handler(event, FakeContext())


def _keys() -> list[str]:
    listing = boto3.client("s3").list_objects_v2(Bucket=BUCKET)
    return sorted(obj["Key"] for obj in listing.get("Contents", []))


def test_announcing_creates_processing_media_with_a_presigned_post(api) -> None:
    response = _announce(api, 5000, tags="big", public="1")
    assert response.status == 201
    body = response.json()
    assert body["status"] == "processing"
    assert {"src", "width", "height", "filesize"}.isdisjoint(body)
    assert body["tags"] == ["big"] and "url" in body
    upload = body["upload"]
    assert upload["fields"]["key"] == f"incoming/{body['id']}"
    assert upload["expires_at"] > 0 and upload["url"]
    policy = json.loads(base64.b64decode(upload["fields"]["policy"]))
    assert ["content-length-range", 1, 5000] in policy["conditions"]
    assert {"key": f"incoming/{body['id']}"} in policy["conditions"]


def test_processing_media_is_listed_and_fetchable_with_its_status(api) -> None:
    uid = _announce(api).json()["id"]
    assert api.get(f"/v1/media/{uid}", token="acme").json()["status"] == "processing"
    assert uid in [m["id"] for m in api.get("/v1/media", token="acme").json()["data"]]


def test_a_processed_upload_becomes_ready_with_its_fields(api) -> None:
    data = images.encode(images.noise((300, 200)), "BMP")
    uid = _announce(api, len(data)).json()["id"]
    _land(uid, data)
    body = api.get(f"/v1/media/{uid}", token="acme").json()
    assert "status" not in body
    assert (body["width"], body["height"]) == (300, 200)
    assert body["name"] == "big.webp" and urlsplit(body["src"]).path.endswith(f"/{uid}.webp")
    assert _keys() == [f"private/o/{uid}.webp"]


def test_an_upload_that_is_not_an_image_ends_failed(api) -> None:
    uid = _announce(api).json()["id"]
    _land(uid, b"this is not an image at all")
    body = api.get(f"/v1/media/{uid}", token="acme").json()
    assert body["status"] == "failed"
    assert {"src", "width", "height", "filesize"}.isdisjoint(body)
    assert _keys() == []


def test_an_upload_larger_than_declared_ends_failed(api) -> None:
    data = images.png()
    uid = _announce(api, len(data) - 1).json()["id"]
    _land(uid, data)
    assert api.get(f"/v1/media/{uid}", token="acme").json()["status"] == "failed"


def test_a_repeated_event_changes_nothing(api, clock) -> None:
    # The clock is frozen so the private `src` (its signature carries an expiry time) is
    # the same in both answers.
    data = images.png()
    uid = _announce(api, len(data)).json()["id"]
    _land(uid, data)
    first = api.get(f"/v1/media/{uid}", token="acme").json()
    _land(uid, images.jpeg())  # a late or duplicate event with other bytes
    assert api.get(f"/v1/media/{uid}", token="acme").json() == first
    assert _keys() == [f"private/o/{uid}.png"]


def test_an_upload_for_deleted_media_is_discarded(api) -> None:
    uid = _announce(api).json()["id"]
    api.delete(f"/v1/media/{uid}", token="acme")
    _land(uid, images.png())
    assert _keys() == []


def test_deleting_processing_media_removes_its_pending_upload(api) -> None:
    uid = _announce(api).json()["id"]
    boto3.client("s3").put_object(Bucket=BUCKET, Key=f"incoming/{uid}", Body=b"partial")
    api.delete(f"/v1/media/{uid}", token="acme")
    assert _keys() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"filesize": 10}, "name"),
        ({"name": "a.jpg"}, "filesize"),
        ({"name": "a.jpg", "filesize": 0}, "filesize"),
        ({"name": "a.jpg", "filesize": 100 * 1024 * 1024 + 1}, "filesize"),
        ({"name": "a.jpg", "filesize": "big"}, "filesize"),
        ({"name": "a.jpg", "filesize": 10, "ttl": "1m"}, "ttl"),
    ],
)
def test_announcements_are_validated_like_uploads(api, body, field) -> None:
    response = api.post("/v1/upload/direct", token="acme", json_body=body)
    assert response.status == 400
    assert list(response.json()["errors"]) == [field]


def test_announcing_needs_the_write_ability(api) -> None:
    assert _announce(api, token="acme-read").status == 403


def test_announcing_is_idempotent_with_a_key(api) -> None:
    body = {"name": "a.png", "filesize": 10}
    headers = {"Idempotency-Key": "direct-1"}
    first = api.post("/v1/upload/direct", token="acme", json_body=body, headers=headers)
    again = api.post("/v1/upload/direct", token="acme", json_body=body, headers=headers)
    assert first.body == again.body
    assert len(api.get("/v1/media", token="acme").json()["data"]) == 1
