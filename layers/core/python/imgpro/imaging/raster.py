"""Pixel work with Pillow for uploads: a placeholder, downscale a still, convert to WebP.

Imported only by functions that decode images, never at cold start of the others.
Every caller has checked the work budget from the header first (`budget`), so what
reaches a decoder here is known to cost no more than a real photo.
"""

from __future__ import annotations

import io
import struct
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

from PIL import Image, ImageOps

from imgpro.imaging import budget, formats, limits, pixels, placeholder
from imgpro.imaging.containers import jpeg as jpeg_container
from imgpro.imaging.containers.layout import Layout
from imgpro.imaging.errors import DECODE_ERRORS, ImageRejected
from imgpro.imaging.exif import exif_thumbnail, orientation_of
from imgpro.imaging.formats import ImageFormat
from imgpro.imaging.pixels import ORIGINAL
from imgpro.imaging.placeholder import Placeholder

# Pillow's own bomb check is a second line behind ours (which reads the header first):
# it warns above MAX_IMAGE_PIXELS and raises only at twice that, so its warning is made
# an error too.
Image.MAX_IMAGE_PIXELS = limits.MAX_INPUT_PIXELS
warnings.simplefilter("error", Image.DecompressionBombWarning)

_BANDED_ABOVE_PIXELS = 16_000_000
_BAND_ROWS = 256
_REDUCING_GAP = 3.0
"""A cheap box reduction first, then Lanczos on the small image: for originals, a gap
wider than the variants' 2.0, since they are made once and every variant starts there."""
_BOMBS = (Image.DecompressionBombError, Image.DecompressionBombWarning)


@dataclass(frozen=True)
class Encoded:
    data: bytes
    width: int
    height: int
    placeholder: Placeholder | None = None
    """Of the upright image (imgpro.imaging.placeholder), from the pixels at hand."""


@cache
def _register_heif() -> None:
    # pillow-heif is only needed for HEIC/HEIF; registering it costs import time.
    from pillow_heif import register_heif_opener

    register_heif_opener()


@contextmanager
def _opened(fmt: ImageFormat, data: bytes) -> Iterator[Image.Image]:
    """Open with only this format's decoder: every other decoder (the usual home of
    Pillow CVEs) stays out of reach of what the magic bytes claimed."""
    if fmt is formats.HEIF:
        _register_heif()
    try:
        image = Image.open(io.BytesIO(data), formats=[fmt.pillow])
    except _BOMBS:
        raise ImageRejected(_bomb(fmt)) from None
    except DECODE_ERRORS:
        raise ImageRejected(f"The file is not a valid {fmt.name} image") from None
    with image:
        yield image


@contextmanager
def _decoding(fmt: ImageFormat) -> Iterator[None]:
    try:
        yield
    except ImageRejected:
        raise
    except _BOMBS:
        raise ImageRejected(_bomb(fmt)) from None
    except DECODE_ERRORS as error:
        raise ImageRejected(f"The {fmt.name} image is truncated or corrupt ({error})") from None


def _bomb(fmt: ImageFormat) -> str:
    return (
        f"The {fmt.name} image's header claims over "
        f"{limits.MAX_INPUT_PIXELS // 1_000_000} megapixels; it is refused as a "
        "decompression bomb"
    )


