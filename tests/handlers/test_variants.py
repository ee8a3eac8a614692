"""Size variants made on first request, `sizes`, private media behind signed URLs.

Drives the CDN the way the local stack does (`imgpro.delivery.deliver`, the viewer
side) and the resize function's handler (`functions/resize`, the origin side).
"""

from __future__ import annotations

import io
from urllib.parse import parse_qsl, urlsplit

import boto3
import pytest
from PIL import Image

from tests.conftest import BUCKET, CDN
from tests.support import images
from tests.support.gateway import FakeContext, handler_module

WEBP = {"accept": "image/avif,image/webp,*/*"}
NO_WEBP = {"accept": "image/png,image/*;q=0.8"}


def fetch(url: str, headers: dict[str, str] | None = None):
    """GET a CDN URL through the local CDN code, like a browser would."""
    from imgpro.delivery import deliver

    parts = urlsplit(url)
    assert url.startswith(CDN)
    path = parts.path[len(urlsplit(CDN).path) :]
    return deliver(path, dict(parse_qsl(parts.query)), headers or WEBP)


def _size(delivered) -> tuple[int, int]:
    return Image.open(io.BytesIO(delivered.body)).size


def _format(delivered) -> str:
    return Image.open(io.BytesIO(delivered.body)).format


@pytest.fixture
def photo(api) -> dict:
    data = images.encode(images.noise((3000, 2000)), "JPEG")
    return api.upload("acme", data, public="1").json()


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ("s", (320, 213)),
        ("m", (640, 427)),
        ("l", (1280, 853)),
        ("xl", (1920, 1280)),
        ("xxl", (2560, 1707)),
    ],
)
def test_each_size_has_its_longest_side(api, photo, size, expected) -> None:
    delivered = fetch(f"{photo['src']}?size={size}")
    assert delivered.status == 200
    assert _size(delivered) == expected


def test_variants_are_never_upscaled(api) -> None:
    body = api.upload("acme", images.png((100, 50)), public="1").json()
    assert _size(fetch(f"{body['src']}?size=xl")) == (100, 50)


def test_browsers_that_accept_webp_get_webp(api, photo) -> None:
    delivered = fetch(f"{photo['src']}?size=m", WEBP)
    assert delivered.headers["Content-Type"] == "image/webp" and _format(delivered) == "WEBP"


def test_other_browsers_get_the_originals_format(api, photo) -> None:
    delivered = fetch(f"{photo['src']}?size=m", NO_WEBP)
    assert delivered.headers["Content-Type"] == "image/jpeg" and _format(delivered) == "JPEG"


def test_sizes_appear_only_after_the_first_fetch(api, photo) -> None:
    assert "sizes" not in api.get(f"/v1/media/{photo['id']}").json()
    fetch(f"{photo['src']}?size=s")
    fetch(f"{photo['src']}?size=l")
    sizes = api.get(f"/v1/media/{photo['id']}").json()["sizes"]
    assert list(sizes) == ["s", "l"]
    assert sizes["s"] == {
        "src": f"{photo['src']}?size=s",
        "width": 320,
        "height": 213,
        "filesize": sizes["s"]["filesize"],
    }
    assert sizes["s"]["filesize"] > 0


def test_a_variant_is_made_once_and_then_served_from_storage(api, photo, monkeypatch) -> None:
    from imgpro.imaging import variants

    calls = []
    original = variants.render
    monkeypatch.setattr(variants, "render", lambda *a, **k: calls.append(1) or original(*a, **k))
    first, second = fetch(f"{photo['src']}?size=m"), fetch(f"{photo['src']}?size=m")
    assert first.body == second.body and len(calls) == 1
    keys = boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="v/")["Contents"]
    assert [obj["Key"] for obj in keys] == [f"v/{photo['id']}/m.webp"]


def test_public_cache_headers_are_long_lived_and_immutable(api, photo) -> None:
    for url in (photo["src"], f"{photo['src']}?size=s"):
        assert fetch(url).headers["Cache-Control"] == "public, max-age=31536000, immutable"


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_animated_variants_stay_animated(api, fmt) -> None:
    body = api.upload("acme", images.animated(fmt, size=(800, 600), frames=3), public="1").json()
    delivered = fetch(f"{body['src']}?size=s", NO_WEBP)
    with Image.open(io.BytesIO(delivered.body)) as image:
        assert image.format == fmt and image.n_frames == 3 and image.size == (320, 240)


