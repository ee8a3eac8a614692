"""Placeholders a client paints before the image arrives: ThumbHash, BlurHash, a colour.

Computed once at ingest from a decode the pipeline already makes (see `raster`), from a
copy reduced to at most `SIDE` pixels a side, and stored on the item. Both encoders are
the published algorithms (ThumbHash: Evan Wallace's reference JS; BlurHash: Wolt's C
encoder), written here with separable sums over a 256-entry sRGB table: no maintained
Python package is both fast and installable in the imaging layer (docs/placeholders.md).
The tests compare their output with the `thumbhash` and `blurhash` packages'.

`color` is the image's average colour (ThumbHash's alpha-weighted average of the sRGB
values), as `#rrggbb`.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from operator import mul

from PIL import Image

SIDE = 24
"""Longest side of the copy both hashes are computed from. ThumbHash takes at most 100 and
BlurHash any size; their lowest 7 (ThumbHash) and 4 (BlurHash) frequencies are what a
24-pixel copy already holds (over 3 samples a cycle), at a seventeenth of the work of 100:
about 1 ms, 3-4 % of a 12 MP JPEG's ingest (bench/placeholders.py)."""
BLURHASH_COMPONENTS = (4, 3)

_SRGB_TO_LINEAR = tuple(
    v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4
    for v in (i / 255 for i in range(256))
)
_BASE83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"


@dataclass(frozen=True)
class Placeholder:
    thumbhash: str
    """The ThumbHash bytes, base64 (standard alphabet, padded)."""
    blurhash: str
    color: str
    """`#rrggbb`: the average colour."""

    def as_dict(self) -> dict[str, str]:
        return {"thumbhash": self.thumbhash, "blurhash": self.blurhash, "color": self.color}


def from_image(image: Image.Image, *, orientation: int = 1) -> Placeholder:
    """The placeholder of a decoded image (any mode, any size), as displayed after its
    EXIF `orientation` is applied. Reduces a copy first; `image` is left as it is."""
    small = _small_rgba(image)
    if orientation in (5, 6, 7, 8, 2, 3, 4):
        from imgpro.imaging import pixels

        small = pixels.upright(small, orientation)
    width, height = small.size
    data = small.tobytes()
    thumb, average = thumbhash(width, height, data)
    blur = blurhash(width, height, _flattened(data, average), *BLURHASH_COMPONENTS)
    color = "#" + "".join(f"{_byte(channel):02x}" for channel in average)
    return Placeholder(base64.b64encode(thumb).decode(), blur, color)


def _small_rgba(image: Image.Image) -> Image.Image:
    if image.mode not in ("RGB", "RGBA"):
        if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
            image = image.point(lambda value: value * (1 / 256)).convert("L")
        alpha = image.mode in ("LA", "PA", "RGBa", "La") or "transparency" in image.info
        image = image.convert("RGBA" if alpha else "RGB")
    scale = SIDE / max(image.width, image.height)
    if scale < 1:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.BOX, reducing_gap=2.0)
    return image if image.mode == "RGBA" else image.convert("RGBA")


def _byte(value: float) -> int:
    return max(0, min(255, math.floor(value * 255 + 0.5)))


def _round(value: float) -> int:
    """JavaScript's Math.round (halves up), as the reference encoder rounds."""
    return math.floor(value + 0.5)


# --- ThumbHash -----------------------------------------------------------------------


def thumbhash(width: int, height: int, rgba: bytes) -> tuple[bytes, tuple[float, float, float]]:
    """The ThumbHash of `width` x `height` RGBA pixels (at most 100 a side), and the
    image's average colour (0..1 sRGB, alpha-weighted) it encodes."""
    if not (0 < width <= 100 and 0 < height <= 100):
        raise ValueError(f"{width}x{height} does not fit in 100x100")
    count = width * height
    alpha = [value / 255 for value in rgba[3::4]]
    red, green, blue = rgba[0::4], rgba[1::4], rgba[2::4]
    total_a = sum(alpha)
    if total_a:
        avg_r = sum(map(mul, alpha, red)) / 255 / total_a
        avg_g = sum(map(mul, alpha, green)) / 255 / total_a
        avg_b = sum(map(mul, alpha, blue)) / 255 / total_a
    else:
        avg_r = avg_g = avg_b = 0.0
    has_alpha = total_a < count
    limit = 5 if has_alpha else 7
    lx = max(1, _round(limit * width / max(width, height)))
    ly = max(1, _round(limit * height / max(width, height)))
    if has_alpha:
        r = [avg_r * (1 - a) + a / 255 * v for a, v in zip(alpha, red, strict=True)]
        g = [avg_g * (1 - a) + a / 255 * v for a, v in zip(alpha, green, strict=True)]
        b = [avg_b * (1 - a) + a / 255 * v for a, v in zip(alpha, blue, strict=True)]
    else:
        r = [v / 255 for v in red]
        g = [v / 255 for v in green]
        b = [v / 255 for v in blue]
    lum = [(x + y + z) / 3 for x, y, z in zip(r, g, b, strict=True)]
    p = [(x + y) / 2 - z for x, y, z in zip(r, g, b, strict=True)]
    q = [x - y for x, y in zip(r, g, strict=True)]

    l_dc, l_ac, l_scale = _thumb_channel(lum, width, height, max(3, lx), max(3, ly))
    p_dc, p_ac, p_scale = _thumb_channel(p, width, height, 3, 3)
    q_dc, q_ac, q_scale = _thumb_channel(q, width, height, 3, 3)
    landscape = width > height
    header24 = (
        _round(63 * l_dc)
        | (_round(31.5 + 31.5 * p_dc) << 6)
        | (_round(31.5 + 31.5 * q_dc) << 12)
        | (_round(31 * l_scale) << 18)
        | (int(has_alpha) << 23)
    )
    header16 = (
        (ly if landscape else lx)
        | (_round(63 * p_scale) << 3)
        | (_round(63 * q_scale) << 9)
        | (int(landscape) << 15)
    )
    out = [header24 & 255, (header24 >> 8) & 255, header24 >> 16, header16 & 255, header16 >> 8]
    channels = [l_ac, p_ac, q_ac]
    if has_alpha:
        a_dc, a_ac, a_scale = _thumb_channel(alpha, width, height, 5, 5)
        out.append(_round(15 * a_dc) | (_round(15 * a_scale) << 4))
        channels.append(a_ac)
    start = len(out)
    index = 0
    for ac in channels:
        for value in ac:
            if index & 1 == 0:
                out.append(0)
            out[start + (index >> 1)] |= _round(15 * value) << ((index & 1) << 2)
            index += 1
    return bytes(out), (avg_r, avg_g, avg_b)


