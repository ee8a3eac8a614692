"""Placeholders (imgpro.imaging.placeholder) against the reference decoders and encoders.

`thumbhash` (0.1.2) and `blurhash` (1.1.5) are ports of the published algorithms: their
decoders read back what we store, and on opaque images their encoders must agree with
ours byte for byte (ours is the same sums, done a row at a time).
"""

from __future__ import annotations

import base64
import io
import math

import blurhash as reference_blurhash
import pytest
import thumbhash as reference_thumbhash
from PIL import Image, ImageStat

from imgpro.imaging import placeholder
from imgpro.imaging.pipeline import prepare


def _photo(size: tuple[int, int]) -> Image.Image:
    w, h = size
    red = Image.linear_gradient("L").resize((w, h))
    green = Image.radial_gradient("L").resize((w, h))
    blue = Image.effect_mandelbrot((w, h), (-2.0, -1.5, 1.0, 1.5), 40)
    return Image.merge("RGB", [red, green, blue])


def _jpeg(image: Image.Image, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, **options)
    return out.getvalue()


def _average(image: Image.Image) -> tuple[float, float, float]:
    mean = ImageStat.Stat(image.convert("RGB")).mean
    return (mean[0] / 255, mean[1] / 255, mean[2] / 255)


def _distance(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    return math.dist(a[:3], b[:3]) * 255


def _hex(color: str) -> tuple[float, float, float]:
    return tuple(int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))  # type: ignore[return-value]


@pytest.mark.parametrize("size", [(32, 24), (24, 32), (17, 9), (32, 32), (1, 1)])
def test_encoders_agree_with_the_reference_encoders(size) -> None:
    image = _photo(size)
    rgba = image.convert("RGBA").tobytes()
    ours, _ = placeholder.thumbhash(*size, rgba)
    assert ours == bytes(reference_thumbhash.rgba_to_thumb_hash(*size, list(rgba)))
    rows = [[list(image.getpixel((x, y))) for x in range(size[0])] for y in range(size[1])]
    expected = reference_blurhash.encode(rows, 4, 3)
    assert placeholder.blurhash(*size, image.tobytes(), 4, 3) == expected


@pytest.mark.parametrize("size", [(4000, 3000), (1200, 1600), (3000, 1000)])
def test_a_stored_placeholder_decodes_to_the_image_colour_and_shape(size) -> None:
    image = _photo(size)
    made = prepare(_jpeg(image)).placeholder
    assert made is not None
    average = _average(image)
    assert _distance(_hex(made.color), average) < 6

    thumb = list(base64.b64decode(made.thumbhash))
    assert _distance(reference_thumbhash.thumb_hash_to_average_rgba(thumb), average) < 8
    ratio = reference_thumbhash.thumb_hash_to_approximate_aspect_ratio(thumb)
    # ThumbHash keeps the ratio as 7 / n components (n = 1..7): as close as that allows.
    w, h = size
    short = max(1, math.floor(7 * min(w, h) / max(w, h) + 0.5))
    assert ratio == pytest.approx((7 / short) if w > h else (short / 7))
    assert abs(math.log(ratio / (w / h))) < math.log(1.5)
    # (The package's full decode, thumb_hash_to_rgba, reuses its first pixel's cosines for
    # every pixel in 0.1.2, so only its average and ratio readers are used here.)

    assert reference_blurhash.components(made.blurhash) == (4, 3)
    rows = reference_blurhash.decode(made.blurhash, 32, 24)
    flat = [px for row in rows for px in row]
    blur_mean = tuple(sum(px[c] for px in flat) / len(flat) / 255 for c in range(3))
    assert _distance(blur_mean, average) < 12


def test_the_placeholder_is_of_the_image_as_displayed() -> None:
    """A landscape JPEG with EXIF orientation 6 displays portrait: so does its ThumbHash."""
    exif = Image.Exif()
    exif[0x0112] = 6
    made = prepare(_jpeg(_photo((1600, 800)), exif=exif)).placeholder
    assert made is not None
    ratio = reference_thumbhash.thumb_hash_to_approximate_aspect_ratio(
        list(base64.b64decode(made.thumbhash))
    )
    assert ratio < 1


def test_transparent_images_are_flattened_over_their_average() -> None:
    image = Image.new("RGBA", (40, 30), (200, 40, 40, 255))
    image.paste((0, 0, 0, 0), (0, 0, 20, 30))
    made = placeholder.from_image(image)
    assert made.color == "#c82828"
    assert base64.b64decode(made.thumbhash)[2] & 0x80  # ThumbHash's has-alpha bit
    assert len(made.blurhash) == 4 + 2 * 4 * 3


@pytest.mark.parametrize(
    ("fmt", "mode"),
    [("PNG", "P"), ("GIF", "P"), ("WEBP", "RGBA"), ("PNG", "I;16"), ("TIFF", "CMYK")],
)
def test_every_stored_raster_gets_one(fmt, mode) -> None:
    image = _photo((64, 48)).convert(mode) if mode != "I;16" else Image.new("I;16", (64, 48), 30000)
    out = io.BytesIO()
    image.save(out, fmt)
    made = prepare(out.getvalue()).placeholder
    assert made is not None and made.color.startswith("#") and len(made.color) == 7


def test_svg_has_none() -> None:
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        b'<rect width="10" height="10"/></svg>'
    )
    assert prepare(svg).placeholder is None
