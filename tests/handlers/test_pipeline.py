"""The image pipeline through POST /v1/upload: formats, limits, EXIF, hostile files."""

from __future__ import annotations

import io
from urllib.parse import urlsplit

import boto3
import pytest
from PIL import Image

from tests.conftest import BUCKET
from tests.support import images
from tests.support.images import encode, noise


def _stored(body: dict) -> tuple[bytes, str]:
    obj = boto3.client("s3").get_object(Bucket=BUCKET, Key=images.stored_key(body))
    return obj["Body"].read(), obj["ContentType"]


def _ok(response) -> dict:
    assert response.status == 201, response
    return response.json()


def _refused(response) -> str:
    assert response.status == 400, response
    body = response.json()
    assert body["error"] == "Validation failed" and list(body["errors"]) == ["file"]
    return body["errors"]["file"][0]


# --- formats --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "ext", "content_type", "mode"),
    [
        ("JPEG", "jpg", "image/jpeg", "RGB"),
        ("PNG", "png", "image/png", "RGBA"),
        ("GIF", "gif", "image/gif", "P"),
        ("WEBP", "webp", "image/webp", "RGBA"),
    ],
)
def test_web_formats_are_stored_as_sent(api, fmt, ext, content_type, mode) -> None:
    data = encode(Image.new(mode, (30, 20)), fmt)
    body = _ok(api.upload("acme", data, filename=f"pic.{ext}"))
    stored, stored_type = _stored(body)
    assert stored == data
    assert stored_type == content_type and urlsplit(body["src"]).path.endswith(f".{ext}")
    assert (body["width"], body["height"], body["filesize"]) == (30, 20, len(data))


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF", "TIFF", "BMP", "ICO", "PPM", "QOI"])
def test_other_formats_are_converted_to_webp(api, fmt) -> None:
    data = encode(noise((48, 48)), fmt)
    body = _ok(api.upload("acme", data, filename="scan.orig"))
    stored, stored_type = _stored(body)
    assert stored_type == "image/webp"
    assert body["name"] == "scan.webp" and urlsplit(body["src"]).path.endswith(".webp")
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "WEBP"
        assert image.size == (body["width"], body["height"]) == (48, 48)
    assert body["filesize"] == len(stored)


def test_png_alpha_is_kept(api) -> None:
    data = encode(Image.new("RGBA", (8, 8), (255, 0, 0, 40)), "PNG")
    stored, _ = _stored(_ok(api.upload("acme", data, filename="a.png")))
    assert Image.open(io.BytesIO(stored)).getpixel((0, 0))[3] == 40


def test_alpha_survives_conversion_to_webp(api) -> None:
    data = encode(Image.new("RGBA", (8, 8), (255, 0, 0, 0)), "TIFF")
    stored, _ = _stored(_ok(api.upload("acme", data)))
    assert Image.open(io.BytesIO(stored)).convert("RGBA").getpixel((0, 0))[3] == 0


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG"])
def test_animations_keep_every_frame_and_its_timing(api, fmt) -> None:
    data = images.animated(fmt, frames=3)
    stored, _ = _stored(_ok(api.upload("acme", data)))
    assert stored == data
    with Image.open(io.BytesIO(stored)) as image:
        assert image.n_frames == 3
        durations = []
        for index in range(3):
            image.seek(index)
            image.load()  # WebP reports a frame's duration once it is loaded
            durations.append(image.info["duration"])
    assert durations == [100, 110, 120]


@pytest.mark.parametrize(
    ("head", "name"),
    [
        (b"8BPS\x00\x01" + b"\x00" * 60, "PSD"),
        (b"%PDF-1.7\n%" + b"\x00" * 60, "PDF"),
        (b"%!PS-Adobe-3.0 EPSF-3.0\n" + b"\x00" * 40, "EPS"),
        (b"\x00\x00\x00\x0cjP  \r\n\x87\n" + b"\x00" * 60, "JPEG 2000"),
    ],
)
def test_risky_decoders_are_refused_by_name(api, head, name) -> None:
    assert _refused(api.upload("acme", head)).startswith(f"{name} files are not accepted")


