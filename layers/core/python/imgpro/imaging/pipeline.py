"""From uploaded bytes to the bytes we store: plan from headers, then do the pixel work.

Planning (`prepare`) reads only headers and container structure, so hostile input
is refused before anything expensive runs; the pixel work lives in `raster`.
JPEG, PNG, GIF and WebP are stored as-is (GPS removed) unless they exceed the
limits; SVG is sanitized; every other accepted format becomes WebP.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from imgpro.imaging import budget, formats, limits
from imgpro.imaging.errors import ImageRejected
from imgpro.imaging.formats import ImageFormat
from imgpro.imaging.privacy import DEFAULT_STRIP, StripPolicy

if TYPE_CHECKING:  # placeholder imports Pillow: only the functions that decode load it
    from imgpro.imaging.placeholder import Placeholder

# Markup that makes a file something else besides an image: a browser or an
# interpreter that sniffs it would run it. Each is 6+ bytes so that compressed pixel
# data, which is close to random, matches one by chance about never (short markers
# like "<svg" would hit about one 50 MB photo in ten).
_MARKUP = (
    b"<script",
    b"<iframe",
    b"<object",
    b"<embed",
    b"<html>",
    b"<html ",
    b"<body>",
    b"<?php ",
    b"<?php\n",
    b"<?php\r",
    b"javascript:",
)
# One pass for the tags instead of one per marker: the search jumps between "<" bytes (one
# in 256 of compressed data) in C, which keeps a 5 MB photo's scan near 4 ms, not 30.
_TAGS = re.compile(
    b"<(?:" + b"|".join(re.escape(m[1:]) for m in _MARKUP if m.startswith(b"<")) + b")"
)
_SCHEMES = tuple(m for m in _MARKUP if not m.startswith(b"<"))
_PADDING = b"\x00\r\n\t "


@dataclass(frozen=True)
class Prepared:
    data: bytes
    format: ImageFormat
    width: int
    """As displayed: EXIF orientation applied."""
    height: int
    placeholder: Placeholder | None = None
    """ThumbHash, BlurHash and average colour (imgpro.imaging.placeholder); None for SVG."""


def prepare(data: bytes, *, strip: StripPolicy = DEFAULT_STRIP) -> Prepared:
    """The bytes to store for an upload, and what they are. `strip` is the team's metadata
    privacy setting (imgpro.imaging.privacy). Raises ImageRejected."""
    if not data:
        raise ImageRejected("The file is empty")
    if len(data) > limits.MAX_UPLOAD_BYTES:
        raise ImageRejected("The file is larger than 100 MB")
    fmt = formats.detect(data[: formats.HEAD_BYTES])
    if fmt is None:
        raise ImageRejected("The file is not an image in a supported format")
    if fmt in formats.REFUSED:
        raise ImageRejected(f"{fmt.name} files are not accepted; convert to PNG or JPEG first")
    if fmt is formats.SVG:
        from imgpro.imaging.svg import sanitize_svg

        clean = sanitize_svg(data)
        return Prepared(clean.data, fmt, clean.width, clean.height)
    if fmt in formats.STORED_AS_IS:
        return _as_is(fmt, data, strip)
    from imgpro.imaging import raster

    expected = None
    if fmt in (formats.HEIF, formats.AVIF):
        # Their `ispe` can claim any size over a tiny coded image, and their decoders would
        # believe it: the size that counts is what the coded data holds.
        from imgpro.imaging.containers import isobmff

        header = isobmff.inspect(data)
        budget.check(fmt, header.coded_width, header.coded_height)
        expected = (header.width, header.height)
    image = raster.convert_to_webp(fmt, data, expected=expected)
    return Prepared(image.data, formats.WEBP, image.width, image.height, image.placeholder)


def _as_is(fmt: ImageFormat, data: bytes, strip: StripPolicy) -> Prepared:
    from imgpro.imaging import metadata, raster
    from imgpro.imaging.containers import inspect_container

    container = inspect_container(fmt, data)
    _refuse_extra_data(fmt, data, container.end)
    image = data[: container.end]
    _refuse_markup(fmt, image)
    width, height = container.width, container.height
    # Decided from the container walk alone: no decoder has seen the file yet.
    budget.check(fmt, width, height, frames=container.frames, scans=container.scans)
    swap = container.orientation in (5, 6, 7, 8)
    if limits.fitted(width, height) != (width, height):
        resized = raster.downscale(fmt, image)
        width, height = resized.width, resized.height
        stored = resized.data
        if strip == "all":
            # Pillow wrote the EXIF (less GPS) and the profile back: the same strip as below.
            stored = metadata.strip_all(fmt, stored, inspect_container(fmt, stored))
        made = resized.placeholder
    else:
        # Scrubbed first, so the decoder never inflates the text and profiles we drop. The
        # walk above is what checks the file: only the placeholder decodes, as little as it
        # can (for a camera's JPEG, the EXIF thumbnail, read from the file as sent).
        stored = metadata.scrub(fmt, image, container, strip=strip)
        made = raster.placeholder_of(fmt, stored, container)
    return Prepared(stored, fmt, *((height, width) if swap else (width, height)), made)


def _refuse_extra_data(fmt: ImageFormat, data: bytes, end: int) -> None:
    """Data after the image's end is refused, except what phones put there on purpose.

    Ultra HDR and gain-map JPEGs (MPF) append further JPEGs, Motion Photos an MP4,
    Samsung a tagged trailer: refusing those would refuse most new phone photos. They
    are cut off with the rest (so a Motion Photo's video, with its own location data,
    is not stored); anything else after the end is a polyglot and refused.
    """
    extra = data[end:]
    if not extra.strip(_PADDING) or (fmt is formats.JPEG and _phone_trailer(extra)):
        return
    if extra.strip(_PADDING):
        raise ImageRejected(
            f"The file has {len(extra):,} bytes after the end of the {fmt.name} image, so it is "
            f"not a clean {fmt.name} (a polyglot, or an image with a video or archive attached); "
            f"export it as a plain {fmt.name}"
        )


def _phone_trailer(extra: bytes) -> bool:
    body = extra.lstrip(_PADDING)
    return (
        body.startswith(b"\xff\xd8\xff")  # MPF: gain map, depth map, second frame
        or extra[4:8] == b"ftyp"  # Motion Photo: an MP4 right after the still
        or extra.rstrip(_PADDING).endswith(b"SEFT")  # Samsung's trailer index
    )


def _refuse_markup(fmt: ImageFormat, image: bytes) -> None:
    lowered = image.lower()
    found = _TAGS.search(lowered)
    marker = found.group() if found else next((m for m in _SCHEMES if m in lowered), None)
    if marker is not None:
        raise ImageRejected(
            f"The {fmt.name} file carries embedded markup ({marker.decode()}...); "
            "images with scripts or HTML inside are refused"
        )