def test_svg_is_served_as_is_at_every_size(api) -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="800" height="400"><rect/></svg>'
    body = api.upload("acme", svg, filename="a.svg", public="1").json()
    delivered = fetch(f"{body['src']}?size=s")
    assert delivered.headers["Content-Type"] == "image/svg+xml"
    assert delivered.body == fetch(body["src"]).body


def test_an_unknown_size_is_a_400(api, photo) -> None:
    assert fetch(f"{photo['src']}?size=huge").status == 400


def test_a_deleted_image_stops_being_served_with_its_variants(api, photo) -> None:
    fetch(f"{photo['src']}?size=m")
    api.delete(f"/v1/media/{photo['id']}", token="acme")
    assert fetch(photo["src"]).status == 404
    assert fetch(f"{photo['src']}?size=m").status == 404
    assert boto3.client("s3").list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0


# --- private media ------------------------------------------------------------------------


@pytest.fixture
def secret(api) -> dict:
    return api.upload("acme", images.encode(images.noise((900, 600)), "JPEG")).json()


def test_private_src_is_a_signed_url_under_private(api, secret) -> None:
    parts = urlsplit(secret["src"])
    assert parts.path.endswith(f"/private/{secret['id']}.jpg")
    assert {"Expires", "Signature", "Key-Pair-Id"} <= dict(parse_qsl(parts.query)).keys()


def test_a_signed_private_url_is_served_privately(api, secret) -> None:
    delivered = fetch(secret["src"])
    assert delivered.status == 200
    assert delivered.headers["Cache-Control"].startswith("private")


def test_an_unsigned_private_url_is_refused(api, secret) -> None:
    assert fetch(secret["src"].split("?")[0]).status == 403


def test_guessing_the_public_path_of_private_media_finds_nothing(api, secret) -> None:
    assert fetch(f"{CDN}/{secret['id']}.jpg").status == 404
    assert fetch(f"{CDN}/{secret['id']}.jpg?size=s").status == 404


def test_an_expired_signature_is_refused(api, secret) -> None:
    from imgpro import signing

    url = signing.sign(f"{CDN}/private/{secret['id']}.jpg", expires_at=1)
    assert fetch(url).status == 403


def test_a_signature_opens_only_its_own_media(api, secret) -> None:
    other = api.upload("acme", images.jpeg()).json()
    forged = secret["src"].replace(secret["id"], other["id"])
    assert fetch(forged).status == 403


def test_private_sizes_are_signed_separately(api, secret) -> None:
    fetch(f"{secret['src'].split('?')[0]}?size=s")  # unsigned: refused, makes nothing
    assert "sizes" not in api.get(f"/v1/media/{secret['id']}", token="acme").json()
    from imgpro import signing

    assert fetch(signing.sign(f"{CDN}/private/{secret['id']}.jpg?size=s")).status == 200
    sizes = api.get(f"/v1/media/{secret['id']}", token="acme").json()["sizes"]
    assert fetch(sizes["s"]["src"]).status == 200
    swapped = sizes["s"]["src"].replace("size=s", "size=xl")
    assert fetch(swapped).status == 403


def test_making_media_private_stops_its_public_url_at_once(api, photo) -> None:
    fetch(f"{photo['src']}?size=m")
    api.patch(f"/v1/media/{photo['id']}", token="acme", json_body={"public": False})
    assert fetch(photo["src"]).status == 404
    assert fetch(f"{photo['src']}?size=m").status == 404
    now = api.get(f"/v1/media/{photo['id']}", token="acme").json()
    assert fetch(now["src"]).status == 200
    assert list(now["sizes"]) == ["m"]
    assert fetch(now["sizes"]["m"]["src"]).status == 200


def test_making_media_public_gives_it_a_stable_url(api, secret) -> None:
    body = api.patch(f"/v1/media/{secret['id']}", token="acme", json_body={"public": True}).json()
    assert body["src"] == f"{CDN}/{secret['id']}.jpg"
    assert fetch(body["src"]).headers["Cache-Control"].startswith("public")


