"""POST /v1/upload: storing, response shape, omission rules and validation."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import boto3
import pytest

from tests.conftest import BUCKET, CDN
from tests.support import images


def test_upload_answers_201_with_the_seed_media_shape(api) -> None:
    response = api.upload(
        "acme",
        images.jpeg((1920, 1080)),
        description="My awesome photo",
        tags="vacation,beach,sunset",
        ttl="7d",
        public="1",
    )
    assert response.status == 201
    body = response.json()
    assert list(body) == [
        "id",
        "name",
        "url",
        "src",
        "width",
        "height",
        "filesize",
        "description",
        "tags",
        "expires_at",
        "placeholder",  # ours, after the seed's fields (docs/placeholders.md)
    ]
    assert body["name"] == "photo.jpg"
    assert body["src"] == f"{CDN}/{body['id']}.jpg"
    assert body["url"] == f"https://api.example.test/prod/{body['id']}"
    assert (body["width"], body["height"]) == (1920, 1080)
    assert body["tags"] == ["vacation", "beach", "sunset"]
    assert body["description"] == "My awesome photo"


def test_upload_stores_the_bytes_as_sent(api) -> None:
    data = images.png((10, 20))
    body = api.upload("acme", data, filename="a.png").json()
    stored = boto3.client("s3").get_object(Bucket=BUCKET, Key=images.stored_key(body))
    assert stored["Body"].read() == data
    assert stored["ContentType"] == "image/png"
    assert body["filesize"] == len(data)


@pytest.mark.parametrize(
    ("maker", "ext", "content_type"),
    [
        (images.jpeg, "jpg", "image/jpeg"),
        (images.png, "png", "image/png"),
        (images.gif, "gif", "image/gif"),
        (images.webp, "webp", "image/webp"),
    ],
)
def test_each_stored_format_reports_header_dimensions(api, maker, ext, content_type) -> None:
    body = api.upload("acme", maker((33, 17)), filename="pic").json()
    assert (body["width"], body["height"]) == (33, 17)
    assert urlsplit(body["src"]).path.endswith(f".{ext}")
    assert body["name"] == f"pic.{ext}"


def test_format_comes_from_magic_bytes_not_the_filename(api) -> None:
    body = api.upload("acme", images.png(), filename="holiday.jpg").json()
    assert body["name"] == "holiday.png"
    assert urlsplit(body["src"]).path.endswith(".png")


def test_a_known_alias_extension_is_kept(api) -> None:
    assert api.upload("acme", images.jpeg(), filename="scan.JPEG").json()["name"] == "scan.JPEG"


def test_a_path_in_the_filename_is_reduced_to_its_base_name(api) -> None:
    body = api.upload("acme", images.jpeg(), filename="C:\\Users\\me\\cat.jpg").json()
    assert body["name"] == "cat.jpg"


def test_private_media_has_no_url(api) -> None:
    body = api.upload("acme", public="0").json()
    assert "url" not in body


def test_upload_without_optional_fields_omits_them(api) -> None:
    body = api.upload("acme").json()
    assert list(body) == ["id", "name", "src", "width", "height", "filesize", "placeholder"]


def test_public_defaults_to_the_teams_preference(api) -> None:
    from imgpro import teams

    teams.put_team("acme", plan="growth", public_default=True)
    assert "url" in api.upload("acme").json()
    assert "url" not in api.upload("acme", public="0").json()


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "yes"])
def test_public_accepts_truthy_spellings(api, value) -> None:
    assert "url" in api.upload("acme", public=value).json()


def test_ttl_sets_expires_at_from_now(api) -> None:
    before = int(time.time())
    body = api.upload("acme", ttl="2h").json()
    assert before + 7200 <= body["expires_at"] <= int(time.time()) + 7200


def test_ttl_in_seconds_is_accepted(api) -> None:
    before = int(time.time())
    assert api.upload("acme", ttl="3600").json()["expires_at"] >= before + 3600


def test_ephemeral_objects_are_tagged_for_the_lifecycle_rule(api) -> None:
    uid = api.upload("acme", ttl="1d").json()["id"]
    tags = boto3.client("s3").get_object_tagging(Bucket=BUCKET, Key=f"private/o/{uid}.jpg")[
        "TagSet"
    ]
    assert {"Key": "ephemeral", "Value": "true"} in tags


def test_tags_are_trimmed_and_deduplicated(api) -> None:
    body = api.upload("acme", tags=" a , b,,a, B ,c ").json()
    assert body["tags"] == ["a", "b", "c"]


# --- validation ---


def _errors(response) -> dict:
    assert response.status == 400, response
    body = response.json()
    assert body["error"] == "Validation failed"
    return body["errors"]


def test_missing_file_is_a_validation_error(api) -> None:
    response = api.post("/v1/upload", token="acme", data={"description": "no file"})
    assert _errors(response) == {"file": ["File is required"]}


def test_non_multipart_body_is_a_file_validation_error(api) -> None:
    response = api.post("/v1/upload", token="acme", json_body={"file": "x"})
    assert "file" in _errors(response)


def test_empty_file_is_a_validation_error(api) -> None:
    assert _errors(api.upload("acme", b"")) == {"file": ["File is required"]}


def test_non_image_is_a_validation_error(api) -> None:
    errors = _errors(api.upload("acme", b"hello, this is text", filename="a.jpg"))
    assert errors == {"file": ["The file is not an image in a supported format"]}


def test_truncated_header_is_a_validation_error(api) -> None:
    errors = _errors(api.upload("acme", images.png()[:20]))
    assert errors["file"][0].startswith("The PNG file is truncated")


def test_ttl_below_five_minutes_is_refused_with_the_seed_message(api) -> None:
    errors = _errors(api.upload("acme", ttl="299"))
    assert errors == {"ttl": ["TTL must be at least 5 minutes (300 seconds)"]}


def test_ttl_above_ninety_days_is_refused(api) -> None:
    assert "ttl" in _errors(api.upload("acme", ttl="13w"))


def test_malformed_ttl_is_refused(api) -> None:
    assert "ttl" in _errors(api.upload("acme", ttl="7 days"))


def test_more_than_ten_tags_is_refused_with_the_seed_message(api) -> None:
    errors = _errors(api.upload("acme", tags=",".join(f"t{i}" for i in range(11))))
    assert errors == {"tags": ["Maximum 10 tags allowed"]}


def test_a_tag_over_fifty_characters_is_refused(api) -> None:
    assert "tags" in _errors(api.upload("acme", tags="x" * 51))


def test_bad_public_value_is_refused(api) -> None:
    assert "public" in _errors(api.upload("acme", public="maybe"))


def test_every_bad_field_is_reported_at_once(api) -> None:
    response = api.post(
        "/v1/upload",
        token="acme",
        data={"ttl": "1", "tags": ",".join("abcdefghijk")},
    )
    assert set(_errors(response)) == {"file", "ttl", "tags"}


def test_a_refused_upload_stores_nothing(api) -> None:
    api.upload("acme", ttl="1")
    listing = boto3.client("s3").list_objects_v2(Bucket=BUCKET)
    assert listing.get("KeyCount", 0) == 0
    assert api.get("/v1/media", token="acme").json()["data"] == []


def test_body_over_the_direct_upload_limit_is_a_json_413(api, monkeypatch) -> None:
    from imgpro import config

    monkeypatch.setenv(config.MAX_DIRECT_UPLOAD_BYTES, "2000")
    config.settings.cache_clear()
    try:
        response = api.upload("acme", images.jpeg((200, 200)) + b"\x00" * 3000)
    finally:
        monkeypatch.delenv(config.MAX_DIRECT_UPLOAD_BYTES)
        config.settings.cache_clear()
    assert response.status == 413
    assert response.json()["code"] == "payload_too_large"
    assert "POST /v1/upload/direct" in response.json()["error"]


def test_failed_record_write_removes_the_stored_object(api, monkeypatch) -> None:
    from pynamodb.transactions import TransactWrite

    def fail(self, *args):
        raise RuntimeError("DynamoDB is down")

    monkeypatch.setattr(TransactWrite, "__exit__", fail)
    with pytest.raises(RuntimeError, match="DynamoDB is down"):
        api.upload("acme")
    assert boto3.client("s3").list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0