def placeholder_of(fmt: ImageFormat, data: bytes, layout: Layout) -> Placeholder:
    """The placeholder of an image stored as sent (`layout`: its container walk), from the
    least decoding that gives one:

    - a JPEG's EXIF thumbnail, when it has the image's shape (a camera's, a phone's): a
      few kilobytes decoded instead of megabytes;
    - else a progressive JPEG's first scan, when it holds the DC of every component: the
      1/8-scale image, at the DC's first precision, from a tenth of the file;
    - else a JPEG at 1/8 scale (DCT scaling: every block's entropy data is still read);
    - else the first frame of the others (PNG, GIF, WebP; an animation's other frames are
      not needed).

    Nothing else decodes what is stored as sent at ingest: the container walk is what
    checks it (docs/decisions.md, "What checks an image stored as sent")."""
    orientation = orientation_of(layout.exif)
    if fmt is formats.JPEG:
        small = _jpeg_thumbnail(layout) or jpeg_container.first_scan(data)
        with _opened(fmt, small or data) as image, _decoding(fmt):
            if image.size == (layout.width, layout.height):  # not the thumbnail
                image.draft(image.mode, (max(1, image.width // 8), max(1, image.height // 8)))
            image.load()
            return placeholder.from_image(image, orientation=orientation)
    with _opened(fmt, data) as image, _decoding(fmt):
        image.seek(0)
        image.load()
        return placeholder.from_image(image, orientation=orientation)


_THUMBNAIL_SHAPE = 0.02
"""How far a thumbnail's aspect ratio may be from the image's: cameras round its sides to
whole pixels (160x107 for 3:2). A thumbnail of another shape is letterboxed, or left over
from before an edit cropped the image, and is not used."""


def _jpeg_thumbnail(layout: Layout) -> bytes | None:
    thumbnail = exif_thumbnail(layout.exif)
    if thumbnail is None:
        return None
    try:
        thumbnail_layout = jpeg_container.walk(thumbnail)
    except ImageRejected:
        return None
    shape = (thumbnail_layout.width / thumbnail_layout.height) / (layout.width / layout.height)
    return thumbnail if abs(shape - 1) <= _THUMBNAIL_SHAPE else None


def downscale(fmt: ImageFormat, data: bytes) -> Encoded:
    """A still fitted within the limits, in its own format. (Animations past the limits
    are refused by the budget: they are never re-encoded.)"""
    with _opened(fmt, data) as image, _decoding(fmt):
        target = limits.fitted(image.width, image.height)
        info = dict(image.info)
        exif = _exif_without_gps(image)
        if fmt is formats.JPEG:
            # Let libjpeg decode at the smallest 1/2^n scale still >= target: the full
            # resolution never exists in memory when the image is over twice the limit.
            image.draft(image.mode, target)
        resized = _resized(pixels.resizable(image), target)
        out, icc = pixels.output_mode(resized, fmt, info.get("icc_profile"))
        progressive = bool(info.get("progressive"))
        data = pixels.encode(out, fmt, ORIGINAL, icc=icc, exif=exif, progressive=progressive)
        orientation = exif.get(0x0112, 1) if exif is not None else 1
        made = placeholder.from_image(out, orientation=orientation)
        return Encoded(data, out.width, out.height, made)


def convert_to_webp(
    fmt: ImageFormat, data: bytes, *, expected: tuple[int, int] | None = None
) -> Encoded:
    """Any other accepted format as a still WebP, upright, within the limits.

    Multi-frame sources (HEIF sequences, multi-page TIFF) keep their first frame.
    `expected` is the size a container walk found (HEIF, AVIF): the decoder must agree
    with it, either way round, since pillow-heif applies `irot` and Pillow's AVIF does not.
    """
    if fmt is formats.ICO:
        _check_icon_entries(data)
    with _opened(fmt, data) as image, _decoding(fmt):
        # Opening read the header only: the budget decides before any pixel is decoded.
        budget.check(fmt, image.width, image.height)
        if expected is not None and image.size not in (expected, expected[::-1]):
            raise ImageRejected(
                f"The {fmt.name} file is malformed (its decoder sees {image.width}x"
                f"{image.height} pixels where its header says {expected[0]}x{expected[1]})"
            )
        image.seek(0)
        icc = image.info.get("icc_profile")
        upright = ImageOps.exif_transpose(image) or image
        target = limits.fitted(upright.width, upright.height)
        resized = _resized(pixels.resizable(upright), target)
        out, icc = pixels.output_mode(resized, formats.WEBP, icc)
        data = pixels.encode(out, formats.WEBP, ORIGINAL, icc=icc)
        return Encoded(data, out.width, out.height, placeholder.from_image(out))


_ICON_SIDE = 256
"""The ICO format's largest image; its directory cannot even say more."""


def _check_icon_entries(data: bytes) -> None:
    """Refuse an icon whose embedded PNG or DIB claims more than an icon can be.

    Pillow sizes an icon from its directory (at most 256 px) but decodes whatever image
    the entry holds at that image's own size, so the directory would hide a bomb.
    """
    count = int.from_bytes(data[4:6], "little")
    for index in range(count):
        entry = 6 + 16 * index
        if entry + 16 > len(data):
            raise ImageRejected("The ICO file is truncated (its directory is cut short)")
        (offset,) = struct.unpack_from("<I", data, entry + 12)
        if data[offset : offset + 8] == b"\x89PNG\r\n\x1a\n" and offset + 24 <= len(data):
            width, height = struct.unpack_from(">II", data, offset + 16)
        elif offset + 12 <= len(data):
            width, height = struct.unpack_from("<ii", data, offset + 4)
            height = abs(height) // 2  # a DIB in an icon counts its AND mask's rows too
        else:
            raise ImageRejected("The ICO file is truncated (an entry points past its end)")
        if not 0 < abs(width) <= _ICON_SIDE or not 0 < height <= _ICON_SIDE:
            raise ImageRejected(
                f"The ICO file holds a {abs(width)}x{height} image; icons are at most "
                f"{_ICON_SIDE}x{_ICON_SIDE} pixels"
            )


def _resized(image: Image.Image, target: tuple[int, int]) -> Image.Image:
    if image.size == target:
        image.load()
        return image
    if image.width * image.height <= _BANDED_ABOVE_PIXELS:
        return image.resize(target, Image.Resampling.LANCZOS, reducing_gap=_REDUCING_GAP)
    return _resized_in_bands(image, target)


def _resized_in_bands(image: Image.Image, target: tuple[int, int]) -> Image.Image:
    """Lanczos resize, a band of output rows at a time.

    Pillow resizes in two passes through an intermediate image as tall as the source
    and as wide as the target: for a 60 MP photo that is another 215 MB. Resizing
    bands (Pillow's `box`) keeps that intermediate a few rows tall; the filter still
    reads source rows beyond each band, so the seams are exact.
    """
    width, height = target
    scale = image.height / height
    out = Image.new(image.mode, target)
    for top in range(0, height, _BAND_ROWS):
        bottom = min(height, top + _BAND_ROWS)
        box = (0.0, top * scale, float(image.width), bottom * scale)
        band = image.resize((width, bottom - top), Image.Resampling.LANCZOS, box=box)
        out.paste(band, (0, top))
    return out


def _exif_without_gps(image: Image.Image) -> Image.Exif | None:
    """The image's EXIF minus GPS (a privacy default), or None when it has none."""
    exif = image.getexif()
    if not exif:
        return None
    exif.pop(0x8825, None)
    return exif
