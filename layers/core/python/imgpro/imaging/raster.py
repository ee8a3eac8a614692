"""Pixel work with Pillow: verify, downscale, convert. Imported only by functions that
decode images (the imaging layer), never at cold start of the others."""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

from PIL import Image, ImageOps, UnidentifiedImageError

from imgpro.imaging import formats, limits
from imgpro.imaging.errors import ImageRejected
from imgpro.imaging.formats import ImageFormat

# Pillow's own bomb check is a second line behind ours (which reads the header first).
Image.MAX_IMAGE_PIXELS = limits.MAX_INPUT_PIXELS

JPEG_QUALITY = 90
_BANDED_ABOVE_PIXELS = 16_000_000
_BAND_ROWS = 256
WEBP_QUALITY = 85
_DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, struct.error)


@dataclass(frozen=True)
class Header:
    width: int
    height: int
    mode: str


@dataclass(frozen=True)
class Encoded:
    data: bytes
    width: int
    height: int


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
    except Image.DecompressionBombError:
        raise ImageRejected(_bomb(fmt)) from None
    except _DECODE_ERRORS:
        raise ImageRejected(f"The file is not a valid {fmt.name} image") from None
    with image:
        yield image


@contextmanager
def _decoding(fmt: ImageFormat) -> Iterator[None]:
    try:
        yield
    except ImageRejected:
        raise
    except Image.DecompressionBombError:
        raise ImageRejected(_bomb(fmt)) from None
    except _DECODE_ERRORS as error:
        raise ImageRejected(f"The {fmt.name} image is truncated or corrupt ({error})") from None


def _bomb(fmt: ImageFormat) -> str:
    return (
        f"The {fmt.name} image has too many pixels; images over "
        f"{limits.MAX_INPUT_PIXELS // 1_000_000} megapixels are refused as decompression bombs"
    )


def read_header(fmt: ImageFormat, data: bytes) -> Header:
    with _opened(fmt, data) as image:
        return Header(width=image.width, height=image.height, mode=image.mode)


def verify(fmt: ImageFormat, data: bytes, *, frames: int = 1) -> None:
    """Decode every frame once, so a corrupt or truncated image is refused rather than
    stored. JPEG decodes at 1/8 scale (DCT scaling): every block is still read."""
    with _opened(fmt, data) as image, _decoding(fmt):
        if fmt is formats.JPEG:
            image.draft(image.mode, (max(1, image.width // 8), max(1, image.height // 8)))
            image.load()
            return
        for index in range(frames):
            image.seek(index)
            image.load()


def downscale(fmt: ImageFormat, data: bytes, *, frames: int = 1) -> Encoded:
    """The image fitted within the limits, in its own format (animation kept)."""
    with _opened(fmt, data) as image, _decoding(fmt):
        target = limits.fitted(image.width, image.height)
        info = dict(image.info)
        exif = _exif_without_gps(image)
        if frames > 1:
            return _downscale_animation(fmt, image, target, frames=frames, info=info)
        if fmt is formats.JPEG:
            # Let libjpeg decode at the smallest 1/2^n scale still >= target: the full
            # resolution never exists in memory when the image is over twice the limit.
            image.draft(image.mode, target)
        resized = _resized(image, target)
        return _encode(fmt, resized, info=info, exif=exif)


def convert_to_webp(fmt: ImageFormat, data: bytes) -> Encoded:
    """Any other accepted format as a still WebP, upright, within the limits.

    Multi-frame sources (HEIF sequences, multi-page TIFF) keep their first frame.
    """
    from imgpro.imaging.pipeline import check_budget

    with _opened(fmt, data) as image, _decoding(fmt):
        check_budget(fmt, image.width, image.height)
        image.seek(0)
        icc = image.info.get("icc_profile")
        upright = ImageOps.exif_transpose(image) or image
        pixels = _web_mode(upright)
        target = limits.fitted(pixels.width, pixels.height)
        resized = _resized(pixels, target)
        out = io.BytesIO()
        resized.save(out, "WEBP", quality=WEBP_QUALITY, method=4, icc_profile=icc)
        return Encoded(out.getvalue(), resized.width, resized.height)


def _web_mode(image: Image.Image) -> Image.Image:
    """RGB, or RGBA when the image has any transparency: what WebP stores."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        image = image.point(lambda value: value * (1 / 256)).convert("L")
    has_alpha = "A" in image.getbands() or "transparency" in image.info
    wanted = "RGBA" if has_alpha else "RGB"
    return image if image.mode == wanted else image.convert(wanted)


def _resized(image: Image.Image, target: tuple[int, int]) -> Image.Image:
    if image.size == target:
        image.load()
        return image
    if image.mode in ("P", "1", "LA") or image.mode.startswith("I"):
        image = image.convert(
            "RGBA" if "transparency" in image.info or image.mode == "LA" else "RGB"
        )
    if image.width * image.height <= _BANDED_ABOVE_PIXELS:
        # reducing_gap: a cheap box reduction first, then Lanczos on the small image.
        return image.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)
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


def _encode(
    fmt: ImageFormat, image: Image.Image, *, info: dict, exif: Image.Exif | None
) -> Encoded:
    out = io.BytesIO()
    options: dict = {}
    if info.get("icc_profile"):
        options["icc_profile"] = info["icc_profile"]
    if exif is not None and fmt in (formats.JPEG, formats.PNG, formats.WEBP):
        options["exif"] = exif
    if fmt is formats.JPEG:
        image = image if image.mode in ("RGB", "L", "CMYK") else image.convert("RGB")
        options.update(quality=JPEG_QUALITY, progressive=bool(info.get("progressive")))
    elif fmt is formats.WEBP:
        options.update(quality=WEBP_QUALITY, method=4)
    elif fmt is formats.PNG:
        options.update(compress_level=6)
    image.save(out, fmt.pillow, **options)
    return Encoded(out.getvalue(), image.width, image.height)


def _downscale_animation(
    fmt: ImageFormat, image: Image.Image, target: tuple[int, int], *, frames: int, info: dict
) -> Encoded:
    resized: list[Image.Image] = []
    durations: list[int] = []
    for index in range(frames):
        image.seek(index)
        frame = image.convert("RGBA")  # loads the frame: WebP sets its duration only then
        durations.append(int(image.info.get("duration", info.get("duration", 100)) or 100))
        resized.append(_resized(frame, target))
    out = io.BytesIO()
    options: dict = {"save_all": True, "append_images": resized[1:], "duration": durations}
    options["loop"] = info.get("loop", 0)
    if fmt is formats.WEBP:
        options.update(quality=WEBP_QUALITY, method=4)
    elif fmt is formats.GIF:
        options.update(disposal=2, optimize=False)
    resized[0].save(out, fmt.pillow, **options)
    return Encoded(out.getvalue(), target[0], target[1])


def _exif_without_gps(image: Image.Image) -> Image.Exif | None:
    """The image's EXIF minus GPS (a privacy default), or None when it has none."""
    exif = image.getexif()
    if not exif:
        return None
    exif.pop(0x8825, None)
    return exif
