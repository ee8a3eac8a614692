"""The work budget: what an image will cost to decode, decided from its header alone.

A file's size says nothing about its cost: 139 bytes of GIF can ask for two 120 MP
canvases, 260 KB of JPEG for 999 passes over 48 MP. What decoding touches is:

- an animation: canvas pixels x frames, since every frame is composited on the full
  canvas whatever its own size, and each is decoded again for every variant;
- a progressive JPEG: pixels x scans, since every scan is another pass over every block;
- a still in a format that can only decode at full size: its pixels;
- a baseline JPEG: its pixels, which libjpeg shrinks while decoding (DCT scaling).

Callers pass what the container walk or the format's header says, before any decoder
runs, so a refusal costs a header read. The limits live in `limits`, with their reasons.
"""

from __future__ import annotations

from imgpro.imaging import formats, limits
from imgpro.imaging.errors import ImageRejected
from imgpro.imaging.formats import ImageFormat

REDUCED_DECODE = (formats.JPEG,)
"""Formats whose decoder can shrink while decoding, so a large still costs a fraction."""


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1_000_000:,.0f} megapixels"


def check(fmt: ImageFormat, width: int, height: int, *, frames: int = 1, scans: int = 1) -> None:
    """Refuse what decoding would cost more than any real photo within our limits.

    `width` x `height` is the canvas as the header gives it (for an animation, the
    canvas every frame is composited on); `scans` the progressive scans of a JPEG.
    Raises ImageRejected saying what is too large.
    """
    if width <= 0 or height <= 0:
        raise ImageRejected(f"The {fmt.name} image has no pixels")
    pixels = width * height
    if max(width, height) > limits.MAX_INPUT_SIDE:
        raise ImageRejected(
            f"The {fmt.name} image is {width}x{height} pixels; images over "
            f"{limits.MAX_INPUT_SIDE:,} pixels a side are refused"
        )
    if frames > 1:
        _check_animation(fmt, width, height, frames)
    elif fmt in REDUCED_DECODE:
        if pixels > limits.MAX_INPUT_PIXELS:
            raise _too_many_pixels(fmt, width, height, limits.MAX_INPUT_PIXELS)
    elif pixels > limits.MAX_FULL_DECODE_PIXELS:
        raise _too_many_pixels(fmt, width, height, limits.MAX_FULL_DECODE_PIXELS)
    if scans > 1 and pixels * scans > limits.MAX_SCAN_PIXELS:
        # The largest scan count this size may have, so the message says what would pass.
        allowed = max(1, limits.MAX_SCAN_PIXELS // pixels)
        raise ImageRejected(
            f"The progressive JPEG has {scans:,} scans of {width}x{height} pixels; at this size "
            f"at most {allowed:,} scans are accepted (re-save it as baseline JPEG)"
        )


def _check_animation(fmt: ImageFormat, width: int, height: int, frames: int) -> None:
    if frames > limits.MAX_FRAMES:
        raise ImageRejected(
            f"The animation has {frames:,} frames; at most {limits.MAX_FRAMES:,} are accepted"
        )
    # Animations are stored as sent: a canvas past the stored limits would need every frame
    # decoded, resized and encoded again, which is the most expensive thing we could do.
    if limits.fitted(width, height) != (width, height):
        raise ImageRejected(
            f"The {fmt.name} animation's canvas is {width}x{height} pixels; animations must fit "
            f"{limits.MAX_SIDE:,} pixels a side and {_megapixels(limits.MAX_PIXELS)}"
        )
    work = width * height * frames
    if work > limits.MAX_ANIMATION_PIXELS:
        raise ImageRejected(
            f"The {fmt.name} animation has {frames:,} frames on a {width}x{height} canvas "
            f"({_megapixels(work)} to decode); at most "
            f"{_megapixels(limits.MAX_ANIMATION_PIXELS)} over all frames are accepted"
        )


def _too_many_pixels(fmt: ImageFormat, width: int, height: int, limit: int) -> ImageRejected:
    return ImageRejected(
        f"The {fmt.name} image is {width}x{height} pixels ({_megapixels(width * height)}); "
        f"{fmt.name} images over {_megapixels(limit)} are refused"
    )
