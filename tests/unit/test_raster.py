"""Pixel helpers of the pipeline."""

from __future__ import annotations

import pytest
from PIL import Image, ImageChops

from imgpro.imaging import limits, raster
from tests.support.images import noise


def test_banded_resize_matches_a_single_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    source = noise((600, 700))
    whole = source.resize((250, 290), Image.Resampling.LANCZOS)
    monkeypatch.setattr(raster, "_BAND_ROWS", 32)
    banded = raster._resized_in_bands(source, (250, 290))
    difference = ImageChops.difference(whole, banded).getextrema()
    assert max(high for _, high in difference) <= 1  # rounding only; no seams


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((100, 100), (100, 100)),
        ((8192, 5859), (8192, 5859)),
        ((9000, 90), (8192, 81)),
        ((8000, 7000), (7406, 6480)),
        ((20000, 3000), (8192, 1228)),
    ],
)
def test_fitted_keeps_the_aspect_ratio_within_both_limits(size, expected) -> None:
    fitted = limits.fitted(*size)
    assert fitted == expected
    assert max(fitted) <= limits.MAX_SIDE and fitted[0] * fitted[1] <= limits.MAX_PIXELS
