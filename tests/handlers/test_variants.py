"""Size variants made on first request, `sizes`, private media behind signed URLs.

Drives the CDN the way the local stack does (`imgpro.delivery.deliver`, the viewer
side) and the resize function's handler (`functions/resize`, the origin side).
"""

from __future__ import annotations

import base64
import io
import json
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
    """GET a CDN URL through the local CDN code, as the local gateway hands it over."""
    from imgpro.delivery import deliver
    from imgpro.local.gateway import CdnQuery

    parts = urlsplit(url)
    assert url.startswith(CDN)
    path = parts.path[len(urlsplit(CDN).path) :]
    query = CdnQuery(parse_qsl(parts.query, keep_blank_values=True), raw=parts.query)
    return deliver(path, query, headers or WEBP)


def browse(url: str, headers: dict[str, str] | None = None):
    """`fetch`, following redirects as a browser does (at most a few)."""
    for _ in range(3):
        delivered = fetch(url, headers)
        if delivered.status not in (301, 302, 303, 307, 308):
            return delivered
        url = delivered.headers["Location"]
    raise AssertionError(f"redirected too often, last to {url}")


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
    assert list(dict(parse_qsl(parts.query))) == ["Policy", "Signature", "Key-Pair-Id"]


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


def test_an_unsigned_private_size_is_refused_and_makes_nothing(api, secret) -> None:
    assert fetch(f"{secret['src'].split('?')[0]}?size=s").status == 403
    assert "sizes" not in api.get(f"/v1/media/{secret['id']}", token="acme").json()


@pytest.mark.parametrize("where", ["before", "after"])
def test_a_private_src_opens_every_size_with_size_added(api, secret, where) -> None:
    """`size=` goes before `Policy` (as the API writes it) or after `Key-Pair-Id` (as a
    client appending to `src` does): CloudFront takes both, so the local CDN does."""
    base, _, signature = secret["src"].partition("?")
    for name, longest in (("s", 320), ("m", 640)):
        url = (
            f"{base}?size={name}&{signature}"
            if where == "before"
            else f"{secret['src']}&size={name}"
        )
        delivered = fetch(url)
        assert delivered.status == 200, delivered.body
        assert max(_size(delivered)) == longest
        assert delivered.headers["Cache-Control"].startswith("private")
    sizes = api.get(f"/v1/media/{secret['id']}", token="acme").json()["sizes"]
    assert list(sizes) == ["s", "m"]
    for name, variant in sizes.items():
        assert urlsplit(variant["src"]).query.startswith(f"size={name}&Policy=")
        assert max(_size(fetch(variant["src"]))) == max(variant["width"], variant["height"])


def test_a_private_signature_opens_no_other_item(api, secret) -> None:
    other = api.upload("acme", images.encode(images.noise((900, 600)), "JPEG")).json()
    assert fetch(f"{other['src']}&size=s").status == 200  # its own signature works
    for url in (
        secret["src"].replace(secret["id"], other["id"]),
        f"{secret['src']}&size=s".replace(secret["id"], other["id"]),
        f"{secret['src'].replace(secret['id'], other['id'])}&size=m",
    ):
        assert fetch(url).status == 403, url
    # The other item's path with this item's whole query string.
    assert (
        fetch(f"{other['src'].partition('?')[0]}?{secret['src'].partition('?')[2]}").status == 403
    )


def test_a_private_size_is_refused_when_the_signature_has_expired(api, secret) -> None:
    from imgpro import signing

    url = signing.sign_any_query(f"{CDN}/private/{secret['id']}.jpg?size=s", expires_at=1)
    assert fetch(url).status == 403


def test_a_tampered_policy_is_refused(api, secret) -> None:
    import base64

    from imgpro import signing

    base, _, query = secret["src"].partition("?")
    params = dict(parse_qsl(query))
    policy = base64.b64decode(params["Policy"].translate(str.maketrans("-_~", "+=/")))
    widened = policy.replace(f"/private/{secret['id']}.jpg*".encode(), b"/private/*")
    assert widened != policy
    encoded = base64.b64encode(widened).decode().translate(str.maketrans("+=/", "-_~"))
    assert fetch(secret["src"].replace(params["Policy"], encoded)).status == 403
    # Even signed with the right key, a policy that does not name exactly this item is
    # refused (the viewer function's check): a wildcard must never open other media.
    key_policy = signing.custom_policy(f"{CDN}/private/*", 4_102_444_800)
    forged = signing._signer(signing._signing_settings()).generate_presigned_url(
        f"{base}?size=s", policy=key_policy.decode()
    )
    assert signing.verify(forged)
    assert fetch(forged).status == 403


