"""POST /v1/import through real API Gateway events, fetching from a loopback origin.

The origin is a real HTTP server on 127.0.0.1; the import may reach it only because these
tests allow 127.0.0.0/8, as the local stack's --allow-import-from does. Without that, the
same requests are refused before any connection (the SSRF catalog is in
tests/unit/test_fetching*.py).
"""

from __future__ import annotations

import io
import json

import boto3
import pytest
from PIL import Image

from imgpro import config
from tests.conftest import BUCKET
from tests.support import images, origin


@pytest.fixture
def remote(monkeypatch):
    from imgpro import importing

    with origin.serving() as server:
        monkeypatch.setenv(config.IMPORT_ALLOW_CIDRS, "127.0.0.0/8")
        monkeypatch.setenv(config.IMPORT_DEADLINE_SECONDS, "2")
        config.settings.cache_clear()
        importing.policy.cache_clear()
        yield server
    config.settings.cache_clear()
    importing.policy.cache_clear()


def _import(api, url: str, *, token: str = "acme", headers: dict | None = None, **fields):
    return api.post(
        "/v1/import", token=token, json_body={"url": url, **fields}, headers=headers or {}
    )


def _objects() -> list[str]:
    listed = boto3.client("s3").list_objects_v2(Bucket=BUCKET)
    return [obj["Key"] for obj in listed.get("Contents", [])]


def test_the_seeds_example_body_imports_the_image(api, remote) -> None:
    response = _import(
        api,
        f"{remote.base_url}/photo.jpg",
        description="Imported image",
        tags="imported,example",
        public=True,
    )
    assert response.status == 201, response
    body = response.json()
    assert (body["width"], body["height"]) == (600, 400)
    assert body["name"] == "photo.jpg"
    assert body["description"] == "Imported image"
    assert sorted(body["tags"]) == ["example", "imported"]
    stored = boto3.client("s3").get_object(Bucket=BUCKET, Key=images.stored_key(body))
    assert stored["Body"].read() == origin.PHOTO


def test_the_name_comes_from_content_disposition(api, remote) -> None:
    assert _import(api, f"{remote.base_url}/named").json()["name"] == "Holiday.jpg"


def test_a_redirect_chain_is_followed(api, remote) -> None:
    body = _import(api, f"{remote.base_url}/hop/3").json()
    assert body["name"] == "photo.jpg" and body["width"] == 600


@pytest.mark.parametrize(("path", "status"), [("/missing", "404"), ("/broken", "500")])
def test_an_upstream_error_is_a_502_naming_its_status(api, remote, path, status) -> None:
    response = _import(api, f"{remote.base_url}{path}")
    assert response.status == 502
    body = response.json()
    assert body["code"] == "import_failed" and status in body["error"]
    assert _objects() == []


def test_a_slow_upstream_is_a_504_at_the_deadline(api, remote) -> None:
    response = _import(api, f"{remote.base_url}/slow")
    assert response.status == 504
    assert response.json()["code"] == "fetch_timeout"
    assert _objects() == []


def test_a_body_that_is_not_an_image_is_a_400_on_url(api, remote) -> None:
    response = _import(api, f"{remote.base_url}/text")
    assert response.status == 400
    assert list(response.json()["errors"]) == ["url"]


@pytest.mark.parametrize("path", ["/huge", "/endless"])
def test_a_body_over_100_mb_is_refused_declared_or_not(api, remote, path) -> None:
    response = _import(api, f"{remote.base_url}{path}")
    assert response.status == 400
    assert "100 MB" in response.json()["errors"]["url"][0]
    assert _objects() == []


def test_a_private_address_is_refused_without_a_connection(api, monkeypatch) -> None:
    from imgpro import importing

    with origin.serving() as server:
        monkeypatch.delenv(config.IMPORT_ALLOW_CIDRS, raising=False)
        config.settings.cache_clear()
        importing.policy.cache_clear()
        response = _import(api, f"{server.base_url}/photo.jpg")
        assert response.status == 400
        assert list(response.json()["errors"]) == ["url"]
        assert server.requests == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "url"),
        ({"url": ""}, "url"),
        ({"url": 42}, "url"),
        ({"url": "ftp://example.com/a.jpg"}, "url"),
        ({"url": "https://example.com/" + "a" * 3000}, "url"),
        ({"url": "https://example.com/a.jpg", "ttl": "soon"}, "ttl"),
        ({"url": "https://example.com/a.jpg", "public": "maybe"}, "public"),
    ],
)
def test_bad_fields_are_400s_before_any_fetch(api, remote, body, field) -> None:
    response = api.post("/v1/import", token="acme", json_body=body)
    assert response.status == 400
    assert field in response.json()["errors"]
    assert remote.requests == []


def test_import_needs_the_write_ability(api, remote) -> None:
    response = _import(api, f"{remote.base_url}/photo.jpg", token="acme-read")
    assert response.status == 403
    assert remote.requests == []


def test_an_idempotent_import_is_fetched_once_and_replayed_byte_for_byte(api, remote) -> None:
    url = f"{remote.base_url}/photo.jpg"
    key = {"Idempotency-Key": "import-once-1"}
    first = _import(api, url, headers=key)
    second = _import(api, url, headers=key)
    assert first.status == second.status == 201
    assert first.body == second.body
    assert remote.requests == ["/photo.jpg"]
    changed = _import(api, url, headers=key, description="another")
    assert changed.status == 422


def test_an_imported_image_gets_variants_like_an_upload(api, remote) -> None:
    from urllib.parse import urlsplit

    from imgpro.delivery import deliver
    from tests.conftest import CDN

    body = _import(api, f"{remote.base_url}/pic.png", public=True).json()
    path = urlsplit(body["src"]).path[len(urlsplit(CDN).path) :]
    delivered = deliver(path, {"size": "s"}, {"accept": "image/webp"})
    assert delivered.status == 200
    assert Image.open(io.BytesIO(delivered.body)).size == (64, 48)
    assert json.loads(api.get(f"/v1/media/{body['id']}").body)["id"] == body["id"]
