"""The pixel size a browser gives an SVG shown as an image: `width`/`height` when they
are absolute lengths, else derived from the `viewBox`, else CSS's 300 by 150
replaced-element default."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, cast

import tinycss2

from imgpro.imaging.errors import ImageRejected

if TYPE_CHECKING:
    from imgpro.imaging.svg.css import ComponentValue

MAX_DIMENSION = 100_000
DEFAULT_WIDTH = 300
DEFAULT_HEIGHT = 150

# CSS absolute units in CSS pixels (96 per inch).
_PX_PER_UNIT = {
    "px": 1.0,
    "in": 96.0,
    "cm": 96 / 2.54,
    "mm": 96 / 25.4,
    "q": 96 / 101.6,
    "pt": 96 / 72,
    "pc": 16.0,
}


def pixel_size(attributes: dict[str, str]) -> tuple[int, int]:
    """(width, height) in whole pixels, each at least 1; raises ImageRejected above
    100,000."""
    width = _absolute_length(attributes.get("width"))
    height = _absolute_length(attributes.get("height"))
    view_box = _view_box_size(attributes.get("viewBox"))
    # With one side given, a browser keeps the viewBox's aspect ratio for the other.
    if width is None and height is None:
        width, height = view_box or (DEFAULT_WIDTH, DEFAULT_HEIGHT)
    elif width is None:
        assert height is not None  # not both None, and width is
        width = height * view_box[0] / view_box[1] if view_box else DEFAULT_WIDTH
    elif height is None:
        height = width * view_box[1] / view_box[0] if view_box else DEFAULT_HEIGHT
    return _whole_pixels(width, "width"), _whole_pixels(height, "height")


def _absolute_length(raw: str | None) -> float | None:
    """A length in px, or None when missing, relative (`%`, `em`...) or invalid, which
    browsers all treat as `auto`."""
    if raw is None:
        return None
    token = cast("ComponentValue", tinycss2.parse_one_component_value(raw))
    if token.type == "number":
        pixels = float(token.value)
    elif token.type == "dimension" and token.lower_unit in _PX_PER_UNIT:
        pixels = token.value * _PX_PER_UNIT[token.lower_unit]
    else:
        return None
    return pixels if math.isfinite(pixels) and pixels >= 0 else None


def _view_box_size(raw: str | None) -> tuple[float, float] | None:
    """The viewBox's width and height; None when it is missing or invalid (four numbers
    separated by spaces or commas, with a positive width and height)."""
    if raw is None:
        return None
    numbers = []
    tokens = cast("Iterable[ComponentValue]", tinycss2.parse_component_value_list(raw))
    for token in tokens:
        if token.type == "number":
            numbers.append(float(token.value))
        elif not (token.type == "whitespace" or (token.type == "literal" and token.value == ",")):
            return None
    if len(numbers) != 4:
        return None
    width, height = numbers[2], numbers[3]
    if not (math.isfinite(width) and math.isfinite(height) and width > 0 and height > 0):
        return None
    return width, height


def _whole_pixels(value: float, side: str) -> int:
    pixels = math.floor(value + 0.5) if math.isfinite(value) else None
    if pixels is None or pixels > MAX_DIMENSION:
        raise ImageRejected(
            f"The SVG's {side} is larger than the maximum of {MAX_DIMENSION:,} pixels"
        )
    return max(1, pixels)
