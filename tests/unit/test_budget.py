"""The work budget: what a header claims decides, and every real photo within our limits passes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imgpro.imaging import budget, formats, limits
from imgpro.imaging.errors import ImageRejected
from imgpro.imaging.formats import AVIF, BMP, GIF, HEIF, JPEG, PNG, TIFF, WEBP

LEGITIMATE = [
    pytest.param(JPEG, 8064, 6048, 1, 1, id="48 MP phone JPEG"),
    pytest.param(HEIF, 8064, 6048, 1, 1, id="48 MP iPhone HEIC"),
    pytest.param(HEIF, 8160, 6144, 1, 1, id="50 MP sensor HEIC"),
    pytest.param(AVIF, 8160, 6120, 1, 1, id="50 MP sensor AVIF"),
    pytest.param(JPEG, 11648, 8736, 1, 1, id="102 MP medium format JPEG"),
    pytest.param(JPEG, 8064, 6048, 1, 10, id="48 MP progressive JPEG, libjpeg's 10 scans"),
    pytest.param(JPEG, 8064, 6048, 1, 20, id="48 MP progressive JPEG, mozjpeg-like 20 scans"),
    pytest.param(PNG, 8000, 6000, 1, 1, id="48 MP PNG"),
    pytest.param(GIF, 2000, 2000, 30, 1, id="30 frames at 2000x2000"),
    pytest.param(WEBP, 1280, 720, 138, 1, id="138 frames of 720p"),
    pytest.param(GIF, 500, 500, 500, 1, id="500 frames of 500x500"),
    pytest.param(TIFF, 7000, 7000, 1, 1, id="49 MP scan"),
]


@pytest.mark.parametrize(("fmt", "width", "height", "frames", "scans"), LEGITIMATE)
def test_every_real_photo_within_the_seed_limits_fits_the_budget(
    fmt: formats.ImageFormat, width: int, height: int, frames: int, scans: int
) -> None:
    budget.check(fmt, width, height, frames=frames, scans=scans)


def test_tiny_frames_on_a_huge_gif_screen_are_refused_by_the_canvas() -> None:
    with pytest.raises(ImageRejected, match="canvas is 10000x12000"):
        budget.check(GIF, 10000, 12000, frames=2)


def test_an_animation_over_the_frame_budget_is_refused_naming_the_work() -> None:
    with pytest.raises(ImageRejected, match=r"200 frames on a 2000x2000 canvas \(800 megapixels"):
        budget.check(GIF, 2000, 2000, frames=200)


def test_more_frames_than_the_cap_are_refused_whatever_their_size() -> None:
    with pytest.raises(ImageRejected, match="1,001 frames"):
        budget.check(WEBP, 1, 1, frames=limits.MAX_FRAMES + 1)


def test_progressive_scans_count_against_the_pixels() -> None:
    with pytest.raises(ImageRejected, match=r"999 scans of 8000x6000.*at most 25 scans"):
        budget.check(JPEG, 8000, 6000, scans=999)
    budget.check(JPEG, 1000, 1000, scans=999)  # small images may have many scans


def test_a_still_with_only_a_full_decode_has_a_lower_pixel_cap_than_jpeg() -> None:
    budget.check(JPEG, 10500, 10500)
    for fmt in (PNG, GIF, WEBP, TIFF, BMP, HEIF, AVIF):
        with pytest.raises(ImageRejected, match="110 megapixels"):
            budget.check(fmt, 10500, 10500)


@pytest.mark.parametrize(("width", "height"), [(0, 10), (10, 0), (-1, 5), (70000, 1)])
def test_no_pixels_or_an_impossible_side_is_refused(width: int, height: int) -> None:
    with pytest.raises(ImageRejected):
        budget.check(PNG, width, height)


@given(
    fmt=st.sampled_from([JPEG, PNG, GIF, WEBP, HEIF, AVIF, TIFF, BMP]),
    width=st.integers(0, 70_000),
    height=st.integers(0, 70_000),
    frames=st.integers(1, 2_000),
    scans=st.integers(1, 1_000),
)
def test_whatever_passes_costs_no_more_than_the_limits(
    fmt: formats.ImageFormat, width: int, height: int, frames: int, scans: int
) -> None:
    try:
        budget.check(fmt, width, height, frames=frames, scans=scans)
    except ImageRejected:
        return
    pixels = width * height
    assert pixels * scans <= max(limits.MAX_SCAN_PIXELS, pixels)
    if frames > 1:
        assert pixels * frames <= limits.MAX_ANIMATION_PIXELS
        assert pixels <= limits.MAX_PIXELS
    elif fmt is JPEG:
        assert pixels <= limits.MAX_INPUT_PIXELS
    else:
        assert pixels <= limits.MAX_FULL_DECODE_PIXELS