# --- limits ---------------------------------------------------------------------------------


def test_a_side_over_8192_is_downscaled_keeping_the_aspect_ratio(api) -> None:
    data = encode(Image.new("RGB", (9000, 90), (1, 2, 3)), "PNG")
    body = _ok(api.upload("acme", data, filename="wide.png"))
    assert (body["width"], body["height"]) == (8192, 81)
    stored, stored_type = _stored(body)
    assert stored_type == "image/png"
    assert Image.open(io.BytesIO(stored)).size == (8192, 81)


def test_over_48_megapixels_is_downscaled_in_its_own_format(api) -> None:
    data = encode(Image.new("RGB", (8000, 6400), (9, 9, 9)), "JPEG", quality=50)
    body = _ok(api.upload("acme", data))
    assert body["width"] * body["height"] <= 48_000_000
    assert abs(body["width"] / body["height"] - 8000 / 6400) < 0.01
    stored, stored_type = _stored(body)
    assert stored_type == "image/jpeg"
    assert Image.open(io.BytesIO(stored)).size == (body["width"], body["height"])


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_an_animation_past_the_stored_limits_is_refused_not_reencoded(api, fmt) -> None:
    # Re-encoding every frame of an animation is the costliest thing the pipeline could do;
    # animations are stored as sent, so their canvas must already fit.
    data = images.animated(fmt, size=(9000, 10), frames=2)
    message = _refused(api.upload("acme", data))
    assert "canvas is 9000x10" in message and "8,192 pixels a side" in message


def test_a_decompression_bomb_is_refused_from_its_header(api) -> None:
    message = _refused(api.upload("acme", images.png_claiming(100_000, 100_000)))
    assert "100000x100000" in message and "refused" in message


def test_an_animation_over_the_frame_budget_is_refused(api) -> None:
    message = _refused(api.upload("acme", images.gif_canvas(4000, 4000, 20)))
    assert "megapixels over all frames" in message


def test_an_animation_with_too_many_frames_is_refused(api) -> None:
    assert "frames" in _refused(api.upload("acme", images.gif_canvas(2, 2, 1001)))


# --- EXIF -------------------------------------------------------------------------------


@pytest.mark.parametrize("orientation", range(1, 9))
def test_dimensions_are_reported_as_displayed(api, orientation) -> None:
    data = images.jpeg_with_exif((64, 48), orientation=orientation)
    body = _ok(api.upload("acme", data))
    expected = (48, 64) if orientation >= 5 else (64, 48)
    assert (body["width"], body["height"]) == expected
    stored, _ = _stored(body)
    assert Image.open(io.BytesIO(stored)).getexif().get(0x0112) == orientation


def test_gps_is_stripped_from_a_stored_jpeg(api) -> None:
    data = images.jpeg_with_exif(gps=True, orientation=3)
    stored, _ = _stored(_ok(api.upload("acme", data)))
    exif = Image.open(io.BytesIO(stored)).getexif()
    assert not exif.get_ifd(0x8825)
    assert exif.get(0x010F) == "TestCam" and exif.get(0x0112) == 3
    assert Image.open(io.BytesIO(stored)).tobytes() == Image.open(io.BytesIO(data)).tobytes()


def test_gps_is_stripped_when_a_jpeg_is_downscaled(api) -> None:
    image = Image.new("RGB", (9000, 20), (5, 5, 5))
    data = encode(image, "JPEG", exif=images.exif_bytes(gps=True))
    stored, _ = _stored(_ok(api.upload("acme", data)))
    assert not Image.open(io.BytesIO(stored)).getexif().get_ifd(0x8825)