def test_a_canned_policy_url_issued_before_still_opens_its_own_url(api, secret) -> None:
    from imgpro import signing

    original = signing.sign(f"{CDN}/private/{secret['id']}.jpg")
    assert fetch(original).status == 200
    variant = signing.sign(f"{CDN}/private/{secret['id']}.jpg?size=s")
    assert fetch(variant).status == 200
    # A canned policy names one URL: it opens no other size.
    assert fetch(variant.replace("size=s", "size=xl")).status == 403
    assert fetch(f"{original}&size=s").status == 403


def test_size_given_twice_is_a_400(api, secret) -> None:
    assert fetch(f"{secret['src']}&size=s&size=xl").status == 400
    base, _, signature = secret["src"].partition("?")
    assert fetch(f"{base}?size=s&{signature}&size=xl").status == 400


# --- Vary: the same URL answers WebP or the original's format by Accept -----------------


def test_variants_vary_on_accept_and_originals_do_not(api, photo) -> None:
    first = fetch(f"{photo['src']}?size=m")  # made by the origin
    again = fetch(f"{photo['src']}?size=m")  # served from storage
    assert first.headers["Vary"] == again.headers["Vary"] == "Accept"
    assert "Vary" not in fetch(photo["src"]).headers
    etag = again.headers["ETag"]
    revalidated = fetch(f"{photo['src']}?size=m", {**WEBP, "if-none-match": etag})
    assert revalidated.status == 304 and revalidated.headers["Vary"] == "Accept"


def test_private_variants_vary_on_accept_too(api, secret) -> None:
    assert fetch(f"{secret['src']}&size=s").headers["Vary"] == "Accept"
    assert "Vary" not in fetch(secret["src"]).headers


def test_svg_does_not_vary(api) -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="800" height="400"><rect/></svg>'
    body = api.upload("acme", svg, filename="a.svg", public="1").json()
    for url in (body["src"], f"{body['src']}?size=s"):
        assert "Vary" not in fetch(url).headers


def test_errors_do_not_vary(api, photo) -> None:
    assert "Vary" not in fetch(f"{photo['src']}?size=huge").headers


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

    invalidated: list[tuple[str, list[str]]] = []

    def queue(media, *, reason: str) -> bool:
        invalidated.append((reason, [item.uid for item in media]))
        return True

    monkeypatch.setattr(cdn, "invalidate", queue)
    api.patch(f"/v1/media/{photo['id']}", token="acme", json_body={"public": False})
    api.patch(f"/v1/media/{photo['id']}", token="acme", json_body={"description": "x"})
    api.delete(f"/v1/media/{photo['id']}", token="acme")
    # The delete of media already private invalidates nothing: no edge holds private
    # bytes (tests/handlers/test_invalidation.py has the paths).
    assert invalidated == [("visibility", [photo["id"]])]


# --- the resize function's own handler (CloudFront's fallback origin) -------------------


def _function_url_event(path: str, *, viewer: str | None = None) -> dict:
    headers = {"host": "abc.lambda-url.us-east-1.on.aws"}
    if viewer is not None:
        headers["x-imgpro-viewer-url"] = viewer  # what the viewer function forwards
    return {
        "version": "2.0",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {"http": {"method": "GET", "path": path}},
        "isBase64Encoded": False,
    }


def test_the_resize_function_makes_stores_and_returns_a_variant(api, photo) -> None:
    response = handler_module("resize").handler(
        _function_url_event(f"/v/{photo['id']}/l.webp"), FakeContext()
    )
    assert response["statusCode"] == 200 and response["isBase64Encoded"] is True
    assert response["headers"]["Content-Type"] == "image/webp"
    assert response["headers"]["Vary"] == "Accept"
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


# --- variants too big for a buffered Lambda response ------------------------------------


def _huge_png(api, *, public: bool) -> dict:
    """Media whose `xl` PNG (1920x1344 of noise, ~7.7 MB, over 10 MB in base64) is more
    than a function URL response can carry. Uploaded small, then its stored original
    replaced: an upload this big would have to take the presigned-POST route."""
    fields = {"public": "1"} if public else {}
    body = api.upload("acme", images.png((64, 48)), filename="a.png", **fields).json()
    big = images.encode(images.noise((2000, 1400)), "PNG", compress_level=1)
    boto3.client("s3").put_object(Bucket=BUCKET, Key=images.stored_key(body), Body=big)
    return body


def test_the_inline_limit_is_lambdas_6_mib_after_base64_and_headers() -> None:
    from imgpro import delivery

    encoded = len(base64.b64encode(b"x" * delivery.MAX_INLINE_BODY_BYTES))
    assert encoded + delivery.RESPONSE_ENVELOPE_ALLOWANCE <= 6 * 1024 * 1024
    assert (
        len(base64.b64encode(b"x" * (delivery.MAX_INLINE_BODY_BYTES + 3)))
        + (delivery.RESPONSE_ENVELOPE_ALLOWANCE)
        > 6 * 1024 * 1024
    )


