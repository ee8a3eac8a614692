"""What an image is (format, stored dimensions), read from its header without
decoding pixels. Imports Pillow: only image-decoding functions import this module."""

from __future__ import annotations

import io
from dataclasses import dataclass

from imgpro.imaging.formats import STORED_AS_IS, ImageFormat, detect
from imgpro.validation import InvalidField


@dataclass(frozen=True)
class ImageInfo:
    format: ImageFormat
    width: int
    height: int


def probe(data: bytes) -> ImageInfo:
    """Identify an upload by its magic bytes and read its dimensions from the header.

    Raises InvalidField with a message for the `file` field when it is not an image
    we store.
    """
    if not data:
        raise InvalidField("The file is empty")
    fmt = detect(data[:64])
    if fmt is None:
        raise InvalidField("The file is not an image in a supported format")
    if fmt not in STORED_AS_IS:
        accepted = ", ".join(f.name for f in STORED_AS_IS)
        raise InvalidField(f"{fmt.name} images are not supported yet; upload {accepted}")
    from PIL import Image, UnidentifiedImageError

    try:
        # Image.open reads only the header; restricting `formats` keeps every other
        # decoder (the usual home of Pillow CVEs) out of reach.
        with Image.open(io.BytesIO(data), formats=[fmt.pillow]) as image:
            width, height = image.size
    except Image.DecompressionBombError:
        raise InvalidField(f"The {fmt.name} image has too many pixels to process") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise InvalidField(f"The file is not a valid {fmt.name} image") from None
    if width <= 0 or height <= 0:
        raise InvalidField(f"The file is not a valid {fmt.name} image")
    return ImageInfo(format=fmt, width=width, height=height)
