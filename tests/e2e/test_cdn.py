"""CDN delivery on the local stack: every size of every raster format, `sizes`, and
private media that only signed, unexpired URLs can fetch: one signature per item, which
opens its every size and no other item; `Vary: Accept` where the format follows Accept."""

from __future__ import annotations

import io
import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
import requests
from PIL import Image

from tests.support.images import animated, encode, gradient, noise, photo

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalStackProcess

pytestmark = pytest.mark.e2e

LONGEST = {"s": 320, "m": 640, "l": 1280, "xl": 1920, "xxl": 2560}
ACCEPT_WEBP = {"Accept": "image/avif,image/webp,image/apng,*/*;q=0.8"}
ACCEPT_LEGACY = {"Accept": "image/png,image/svg+xml,image/*;q=0.8"}


def _upload(stack: LocalStackProcess, data: bytes, **fields: str) -> dict:
    response = requests.post(
        f"{stack.base_url}/v1/upload",
        headers={"Authorization": f"Bearer {stack.tokens['acme:*']}"},
        files={"file": ("image", data)},
        data=fields,
        timeout=60,
    )
    assert response.status_code == 201, response.text
    return response.json()


def _get(stack: LocalStackProcess, uid: str) -> dict:
    return requests.get(
        f"{stack.base_url}/v1/media/{uid}",
        headers={"Authorization": f"Bearer {stack.tokens['acme:*']}"},
        timeout=10,
    ).json()


@pytest.mark.parametrize(
    ("fmt", "data"),
    [
        ("JPEG", lambda: encode(photo((3000, 2250)), "JPEG")),
        ("PNG", lambda: encode(gradient((2800, 2100)), "PNG")),
        ("WEBP", lambda: encode(photo((2700, 2025)), "WEBP")),
        ("GIF", lambda: animated("GIF", size=(2600, 1950), frames=2)),
    ],
    ids=["jpeg", "png", "webp", "gif"],
)
def test_every_size_of_every_format(local_stack, fmt, data) -> None:
    media = _upload(local_stack, data(), public="1")
    assert "sizes" not in media
    for size, longest in LONGEST.items():
        for accept, served_as in ((ACCEPT_WEBP, "WEBP"), (ACCEPT_LEGACY, fmt)):
            response = requests.get(f"{media['src']}?size={size}", headers=accept, timeout=60)
            assert response.status_code == 200, (size, response.text)
            with Image.open(io.BytesIO(response.content)) as image:
                assert image.format == served_as
                expected = min(longest, media["width"])
                assert image.width == expected, (size, image.size)
                assert abs(image.height - round(expected * 3 / 4)) <= 1
    sizes = _get(local_stack, media["id"])["sizes"]
    assert list(sizes) == list(LONGEST)
    for size, variant in sizes.items():
        assert max(variant["width"], variant["height"]) == LONGEST[size]
        fetched = requests.get(variant["src"], headers=ACCEPT_WEBP, timeout=30)
        assert fetched.status_code == 200


def test_an_animated_gif_stays_animated_at_every_size(local_stack) -> None:
    media = _upload(local_stack, animated("GIF", size=(700, 500), frames=3), public="1")
    response = requests.get(f"{media['src']}?size=s", headers=ACCEPT_LEGACY, timeout=30)
    with Image.open(io.BytesIO(response.content)) as image:
        assert image.n_frames == 3


def test_a_private_images_unsigned_url_is_refused(local_stack) -> None:
    media = _upload(local_stack, encode(noise((800, 600)), "JPEG"))
    assert requests.get(media["src"], timeout=10).status_code == 200
    bare = media["src"].split("?")[0]
    assert requests.get(bare, timeout=10).status_code == 403
    assert requests.get(f"{bare}?size=s", timeout=10).status_code == 403
    guessed = f"{local_stack.base_url}/cdn/{media['id']}.jpg"
    assert requests.get(guessed, timeout=10).status_code == 404
    assert urlsplit(media["src"]).path.startswith("/cdn/private/")


