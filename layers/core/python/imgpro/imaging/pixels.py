"""Pillow helpers shared by uploads (`raster`) and variants: modes, orientation, encoding.

Imports only `PIL.Image`: the variants function keeps its cold start by registering just
the four plugins it needs, and nothing here may pull in more.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image

from imgpro.imaging import formats
from imgpro.imaging.formats import ImageFormat


@dataclass(frozen=True)
class Quality:
    jpeg: int
    webp: int
    webp_method: int = 4
    """libwebp's `method` (libvips calls it effort): 4 is libwebp's and Pillow's default."""
    png_level: int = 6


ORIGINAL = Quality(jpeg=90, webp=85)
"""For originals we re-encode (an upload over the size limits, a HEIC or TIFF made WebP).
Every variant is made from the original later, so its loss is paid twice: keep it small."""

VARIANT = Quality(jpeg=82, webp=80)
"""For variants, made once from the original and served as they are. 80-82 is where
libvips's `thumbnail` and imgproxy sit: no visible loss at display sizes, and about a
third smaller than 90 (bench/README.md compares it with libvips)."""

# EXIF orientation -> the transpose that makes the image upright (as ImageOps.exif_transpose).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def upright(image: Image.Image, orientation: int) -> Image.Image:
    method = _UPRIGHT.get(orientation)
    return image if method is None else image.transpose(method)


def resizable(image: Image.Image) -> Image.Image:
    """The decoded image in a mode Pillow resamples well, converting only when needed.

    RGB, RGBA, L, LA and CMYK are resized as they are (Pillow premultiplies alpha for
    it); palettes, bilevel and 16-bit images become 8-bit RGB(A) or L first.
    """
    mode = image.mode
    transparent = "transparency" in image.info
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return image.point(lambda value: value * (1 / 256)).convert("L")
    if mode in ("P", "PA"):
        return image.convert("RGBA" if transparent or mode == "PA" else "RGB")
    if mode == "1":
        return image.convert("L")
    if mode in ("L", "RGB") and transparent:  # a PNG tRNS colour key
        return image.convert("LA" if mode == "L" else "RGBA")
    return image


def output_mode(
    image: Image.Image, output: ImageFormat, icc: bytes | None
) -> tuple[Image.Image, bytes | None]:
    """The pixels in a mode `output` stores, and the ICC profile that still describes them.

    A profile is kept only where its colour space is the pixels' (RGB or grey): a CMYK
    profile on RGB pixels, or a grey one on RGB, is one that readers reject or misapply.
    """
    space = icc[16:20] if icc and len(icc) >= 20 else None
    if image.mode == "CMYK":
        rgb = _cmyk_to_srgb(image, icc) if space == b"CMYK" else None
        return output_mode(rgb or image.convert("RGB"), output, None)
    alpha = image.mode in ("LA", "RGBA")
    if output is formats.PNG and image.mode in ("L", "LA"):
        wanted = image.mode  # a grey PNG stays grey (and a third of the size)
    elif output is formats.JPEG:
        wanted = "L" if image.mode in ("L", "LA") else "RGB"
    else:
        wanted = "RGBA" if alpha else "RGB"
    grey = wanted in ("L", "LA")
    keep = space == (b"GRAY" if grey else b"RGB ")
    return (image if image.mode == wanted else image.convert(wanted)), (icc if keep else None)


def _cmyk_to_srgb(image: Image.Image, icc: bytes | None) -> Image.Image | None:
    """Print CMYK converted with its own profile (lcms, imported only here) to untagged
    sRGB, which is what browsers assume; None if the profile is unusable."""
    from PIL import ImageCms

    try:
        cmyk = ImageCms.ImageCmsProfile(io.BytesIO(icc or b""))
        srgb = ImageCms.createProfile("sRGB")
        return ImageCms.profileToProfile(image, cmyk, srgb, outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError):
        return None  # then Pillow's plain conversion, like an untagged CMYK JPEG


def _options(
    output: ImageFormat,
    quality: Quality,
    *,
    icc: bytes | None,
    exif: Image.Exif | None = None,
    progressive: bool = False,
) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if icc:
        options["icc_profile"] = icc
    if exif is not None and output in (formats.JPEG, formats.PNG, formats.WEBP):
        options["exif"] = exif
    if output is formats.JPEG:
        options.update(quality=quality.jpeg, progressive=progressive)
    elif output is formats.WEBP:
        options.update(quality=quality.webp, method=quality.webp_method)
    elif output is formats.PNG:
        options.update(compress_level=quality.png_level)
    return options


def encode(
    image: Image.Image,
    output: ImageFormat,
    quality: Quality,
    *,
    icc: bytes | None = None,
    exif: Image.Exif | None = None,
    progressive: bool = False,
) -> bytes:
    """One still image in `output`, already in a mode `output` stores (`output_mode`)."""
    out = io.BytesIO()
    options = _options(output, quality, icc=icc, exif=exif, progressive=progressive)
    image.save(out, output.pillow, **options)
    return out.getvalue()


def encode_animation(
    frames: Sequence[Image.Image],
    durations: Sequence[int],
    output: ImageFormat,
    quality: Quality,
    *,
    loop: int = 0,
    icc: bytes | None = None,
) -> bytes:
    """Frames of one size, RGBA, as an animated `output` (WebP or GIF)."""
    out = io.BytesIO()
    options = _options(output, quality, icc=icc if output is formats.WEBP else None)
    options.update(save_all=True, append_images=frames[1:], duration=list(durations), loop=loop)
    if output is formats.GIF:
        options.update(disposal=2)
    else:
        # No forced key frames, libwebp's and libvips's default: Pillow's (gif2webp's
        # kmin=3, kmax=5) encode the whole canvas at least every fifth frame, which made
        # the bench's animated GIF 2.5-2.8x larger as WebP and 2.4-11x slower to encode.
        options.update(kmin=_NO_KEY_FRAMES - 1, kmax=_NO_KEY_FRAMES)
    frames[0].save(out, output.pillow, **options)
    return out.getvalue()


_NO_KEY_FRAMES = 2**31 - 1  # libwebp's kmax "never": INT_MAX


def frame_duration(image: Image.Image, default: int = 100) -> int:
    """The current frame's duration in ms; 0 or absent means the default, as browsers do.
    Read after the frame is loaded: WebP sets it only then."""
    return int(image.info.get("duration", default) or default)