def test_visibility_changes_invalidate_the_cdn(api, photo, monkeypatch) -> None:
    from imgpro import cdn

    invalidated: list[list[str]] = []
    monkeypatch.setattr(cdn, "invalidate", lambda uids: invalidated.append(list(uids)))
    api.patch(f"/v1/media/{photo['id']}", token="acme", json_body={"public": False})
    api.patch(f"/v1/media/{photo['id']}", token="acme", json_body={"description": "x"})
    api.delete(f"/v1/media/{photo['id']}", token="acme")
    assert invalidated == [[photo["id"]], [photo["id"]]]


# --- the resize function's own handler (CloudFront's fallback origin) -------------------


def _function_url_event(path: str) -> dict:
    return {
        "version": "2.0",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "abc.lambda-url.us-east-1.on.aws"},
        "requestContext": {"http": {"method": "GET", "path": path}},
        "isBase64Encoded": False,
    }


def test_the_resize_function_makes_stores_and_returns_a_variant(api, photo) -> None:
    response = handler_module("resize").handler(
        _function_url_event(f"/v/{photo['id']}/l.webp"), FakeContext()
    )
    assert response["statusCode"] == 200 and response["isBase64Encoded"] is True
    assert response["headers"]["Content-Type"] == "image/webp"
    stored = boto3.client("s3").get_object(Bucket=BUCKET, Key=f"v/{photo['id']}/l.webp")
    assert stored["CacheControl"] == "public, max-age=31536000, immutable"
    assert "l" in api.get(f"/v1/media/{photo['id']}").json()["sizes"]


@pytest.mark.parametrize(
    "path",
    ["/v/nosuchmedia1/s.webp", "/etc/passwd", "/v/{uid}/s.png", "/private/v/{uid}/s.webp"],
)
def test_the_resize_function_refuses_what_does_not_exist(api, photo, path) -> None:
    event = _function_url_event(path.format(uid=photo["id"]))
    assert handler_module("resize").handler(event, FakeContext())["statusCode"] == 404


@pytest.mark.parametrize(
    ("accept", "webp"),
    [
        ("image/webp,*/*", True),
        ("image/avif, IMAGE/WEBP;q=0.9", True),
        ("image/webp;q=0", False),
        ("image/png,*/*;q=0.8", False),
        ("", False),
        ("image/webpx", False),
    ],
)
def test_webp_negotiation_reads_media_ranges_and_quality(accept, webp) -> None:
    from imgpro.delivery import accepts_webp

    assert accepts_webp(accept) is webp


def test_concurrent_first_requests_for_one_variant_render_it_once(api, photo, monkeypatch) -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from imgpro import delivery
    from imgpro.imaging import variants

    calls = []
    rendering, release = threading.Event(), threading.Event()
    original = variants.render

    def slow_render(*args, **kwargs):
        calls.append(1)
        rendering.set()
        release.wait(10)  # every other request arrives while this render runs
        return original(*args, **kwargs)

    monkeypatch.setattr(variants, "render", slow_render)
    key_path = f"/v/{photo['id']}/xxl.webp"
    with ThreadPoolExecutor(6) as pool:
        leader = pool.submit(delivery.from_origin, key_path)
        assert rendering.wait(10)
        followers = [pool.submit(delivery.from_origin, key_path) for _ in range(5)]
        release.set()
        answers = [leader.result(30)] + [future.result(30) for future in followers]
    assert len(calls) == 1
    assert {answer.status for answer in answers} == {200}
    assert len({answer.body for answer in answers}) == 1


def test_a_variant_of_an_original_over_the_budget_is_refused_before_decoding(
    api, monkeypatch
) -> None:
    """An original stored before a limit changed: the variant path checks the same budget
    from the container, so the first request for a size never costs more than an upload."""
    from PIL import Image as PILImage

    body = api.upload("acme", images.gif((64, 48)), public="1").json()
    boto3.client("s3").put_object(
        Bucket=BUCKET, Key=images.stored_key(body), Body=images.gif_canvas(10000, 12000, 2)
    )

    def no_decoding(*args, **kwargs):
        raise AssertionError("the decoder was reached")

    monkeypatch.setattr(PILImage, "open", no_decoding)
    delivered = fetch(f"{body['src']}?size=xxl")
    assert delivered.status == 422
    assert b"10000x12000" in delivered.body
