"""`placeholder` in every media object of a ready raster item; never for SVG or processing."""

from __future__ import annotations

from tests.handlers.test_large_upload import _announce, _land
from tests.support import images

_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b'<rect width="10" height="10"/></svg>'
)


def _has_placeholder(body: dict) -> bool:
    found = body.get("placeholder")
    if found is None:
        return False
    assert set(found) == {"thumbhash", "blurhash", "color"}
    assert found["color"].startswith("#") and len(found["color"]) == 7
    return True


def test_upload_single_list_and_batch_carry_the_placeholder(api) -> None:
    data = images.encode(images.noise((120, 80)), "JPEG")
    created = api.upload("acme", data, filename="p.jpg").json()
    assert _has_placeholder(created)
    uid = created["id"]
    single = api.get(f"/v1/media/{uid}", token="acme").json()
    assert single["placeholder"] == created["placeholder"]
    listed = api.get("/v1/media", token="acme").json()["data"]
    assert [m["placeholder"] for m in listed if m["id"] == uid] == [created["placeholder"]]
    batch = api.patch(f"/v1/media?ids={uid}", token="acme", json_body={"description": "x"}).json()
    assert batch["media"][0]["placeholder"] == created["placeholder"]


def test_svg_has_no_placeholder(api) -> None:
    body = api.upload("acme", _SVG, filename="logo.svg").json()
    assert "width" in body and "placeholder" not in body


def test_processing_has_none_and_the_worker_adds_it(api) -> None:
    data = images.encode(images.noise((300, 200)), "BMP")
    uid = _announce(api, len(data)).json()["id"]
    assert "placeholder" not in api.get(f"/v1/media/{uid}", token="acme").json()
    _land(uid, data)
    assert _has_placeholder(api.get(f"/v1/media/{uid}", token="acme").json())
