"""An image stored as sent is checked by its container walk and read as little as its
placeholder needs: a JPEG's EXIF thumbnail, a progressive JPEG's first scan, or else one
reduced decode (docs/decisions.md, "What checks an image stored as sent")."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image, ImageStat

from imgpro.imaging import formats, pipeline, raster
from imgpro.imaging.containers import inspect_container, jpeg
from imgpro.imaging.errors import ImageRejected
from imgpro.imaging.exif import exif_thumbnail
from tests.support.images import animated, encode, exif_with_thumbnail, noise

RED, BLUE = (220, 20, 20), (20, 20, 220)


def _thumbnail(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    return encode(Image.new("RGB", size, colour), "JPEG", quality=80)


def _colour(placeholder_colour: str) -> tuple[int, int, int]:
    return tuple(int(placeholder_colour[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def _placeholder_colour(data: bytes) -> tuple[int, int, int]:
    layout = inspect_container(formats.JPEG, data)
    return _colour(raster.placeholder_of(formats.JPEG, data, layout).color)


def test_the_exif_thumbnail_is_found_behind_ifd1() -> None:
    thumbnail = _thumbnail((40, 30), RED)
    assert exif_thumbnail(exif_with_thumbnail(thumbnail)[6:]) == thumbnail


def test_exif_without_ifd1_has_no_thumbnail() -> None:
    exif = Image.Exif()
    exif[0x0112] = 1
    assert exif_thumbnail(exif.tobytes()[6:]) is None


def test_a_thumbnail_pointing_past_the_exif_is_ignored() -> None:
    exif = exif_with_thumbnail(_thumbnail((40, 30), RED))
    assert exif_thumbnail(exif[6:-10]) is None


def test_a_jpeg_placeholder_comes_from_a_thumbnail_of_the_same_shape() -> None:
    # A blue photo whose thumbnail is red: a red placeholder shows which was read.
    exif = exif_with_thumbnail(_thumbnail((160, 120), RED))
    data = encode(Image.new("RGB", (800, 600), BLUE), "JPEG", exif=exif)
    red, _, blue = _placeholder_colour(data)
    assert red > 180 and blue < 60


def test_a_thumbnail_of_another_shape_is_not_used() -> None:
    # Letterboxed, or left over from before a crop: the image itself is read.
    exif = exif_with_thumbnail(_thumbnail((160, 160), RED))
    data = encode(Image.new("RGB", (800, 600), BLUE), "JPEG", exif=exif)
    red, _, blue = _placeholder_colour(data)
    assert blue > 180 and red < 60


def test_a_progressive_jpegs_first_scan_is_its_dc_image() -> None:
    data = encode(noise((640, 480)), "JPEG", quality=90, progressive=True)
    first = jpeg.first_scan(data)
    assert first is not None and len(first) < len(data) // 3
    with Image.open(io.BytesIO(first)) as dc, Image.open(io.BytesIO(data)) as whole:
        dc.draft(dc.mode, (80, 60))
        whole.draft(whole.mode, (80, 60))
        assert dc.size == whole.size == (80, 60)
        dc_mean, whole_mean = ImageStat.Stat(dc).mean, ImageStat.Stat(whole).mean
    assert all(abs(a - b) < 3 for a, b in zip(dc_mean, whole_mean, strict=True))


def test_a_baseline_jpeg_has_no_first_scan_shortcut() -> None:
    assert jpeg.first_scan(encode(noise((64, 48)), "JPEG")) is None


def _with_garbage_scan() -> bytes:
    """A photo with a camera's thumbnail whose entropy-coded data is partly garbage (with
    no marker inside it, so the container walk cannot tell)."""
    exif = exif_with_thumbnail(_thumbnail((160, 120), RED))
    data = bytearray(encode(noise((800, 600)), "JPEG", exif=exif))
    scan = data.rindex(b"\xff\xda")  # the image's scan, not the thumbnail's
    at = scan + 2 + int.from_bytes(data[scan + 2 : scan + 4], "big") + 100
    while data[at - 1] == 0xFF:  # not between a 0xFF and its stuffed 0x00
        at += 1
    data[at : at + 3840] = bytes(range(0x10, 0xF0)) * 16
    return bytes(data)


def test_a_jpeg_with_a_thumbnail_is_stored_without_decoding_its_scan() -> None:
    # Nothing decodes the scan at ingest: stored byte for byte (a browser shows what
    # libjpeg or its own decoder recovers).
    data = _with_garbage_scan()
    prepared = pipeline.prepare(data)
    assert prepared.data == data
    assert prepared.placeholder is not None


def test_a_variant_of_a_jpeg_with_a_garbage_scan_is_what_libjpeg_recovers() -> None:
    from imgpro.imaging import variants

    variant = variants.render(_with_garbage_scan(), formats.JPEG, "s", output=formats.WEBP)
    assert (variant.width, variant.height) == (320, 240)


def _apng_with_a_broken_second_frame() -> bytes:
    """An APNG whose second frame's compressed pixels are garbage under a correct CRC: the
    container walk cannot tell, and ingest decodes the first frame only."""
    data = bytearray(animated("PNG", (64, 48), frames=3))
    at = data.index(b"fdAT")
    length = struct.unpack(">I", data[at - 4 : at])[0]
    for index in range(at + 4 + 4 + 2, at + 4 + length):  # after the sequence number
        data[index] ^= 0x5A
    crc = zlib.crc32(bytes(data[at : at + 4 + length]))
    data[at + 4 + length : at + 8 + length] = struct.pack(">I", crc)
    return bytes(data)


def test_an_animation_is_stored_after_decoding_its_first_frame_only() -> None:
    data = _apng_with_a_broken_second_frame()
    assert pipeline.prepare(data).data == data


def test_a_variant_of_a_frame_that_does_not_decode_is_refused_not_a_crash() -> None:
    from imgpro.imaging import variants

    with pytest.raises(ImageRejected, match="does not decode"):
        variants.render(_apng_with_a_broken_second_frame(), formats.PNG, "s", output=formats.WEBP)


_MARKERS = st.sampled_from(
    [m.decode() for m in (b"<script", b"<iframe", b"<html>", b"<?php\n", b"javascript:")]
)


@given(
    before=st.binary(max_size=200),
    marker=_MARKERS,
    cases=st.lists(st.booleans(), min_size=12, max_size=12),
    after=st.binary(max_size=200),
)
def test_markup_is_found_in_any_letter_case_anywhere(
    before: bytes, marker: str, cases: list[bool], after: bytes
) -> None:
    mixed = "".join(c.upper() if up else c for c, up in zip(marker, cases, strict=False))
    try:
        pipeline._refuse_markup(formats.JPEG, before + mixed.encode() + after)
    except ImageRejected as refused:
        assert "embedded markup" in str(refused)
    else:
        raise AssertionError(f"{mixed!r} was not found")


@given(st.binary(max_size=400))
def test_markup_is_refused_exactly_when_a_marker_is_in_the_bytes(data: bytes) -> None:
    expected = any(marker in data.lower() for marker in pipeline._MARKUP)
    try:
        pipeline._refuse_markup(formats.PNG, data)
    except ImageRejected:
        assert expected
    else:
        assert not expected