def test_a_converted_image_is_turned_upright(api) -> None:
    image = Image.new("RGB", (60, 20), (0, 0, 0))
    image.paste((255, 255, 255), (0, 0, 10, 20))  # white stripe on the left
    data = encode(image, "TIFF", exif=images.exif_bytes(orientation=6, gps=True))
    body = _ok(api.upload("acme", data))
    assert (body["width"], body["height"]) == (20, 60)
    stored, _ = _stored(body)
    upright = Image.open(io.BytesIO(stored))
    assert upright.size == (20, 60)
    assert upright.getpixel((10, 2))[0] > 200  # rotated 90° clockwise: the stripe is on top
    assert not upright.getexif().get_ifd(0x8825)


# --- hostile and broken files --------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP"])
def test_a_truncated_image_is_refused(api, fmt) -> None:
    data = encode(noise((64, 64)), fmt)
    message = _refused(api.upload("acme", data[: len(data) * 2 // 3]))
    assert "truncated" in message or "corrupt" in message


def test_a_jpeg_with_a_zip_appended_is_refused_as_a_polyglot(api) -> None:
    data = images.jpeg() + b"PK\x03\x04" + b"\x00" * 40
    assert "after the end of the JPEG image" in _refused(api.upload("acme", data))


def test_a_png_with_html_after_iend_is_refused(api) -> None:
    data = images.png() + b"<html><script>alert(1)</script></html>"
    assert "after the end of the PNG image" in _refused(api.upload("acme", data))


def test_a_jpeg_with_a_script_in_its_comment_is_refused(api) -> None:
    data = encode(Image.new("RGB", (8, 8)), "JPEG", comment=b"<script>alert(1)</script>")
    assert "embedded markup" in _refused(api.upload("acme", data))


def test_trailing_zero_padding_is_tolerated_and_cut_off(api) -> None:
    data = images.jpeg()
    stored, _ = _stored(_ok(api.upload("acme", data + b"\x00" * 16)))
    assert stored == data


def test_a_gif_with_javascript_after_its_trailer_is_refused(api) -> None:
    assert _refused(api.upload("acme", images.gif() + b"=alert(1)//"))


def test_an_image_that_decodes_to_garbage_is_refused(api) -> None:
    data = bytearray(encode(noise((32, 32)), "PNG"))
    idat = data.index(b"IDAT")
    data[idat + 10 : idat + 30] = b"\xff" * 20  # corrupt the compressed pixels
    assert _refused(api.upload("acme", bytes(data)))


@pytest.mark.parametrize("garbage", [b"\x00" * 100, b"GIF89a", b"\x89PNG\r\n\x1a\n", b"RIFF"])
def test_headers_without_an_image_are_refused(api, garbage) -> None:
    assert _refused(api.upload("acme", garbage))


@pytest.mark.parametrize(
    "trailer",
    [
        images.jpeg((8, 8)),  # Ultra HDR / MPF: a gain map JPEG after the primary image
        b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64,  # Motion Photo
        b"\x00" * 8 + b"SEFH" + b"\x01" * 20 + b"SEFT",  # Samsung trailer
    ],
    ids=["mpf-gain-map", "motion-photo", "samsung"],
)
def test_phone_trailers_after_a_jpeg_are_cut_off_not_refused(api, trailer) -> None:
    primary = images.jpeg((64, 48))
    body = _ok(api.upload("acme", primary + trailer))
    stored, _ = _stored(body)
    assert stored == primary and body["filesize"] == len(primary)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_no_location_leaves_with_a_stored_original_and_its_pixels_are_unchanged(api, fmt) -> None:
    from imgpro.imaging import formats
    from tests.unit.test_metadata import PLANTED, SUBLOCATION, decoded, located_original

    data = located_original(getattr(formats, fmt))
    stored, _ = _stored(_ok(api.upload("acme", data)))
    for planted in (*PLANTED, SUBLOCATION.encode(), b"GPSLongitude", b"tEXt", b"zTXt"):
        assert planted not in stored, planted
    assert decoded(stored) == decoded(data)
