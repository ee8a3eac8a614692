"""How big an image may be, stored and received. One place, so docs and tests agree.

Stored images fit the seed's limits (8,192 px a side, 48 MP); larger ones are
downscaled. What arrives may be bigger than that, up to what a legitimate camera
or scanner produces, but no bigger: a decompression bomb is refused from its
header, before any pixel is decoded.
"""

from __future__ import annotations

import math

VARIANT_SIZES: dict[str, int] = {"s": 320, "m": 640, "l": 1280, "xl": 1920, "xxl": 2560}
"""Longest side of each size variant, in the seed's order. Here rather than in
`variants` so the API functions can name sizes without importing Pillow."""

MAX_SIDE = 8192
MAX_PIXELS = 48_000_000

MAX_UPLOAD_BYTES = 100 * 1024 * 1024
"""The seed's file size limit (100 MB)."""

MAX_INPUT_PIXELS = 120_000_000
"""A 102 MP medium-format camera fits; decoding this needs ~480 MB at RGBA, within the
image functions' memory. Larger is refused as a decompression bomb."""
MAX_INPUT_SIDE = 65_535
"""JPEG's own limit; no legitimate image of ours is wider."""

MAX_FRAMES = 1_000
MAX_ANIMATION_PIXELS = 250_000_000
"""Frames x pixels of an animation: 250 frames at 1000 x 1000, or 100 at 1600 x 1562.
Every frame is decoded to check it and to resize it, so this bounds the work."""


def fitted(width: int, height: int) -> tuple[int, int]:
    """The largest size with the same aspect ratio within MAX_SIDE and MAX_PIXELS
    (the size itself when it already fits)."""
    scale = min(1.0, MAX_SIDE / width, MAX_SIDE / height, math.sqrt(MAX_PIXELS / (width * height)))
    if scale >= 1.0:
        return width, height
    return max(1, math.floor(width * scale)), max(1, math.floor(height * scale))