def _thumb_channel(
    channel: list[float], width: int, height: int, nx: int, ny: int
) -> tuple[float, list[float], float]:
    """The reference `encodeChannel`, with its double sum done a row at a time."""
    fx = [[math.cos(math.pi / width * cx * (x + 0.5)) for x in range(width)] for cx in range(nx)]
    fy = [[math.cos(math.pi / height * cy * (y + 0.5)) for y in range(height)] for cy in range(ny)]
    rows = [channel[y * width : (y + 1) * width] for y in range(height)]
    # sums[cx][y]: row y against the horizontal cosine cx.
    sums = [[sum(map(mul, row, fx[cx])) for row in rows] for cx in range(nx)]
    dc, ac, scale = 0.0, [], 0.0
    for cy in range(ny):
        cx = 0
        while cx * ny < nx * (ny - cy):
            f = sum(map(mul, sums[cx], fy[cy])) / (width * height)
            if cx or cy:
                ac.append(f)
                scale = max(scale, abs(f))
            else:
                dc = f
            cx += 1
    if scale:
        ac = [0.5 + 0.5 / scale * value for value in ac]
    return dc, ac, scale


# --- BlurHash ------------------------------------------------------------------------


def _flattened(rgba: bytes, average: tuple[float, float, float]) -> bytes:
    """RGB bytes: translucent pixels over the average colour, as ThumbHash sees them."""
    alpha = rgba[3::4]
    if min(alpha) == 255:
        rgb = bytearray(len(rgba) // 4 * 3)
        rgb[0::3], rgb[1::3], rgb[2::3] = rgba[0::4], rgba[1::4], rgba[2::4]
        return bytes(rgb)
    out = bytearray()
    back = [c * 255 for c in average]
    for i in range(0, len(rgba), 4):
        a = rgba[i + 3] / 255
        out += bytes(_byte((back[c] * (1 - a) + a * rgba[i + c]) / 255) for c in range(3))
    return bytes(out)


def blurhash(width: int, height: int, rgb: bytes, components_x: int, components_y: int) -> str:
    """The BlurHash of `width` x `height` RGB pixels (Wolt's encoder, term for term)."""
    linear = [_SRGB_TO_LINEAR[v] for v in rgb]
    fx = [[math.cos(math.pi * i * x / width) for x in range(width)] for i in range(components_x)]
    fy = [[math.cos(math.pi * j * y / height) for y in range(height)] for j in range(components_y)]
    # sums[c][i][y]: channel c of row y against the horizontal cosine i.
    stride = width * 3
    sums = [
        [
            [
                sum(map(mul, linear[y * stride + c : (y + 1) * stride : 3], fx[i]))
                for y in range(height)
            ]
            for i in range(components_x)
        ]
        for c in range(3)
    ]
    factors: list[tuple[float, float, float]] = []
    for j in range(components_y):
        for i in range(components_x):
            norm = (1.0 if i == 0 and j == 0 else 2.0) / (width * height)
            r, g, b = (norm * sum(map(mul, sums[c][i], fy[j])) for c in range(3))
            factors.append((r, g, b))
    dc, ac = factors[0], factors[1:]
    text = _base83((components_x - 1) + (components_y - 1) * 9, 1)
    if ac:
        actual = max(abs(v) for f in ac for v in f)
        quantised = max(0, min(82, math.floor(actual * 166 - 0.5)))
        maximum = (quantised + 1) / 166
        text += _base83(quantised, 1)
    else:
        maximum = 1.0
        text += _base83(0, 1)
    text += _base83((_to_srgb(dc[0]) << 16) + (_to_srgb(dc[1]) << 8) + _to_srgb(dc[2]), 4)
    for r, g, b in ac:
        text += _base83(
            _quantise(r / maximum) * 361 + _quantise(g / maximum) * 19 + _quantise(b / maximum), 2
        )
    return text


def _quantise(value: float) -> int:
    signed = math.copysign(abs(value) ** 0.5, value)
    return int(max(0, min(18, math.floor(signed * 9 + 9.5))))


def _to_srgb(value: float) -> int:
    v = max(0.0, min(1.0, value))
    if v <= 0.0031308:
        return int(v * 12.92 * 255 + 0.5)
    return int((1.055 * v ** (1 / 2.4) - 0.055) * 255 + 0.5)


def _base83(value: int, length: int) -> str:
    return "".join(_BASE83[(value // 83 ** (length - i - 1)) % 83] for i in range(length))