def test_a_private_images_signed_url_stops_working_when_it_expires(short_lived_urls_stack) -> None:
    stack = short_lived_urls_stack
    media = _upload(stack, encode(noise((800, 600)), "JPEG"))
    assert requests.get(media["src"], timeout=10).status_code == 200
    assert requests.get(f"{media['src']}&size=s", timeout=10).status_code == 200
    time.sleep(3)
    assert requests.get(media["src"], timeout=10).status_code == 403
    assert requests.get(f"{media['src']}&size=s", timeout=10).status_code == 403
    assert requests.get(f"{media['src']}&size=m", timeout=10).status_code == 403
    assert requests.get(_get(stack, media["id"])["src"], timeout=10).status_code == 200


def test_making_media_private_stops_its_old_public_url(local_stack) -> None:
    media = _upload(local_stack, encode(noise((800, 600)), "JPEG"), public="1")
    assert requests.get(f"{media['src']}?size=s", timeout=10).status_code == 200
    requests.patch(
        f"{local_stack.base_url}/v1/media/{media['id']}",
        headers={"Authorization": f"Bearer {local_stack.tokens['acme:*']}"},
        json={"public": False},
        timeout=10,
    )
    assert requests.get(media["src"], timeout=10).status_code == 404
    assert requests.get(f"{media['src']}?size=s", timeout=10).status_code == 404


def _longest(response: requests.Response) -> int:
    with Image.open(io.BytesIO(response.content)) as image:
        return max(image.size)


def test_a_private_images_src_opens_its_sizes_and_no_other_item(local_stack) -> None:
    media = _upload(local_stack, encode(noise((1200, 900)), "JPEG"))
    other = _upload(local_stack, encode(noise((1200, 900)), "JPEG"))
    base, _, signature = media["src"].partition("?")
    # `size=` appended to `src` (after Key-Pair-Id), or put before Policy: both work.
    for url, longest in ((f"{media['src']}&size=s", 320), (f"{base}?size=m&{signature}", 640)):
        response = requests.get(url, headers=ACCEPT_LEGACY, timeout=30)
        assert response.status_code == 200, response.text
        assert response.headers["Content-Type"] == "image/jpeg"
        assert _longest(response) == longest
        assert response.headers["Cache-Control"].startswith("private")
    sizes = _get(local_stack, media["id"])["sizes"]
    assert list(sizes) == ["s", "m"]
    for name, variant in sizes.items():
        assert max(variant["width"], variant["height"]) == LONGEST[name]
        fetched = requests.get(variant["src"], headers=ACCEPT_WEBP, timeout=30)
        assert fetched.status_code == 200
        assert _longest(fetched) == LONGEST[name]
    # This item's signature on the other item's URL: neither a size nor the original.
    other_base = other["src"].partition("?")[0]
    for url in (
        f"{other_base}?{signature}",
        f"{other_base}?{signature}&size=s",
        f"{other_base}?size=m&{signature}",
    ):
        assert requests.get(url, headers=ACCEPT_WEBP, timeout=10).status_code == 403, url
    assert "sizes" not in _get(local_stack, other["id"])  # the refusals made nothing
    assert requests.get(f"{other['src']}&size=s", timeout=30).status_code == 200


def test_a_tampered_policy_is_refused(local_stack) -> None:
    media = _upload(local_stack, encode(noise((800, 600)), "JPEG"))
    query = dict(piece.split("=", 1) for piece in media["src"].partition("?")[2].split("&"))
    policy = query["Policy"]
    swapped = policy[:-8] + ("A" if policy[-8] != "A" else "B") + policy[-7:]
    assert requests.get(media["src"].replace(policy, swapped), timeout=10).status_code == 403


def test_variants_vary_on_accept_originals_and_svg_do_not(local_stack) -> None:
    media = _upload(local_stack, encode(noise((800, 600)), "JPEG"), public="1")
    for accept in (ACCEPT_WEBP, ACCEPT_LEGACY):
        variant = requests.get(f"{media['src']}?size=s", headers=accept, timeout=30)
        assert variant.headers["Vary"] == "Accept"
    assert "Vary" not in requests.get(media["src"], headers=ACCEPT_WEBP, timeout=10).headers
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="80" height="40"><rect/></svg>'
    response = requests.post(
        f"{local_stack.base_url}/v1/upload",
        headers={"Authorization": f"Bearer {local_stack.tokens['acme:*']}"},
        files={"file": ("a.svg", svg)},
        data={"public": "1"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    src = response.json()["src"]
    for url in (src, f"{src}?size=s"):
        served = requests.get(url, headers=ACCEPT_WEBP, timeout=10)
        assert served.status_code == 200 and "Vary" not in served.headers
