"""Resumable uploads under /v1/uploads/s3/multipart (imgpro.resumable), through the real
handlers on moto. Parts go to S3 with boto3's UploadPart: the operation a presigned part
URL performs (the e2e tier PUTs to the URLs themselves)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest

from imgpro import processing, quotas
from tests.conftest import BUCKET
from tests.handlers.test_quotas import _set_counters, tiny  # noqa: F401 (a fixture)
from tests.support import images

BASE = "/v1/uploads/s3/multipart"
PART = 5 * 1024 * 1024


def _start(api, token: str = "acme", size: int | None = None, **metadata: Any):
    if size is not None:
        metadata["size"] = size
    body = {"filename": "big.png", "type": "image/png", "metadata": metadata}
    return api.post(BASE, token=token, json_body=body)


def _send(started: dict[str, Any], data: bytes, *, part_size: int = PART) -> list[dict]:
    client = boto3.client("s3")
    parts = []
    for number, offset in enumerate(range(0, len(data), part_size), start=1):
        sent = client.upload_part(
            Bucket=BUCKET,
            Key=started["key"],
            UploadId=started["uploadId"],
            PartNumber=number,
            Body=data[offset : offset + part_size],
        )
        parts.append({"PartNumber": number, "ETag": sent["ETag"]})
    return parts


def _route(started: dict[str, Any], tail: str = "") -> str:
    return f"{BASE}/{started['uploadId']}{tail}?key={started['key']}"


@pytest.fixture
def big_png() -> bytes:
    data = images.encode(images.noise((2600, 2000)), "PNG")
    assert len(data) > PART, len(data)
    return data


def test_opening_an_upload_makes_processing_media_and_an_s3_multipart_upload(api) -> None:
    response = _start(api, size=12_000_000, tags="big", public="1")
    assert response.status == 201
    body = response.json()
    media = body["media"]
    assert body["key"] == f"incoming/{media['id']}"
    assert media["status"] == "processing" and media["tags"] == ["big"] and "url" in media
    uploads = boto3.client("s3").list_multipart_uploads(Bucket=BUCKET)["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in uploads] == [(body["key"], body["uploadId"])]


def test_the_declared_size_is_reserved_from_the_quota(api) -> None:
    before = quotas.standing("acme", consistent=True).stored_bytes
    _start(api, size=12_000_000)
    assert quotas.standing("acme", consistent=True).stored_bytes == before + 12_000_000


def test_without_a_size_the_largest_upload_is_reserved(api) -> None:
    before = quotas.standing("acme", consistent=True).stored_bytes
    assert _start(api).status == 201
    assert quotas.standing("acme", consistent=True).stored_bytes == before + 100 * 1024 * 1024


def test_a_team_at_its_storage_limit_cannot_open_an_upload(api, tiny) -> None:  # noqa: F811
    _set_counters(stored=10**9 - 1000)
    response = _start(api, token="tiny", size=1001)
    assert response.status == 403 and response.json()["code"] == "quota_exceeded"
    assert boto3.client("s3").list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    assert _start(api, token="tiny", size=1000).status == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "image/png"}, "filename"),
        ({"filename": "a/b.png"}, "filename"),
        ({"filename": "a.png", "metadata": {"size": 0}}, "size"),
        ({"filename": "a.png", "metadata": {"size": 100 * 1024 * 1024 + 1}}, "size"),
        ({"filename": "a.png", "metadata": {"ttl": "1s"}}, "ttl"),
        ({"filename": "a.png", "metadata": "x"}, "metadata"),
    ],
)
def test_a_bad_opening_is_a_validation_error_on_its_field(api, body, field) -> None:
    response = api.post(BASE, token="acme", json_body=body)
    assert response.status == 400
    assert field in response.json()["errors"]


def test_every_route_needs_a_token_with_write(api) -> None:
    started = _start(api, size=1000).json()
    assert api.post(BASE, json_body={"filename": "a.png"}).status == 401
    assert _start(api, token="acme-read", size=1000).status == 403
    assert api.get(_route(started, "/1"), token="acme-read").status == 403
    assert api.get(_route(started)).status == 401


def test_a_part_url_is_a_presigned_put_of_that_part(api) -> None:
    started = _start(api, size=1000).json()
    response = api.get(_route(started, "/3"), token="acme")
    assert response.status == 200
    signed = response.json()
    assert signed["expires"] == 3600
    url = urlsplit(signed["url"])
    query = parse_qs(url.query)
    assert url.path.endswith(f"/{started['key']}")
    assert query["uploadId"] == [started["uploadId"]] and query["partNumber"] == ["3"]


def test_batch_signs_each_part_asked_for(api) -> None:
    started = _start(api, size=1000).json()
    response = api.get(_route(started, "/batch") + "&partNumbers=1,2,2,5", token="acme")
    assert response.status == 200
    urls = response.json()["presignedUrls"]
    assert sorted(urls) == ["1", "2", "5"]
    assert parse_qs(urlsplit(urls["5"]).query)["partNumber"] == ["5"]


@pytest.mark.parametrize("numbers", ["", "0", "10001", "a", ",".join(map(str, range(1, 102)))])
def test_batch_refuses_bad_part_numbers(api, numbers) -> None:
    started = _start(api, size=1000).json()
    response = api.get(_route(started, "/batch") + f"&partNumbers={numbers}", token="acme")
    assert response.status == 400


@pytest.mark.parametrize("number", ["0", "10001", "x"])
def test_a_bad_part_number_is_a_400(api, number) -> None:
    started = _start(api, size=1000).json()
    assert api.get(_route(started, f"/{number}"), token="acme").status == 400


def test_another_teams_token_cannot_reach_an_upload(api) -> None:
    started = _start(api, size=1000).json()
    for tail in ("", "/1", "/batch"):
        url = _route(started, tail) + ("&partNumbers=1" if tail == "/batch" else "")
        response = api.get(url, token="globex")
        assert response.status == 404 and response.json()["error"] == "Upload not found"
    assert api.delete(_route(started), token="globex").status == 404
    assert boto3.client("s3").list_multipart_uploads(Bucket=BUCKET)["Uploads"]


def test_a_key_cannot_be_steered_to_another_upload_or_object(api) -> None:
    first = _start(api, size=1000).json()
    second = _start(api, size=1000).json()
    crossed = {"uploadId": first["uploadId"], "key": second["key"]}
    assert api.get(_route(crossed, "/1"), token="acme").status == 404
    for key in ("o/x.png", "incoming/../o/abc", f"{first['key']}x", ""):
        response = api.get(f"{BASE}/{first['uploadId']}/1?key={key}", token="acme")
        assert response.status == 404, key


def test_listing_parts_shows_what_s3_has(api, big_png) -> None:
    started = _start(api, size=len(big_png)).json()
    assert api.get(_route(started), token="acme").json() == []
    parts = _send(started, big_png)
    listed = api.get(_route(started), token="acme").json()
    assert [p["PartNumber"] for p in listed] == [p["PartNumber"] for p in parts]
    assert [p["ETag"] for p in listed] == [p["ETag"] for p in parts]
    assert sum(p["Size"] for p in listed) == len(big_png)


def test_completing_hands_the_object_to_the_worker_and_the_media_becomes_ready(
    api, big_png
) -> None:
    started = _start(api, size=len(big_png)).json()
    parts = _send(started, big_png)
    response = api.post(_route(started, "/complete"), token="acme", json_body={"parts": parts})
    assert response.status == 200, response
    body = response.json()
    uid = started["media"]["id"]
    assert body["location"] == f"https://api.example.test/prod/v1/media/{uid}"
    assert body["media"]["status"] == "processing"
    stored = boto3.client("s3").get_object(Bucket=BUCKET, Key=started["key"])["Body"].read()
    assert stored == big_png
    processing.process_incoming(uid)  # what the object-created event runs
    ready = api.get(f"/v1/media/{uid}", token="acme").json()
    assert (ready["width"], ready["height"], ready["filesize"]) == (2600, 2000, len(big_png))
    assert quotas.standing("acme", consistent=True).stored_bytes >= len(big_png)


def test_parts_over_the_declared_size_are_not_assembled(api, big_png) -> None:
    started = _start(api, size=len(big_png) - 1).json()
    parts = _send(started, big_png)
    response = api.post(_route(started, "/complete"), token="acme", json_body={"parts": parts})
    assert response.status == 400
    assert "more than the" in response.json()["errors"]["parts"][0]
    assert boto3.client("s3").list_multipart_uploads(Bucket=BUCKET)["Uploads"]


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        ([{"PartNumber": 1, "ETag": '"nope"'}], "ETag"),
        ([{"PartNumber": 7, "ETag": '"x"'}], "no part 7"),
        ([], "non-empty"),
        ([{"PartNumber": 1}], "ETag"),
    ],
)
def test_completing_with_wrong_parts_is_a_400_on_parts(api, big_png, parts, message) -> None:
    started = _start(api, size=len(big_png)).json()
    _send(started, big_png)
    response = api.post(_route(started, "/complete"), token="acme", json_body={"parts": parts})
    assert response.status == 400
    assert message in response.json()["errors"]["parts"][0]


def test_aborting_drops_the_parts_and_the_media_and_gives_the_reservation_back(api) -> None:
    before = quotas.standing("acme", consistent=True)
    started = _start(api, size=5_000_000).json()
    response = api.delete(_route(started), token="acme")
    assert (response.status, response.json()) == (200, {})
    assert api.get(f"/v1/media/{started['media']['id']}", token="acme").status == 404
    assert boto3.client("s3").list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    after = quotas.standing("acme", consistent=True)
    assert after.stored_bytes == before.stored_bytes
    assert api.delete(_route(started), token="acme").status == 404


def test_a_file_that_is_not_an_image_fails_with_its_reason(api) -> None:
    data = b"this is not an image at all" * 10
    started = _start(api, size=len(data)).json()
    parts = _send(started, data)
    completed = api.post(_route(started, "/complete"), token="acme", json_body={"parts": parts})
    assert completed.status == 200
    uid = started["media"]["id"]
    processing.process_incoming(uid)
    failed = api.get(f"/v1/media/{uid}", token="acme").json()
    assert failed["status"] == "failed"
    assert failed["failure_reason"]
    assert {"src", "width", "height", "filesize"}.isdisjoint(failed)
    listed = api.get("/v1/media", token="acme").json()["data"]
    assert [m.get("failure_reason") for m in listed if m["id"] == uid] == [failed["failure_reason"]]


def test_a_retried_completion_gets_the_same_answer_before_and_after_processing(
    api, big_png
) -> None:
    started = _start(api, size=len(big_png)).json()
    parts = _send(started, big_png)
    complete = _route(started, "/complete")
    first = api.post(complete, token="acme", json_body={"parts": parts})
    again = api.post(complete, token="acme", json_body={"parts": parts})
    assert (first.status, again.status) == (200, 200)
    assert again.json()["location"] == first.json()["location"]
    processing.process_incoming(started["media"]["id"])
    after = api.post(complete, token="acme", json_body={"parts": parts})
    assert after.status == 200 and "status" not in after.json()["media"]
    assert api.post(complete, token="globex", json_body={"parts": parts}).status == 404
