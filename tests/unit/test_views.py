"""The omission rules of the media object."""

from __future__ import annotations

import pytest

from imgpro import config
from imgpro.media import Media
from imgpro.views import media_json
from tests.conftest import signing_key_pair

_KEYS = signing_key_pair()


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(config.TABLE_NAME, "t")
    monkeypatch.setenv(config.BUCKET_NAME, "b")
    monkeypatch.setenv(config.CDN_BASE_URL, "https://cdn.test/")
    monkeypatch.delenv(config.SHARE_BASE_URL, raising=False)
    private_pem, public_pem = _KEYS
    monkeypatch.setenv(config.SIGNING_KEY_ID, "K2VIEWS")
    monkeypatch.setenv(config.SIGNING_PRIVATE_KEY, private_pem)
    monkeypatch.setenv(config.SIGNING_PUBLIC_KEY, public_pem)
    config.settings.cache_clear()
    yield
    config.settings.cache_clear()


def _media(**kw) -> Media:
    base = dict(
        uid="abc123",
        team_id="t",
        name="p.jpg",
        status="ready",
        is_public=False,
        created_ms=1,
        ext="jpg",
        width=2,
        height=3,
        filesize=4,
    )
    return Media(**{**base, **kw})


def test_ready_private_media_has_only_the_core_fields() -> None:
    body = media_json(_media(), api_base_url="https://api.test")
    assert list(body) == ["id", "name", "src", "width", "height", "filesize"]
    assert body["src"].startswith("https://cdn.test/private/abc123.jpg?Policy=")
    assert body["src"].endswith("&Key-Pair-Id=K2VIEWS")


def test_public_media_has_a_stable_unsigned_src() -> None:
    body = media_json(_media(is_public=True), api_base_url="https://api.test")
    assert body["src"] == "https://cdn.test/abc123.jpg"


def test_sizes_list_the_variants_made_with_their_own_src() -> None:
    from imgpro.media import SizeVariant

    sizes = (SizeVariant("s", 320, 240, 999, "webp"), SizeVariant("xl", 1920, 1440, 9, "jpg"))
    body = media_json(_media(is_public=True, sizes=sizes), api_base_url="x")
    assert body["sizes"] == {
        "s": {
            "src": "https://cdn.test/abc123.jpg?size=s",
            "width": 320,
            "height": 240,
            "filesize": 999,
        },
        "xl": {
            "src": "https://cdn.test/abc123.jpg?size=xl",
            "width": 1920,
            "height": 1440,
            "filesize": 9,
        },
    }


def test_public_media_has_a_share_url_on_this_api() -> None:
    body = media_json(_media(is_public=True), api_base_url="https://api.test/prod")
    assert body["url"] == "https://api.test/prod/abc123"


def test_a_configured_share_base_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(config.SHARE_BASE_URL, "https://img.example/")
    config.settings.cache_clear()
    body = media_json(_media(is_public=True), api_base_url="https://api.test")
    assert body["url"] == "https://img.example/abc123"


@pytest.mark.parametrize("status", ["processing", "failed"])
def test_unready_media_has_status_and_no_image_fields(status) -> None:
    body = media_json(_media(status=status), api_base_url="x")
    assert body == {"id": "abc123", "name": "p.jpg", "status": status}


def test_description_tags_and_expiry_appear_only_when_set() -> None:
    body = media_json(_media(description="d", tags=("a",), expires_at=99), api_base_url="x")
    assert (body["description"], body["tags"], body["expires_at"]) == ("d", ["a"], 99)
    assert {"description", "tags", "expires_at"}.isdisjoint(media_json(_media(), api_base_url="x"))
