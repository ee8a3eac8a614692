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

MAX_INPUT_SIDE = 65_535
"""JPEG's own limit; no legitimate image of ours is wider."""

# --- The work budget (imaging/budget.py applies it, from headers alone) -----------------
# The yardstick is a real 48 MP phone photo: a 48 MP HEIC costs 2.7-4.8 s and 640-730 MB
# to take in (bench/hostile.py). Each limit below keeps the worst file of its class under
# that, and every photo up to the seed's 48 MP under it. docs/limits.md has the table.

MAX_INPUT_PIXELS = 120_000_000
"""Stills whose decoder can shrink while decoding (JPEG's DCT scaling): a 102 MP
medium-format camera fits. It is decoded at the smallest 1/2^n scale still at least the
stored size (whole up to 192 MP: 2.7 s for 110 MP, under a 48 MP HEIC; bench/README.md)."""

MAX_FULL_DECODE_PIXELS = 52_000_000
"""Stills that only decode at full size (PNG, GIF, WebP, HEIF, AVIF, TIFF, BMP, ...): the
largest phone sensors (48 MP, 50 MP at 8160x6144) fit. A 110 MP 1-bit PNG of 13 KB
cost 5-11 s and 1 GB before this limit."""

MAX_SCAN_PIXELS = 1_200_000_000
"""Pixels x scans of a progressive JPEG: every scan is another decoding pass over every
block, however small its data (999 scans of 48 MP in 260 KB took 45-59 s). Encoders
write 10 (libjpeg) to about 20 (mozjpeg) scans: 48 MP at 25 scans, or 120 MP at 10."""

MAX_FRAMES = 1_000
MAX_ANIMATION_PIXELS = 128_000_000
"""Canvas pixels x frames of an animation. Every frame is composited on the full canvas,
whatever its own size, and every frame is decoded and encoded again for each variant:
30 frames at 2000 x 2000, 138 at 1280 x 720, 512 at 500 x 500. Two 16x16 frames on a
10000x12000 GIF screen took 44-110 s and 2 GB before this limit."""


def fitted(width: int, height: int) -> tuple[int, int]:
    """The largest size with the same aspect ratio within MAX_SIDE and MAX_PIXELS
    (the size itself when it already fits)."""
    scale = min(1.0, MAX_SIDE / width, MAX_SIDE / height, math.sqrt(MAX_PIXELS / (width * height)))
    if scale >= 1.0:
        return width, height
    return max(1, math.floor(width * scale)), max(1, math.floor(height * scale))