@pytest.mark.parametrize("public", [True, False], ids=["public", "private"])
def test_a_variant_too_big_for_a_lambda_response_arrives_on_the_first_request(api, public) -> None:
    from imgpro import delivery

    body = _huge_png(api, public=public)
    url = f"{body['src']}?size=xl" if public else f"{body['src']}&size=xl"
    first = fetch(url, NO_WEBP)
    # Stored, then sent back to the same URL (the signature included) to read it from S3.
    assert first.status == 307
    assert first.headers["Location"] == url
    assert first.headers["Cache-Control"] == "no-store"
    served = browse(url, NO_WEBP)
    assert served.status == 200 and served.headers["Content-Type"] == "image/png"
    assert len(served.body) > delivery.MAX_INLINE_BODY_BYTES
    assert len(base64.b64encode(served.body)) > 6 * 1024 * 1024
    assert _size(served) == (1920, 1344)
    assert served.headers["Vary"] == "Accept"
    sizes = api.get(f"/v1/media/{body['id']}", token="acme").json()["sizes"]
    assert sizes["xl"]["filesize"] == len(served.body)


def test_the_resize_function_redirects_a_variant_too_big_for_its_response(api) -> None:
    from imgpro import delivery

    body = _huge_png(api, public=True)
    viewer = f"/{body['id']}.png?size=xl&utm_source=mail"
    event = _function_url_event(f"/v/{body['id']}/xl.png", viewer=viewer)
    response = handler_module("resize").handler(event, FakeContext())
    assert response["statusCode"] == 307
    assert response["headers"]["Location"] == viewer
    assert response["headers"]["Cache-Control"] == "no-store"
    assert len(json.dumps(response)) < delivery.RESPONSE_ENVELOPE_ALLOWANCE
    stored = boto3.client("s3").get_object(Bucket=BUCKET, Key=f"v/{body['id']}/xl.png")
    assert stored["ContentLength"] > delivery.MAX_INLINE_BODY_BYTES
    # The redirected request: CloudFront finds the object in S3 (here: the local CDN).
    assert fetch(f"{CDN}{viewer}", NO_WEBP).status == 200


@pytest.mark.parametrize(
    "viewer",
    [
        None,
        "https://evil.example/{uid}.png?size=s",
        "//evil.example/{uid}.png?size=s",
        "/abcdefghijkl.png?size=s",
        "/private/{uid}.png?size=s",
        "/{uid}.png?size=s\r\nSet-Cookie: a=b",
        "/{uid}.png/../abcdefghijkl.png?size=s",
    ],
    ids=["absent", "other-host", "scheme-relative", "other-item", "other-side", "crlf", "dots"],
)
def test_the_resize_function_redirects_only_to_the_items_own_url(api, viewer, monkeypatch) -> None:
    from imgpro import delivery

    # Any variant is "too big" here, so the redirect path runs without a big render.
    monkeypatch.setattr(delivery, "MAX_INLINE_BODY_BYTES", 100)
    body = api.upload("acme", images.png((400, 300)), filename="a.png", public="1").json()
    forwarded = None if viewer is None else viewer.format(uid=body["id"])
    event = _function_url_event(f"/v/{body['id']}/s.png", viewer=forwarded)
    response = handler_module("resize").handler(event, FakeContext())
    # Stored all the same: a retry of the viewer's own URL finds it.
    assert response["statusCode"] == 503
    assert response["headers"]["Retry-After"] == "1"
    assert response["headers"]["Cache-Control"] == "no-store"
    assert "Location" not in response["headers"]
    assert fetch(f"{CDN}/{body['id']}.png?size=s", NO_WEBP).status == 200


def test_concurrent_callers_are_each_sent_back_to_their_own_url(api, monkeypatch) -> None:
    """One render serves every caller of a key, but a redirect names the caller's own URL:
    never another viewer's signature."""
    from imgpro import delivery

    monkeypatch.setattr(delivery, "MAX_INLINE_BODY_BYTES", 100)
    body = api.upload("acme", images.png((400, 300)), filename="a.png", public="1").json()
    key_path = f"/v/{body['id']}/s.png"
    first = delivery.from_origin(key_path, viewer=f"/{body['id']}.png?size=s&a=1")
    second = delivery.from_origin(key_path, viewer=f"/{body['id']}.png?size=s&b=2")
    assert first.headers["Location"].endswith("&a=1")
    assert second.headers["Location"].endswith("&b=2")
