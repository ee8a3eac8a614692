"""Container walking: where an image ends, frames, EXIF, and refusing broken structure."""

from __future__ import annotations

import io
import os
import struct
import time
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from imgpro.imaging.containers import Container, inspect_container, jpeg, rewrite_exif
from imgpro.imaging.errors import ImageRejected
from imgpro.imaging.formats import GIF, JPEG, PNG, WEBP, ImageFormat, detect

ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 20 + b"PK\x05\x06" + b"\x00" * 18
HTML = b"<html><script>alert(document.domain)</script></html>"


def _encode(image: Image.Image, fmt: str, **save: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **save)
    return out.getvalue()


def _frames(count: int, size: tuple[int, int] = (24, 16)) -> list[Image.Image]:
    # Distinct colors, or encoders merge identical frames.
    return [Image.new("RGB", size, (40 * i % 256, 90, 200 - 30 * i % 200)) for i in range(count)]


def _noise(size: tuple[int, int]) -> Image.Image:
    return Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))


def _exif(orientation: int = 6, *, little_endian: bool = False) -> Image.Exif:
    exif = Image.Exif()
    if little_endian:
        exif.endian = "<"
    exif[0x0112] = orientation
    exif[0x010F] = "Camera Maker"
    exif.get_ifd(0x8825)[1] = "N"
    exif.get_ifd(0x8825)[2] = (48.0, 51.0, 29.5)
    return exif


def _inspect(data: bytes) -> Container:
    fmt = detect(data[:64])
    assert fmt is not None
    return inspect_container(fmt, data)


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload))
    )


def _riff(chunks: bytes) -> bytes:
    return b"RIFF" + struct.pack("<I", len(chunks) + 4) + b"WEBP" + chunks


# --- JPEG ---------------------------------------------------------------------------------


def test_jpeg_ends_just_past_its_end_of_image_marker() -> None:
    data = _encode(_frames(1)[0], "JPEG")
    container = _inspect(data)
    assert container == Container(
        end=len(data), frames=1, exif=None, width=24, height=16, orientation=1
    )
    assert data[container.end - 2 : container.end] == b"\xff\xd9"


@pytest.mark.parametrize("trailer", [ZIP, HTML, b"\xff\xd8\xff\xe0 second image"])
def test_jpeg_end_points_before_appended_polyglot_bytes(trailer: bytes) -> None:
    image = _encode(_frames(1)[0], "JPEG")
    assert _inspect(image + trailer).end == len(image)


def test_progressive_jpeg_walks_all_of_its_scans() -> None:
    image = _encode(_noise((64, 48)), "JPEG", progressive=True)
    assert image.count(b"\xff\xda") > 1  # several SOS segments
    assert _inspect(image + HTML).end == len(image)


def test_jpeg_restart_markers_do_not_end_the_scan() -> None:
    image = _encode(_noise((64, 48)), "JPEG", restart_marker_blocks=1)
    assert b"\xff\xd0" in image
    assert _inspect(image + ZIP).end == len(image)


def test_jpeg_exif_thumbnail_does_not_end_the_image_early() -> None:
    thumbnail = _encode(_frames(1, (8, 8))[0], "JPEG")
    image = _encode(_frames(1)[0], "JPEG", exif=b"Exif\x00\x00" + _tiff_with_thumbnail(thumbnail))
    # The thumbnail's own EOI comes first in the file; the walker must skip past it.
    assert image.find(b"\xff\xd9") < image.find(thumbnail) + len(thumbnail) < len(image)
    container = _inspect(image + ZIP)
    assert container.end == len(image)
    assert thumbnail in container.exif


def test_jpeg_exif_and_orientation_are_read() -> None:
    container = _inspect(_encode(_frames(1)[0], "JPEG", exif=_exif(orientation=6)))
    assert container.exif is not None and container.exif[:4] == b"MM\x00*"
    assert container.orientation == 6


def test_jpeg_fill_bytes_and_standalone_markers_between_segments_are_skipped() -> None:
    image = _encode(_frames(1)[0], "JPEG")
    # After SOI: two 0xFF fill bytes before the next marker, then a TEM and an RST marker.
    padded = image[:2] + b"\xff\x01\xff\xd3\xff\xff" + image[2:]
    assert _inspect(padded).end == len(padded)


def test_jpeg_without_end_of_image_marker_is_truncated() -> None:
    image = _encode(_noise((32, 32)), "JPEG")
    with pytest.raises(ImageRejected, match="truncated"):
        _inspect(image[:-2])


def test_jpeg_with_a_segment_running_past_the_end_is_truncated() -> None:
    with pytest.raises(ImageRejected, match="truncated"):
        _inspect(b"\xff\xd8\xff\xe0\x10\x00JFIF")


def test_jpeg_segment_length_below_two_is_malformed() -> None:
    with pytest.raises(ImageRejected, match="malformed"):
        _inspect(b"\xff\xd8\xff\xe0\x00\x01\xff\xd9")


def test_jpeg_with_tables_but_no_scan_is_refused() -> None:
    with pytest.raises(ImageRejected, match="no image data"):
        _inspect(b"\xff\xd8\xff\xfe\x00\x04hi\xff\xd9")


def test_jpeg_with_too_many_scans_is_refused() -> None:
    frame = b"\xff\xc2\x00\x0b\x08\x00\x10\x00\x10\x01\x01\x11\x00"
    data = b"\xff\xd8" + frame + b"\xff\xda\x00\x02\x00" * (jpeg.MAX_SCANS + 1) + b"\xff\xd9"
    with pytest.raises(ImageRejected, match="too many scans"):
        _inspect(data)


def test_walking_a_large_jpeg_takes_milliseconds() -> None:
    data = _encode(_noise((1500, 1000)), "JPEG", quality=100)  # about 3 MB of noise
    started = time.perf_counter()
    assert _inspect(data).end == len(data)
    # Measured near 0.5 ms per MB; the bound only catches a per-byte Python loop.
    assert time.perf_counter() - started < 0.25


# --- PNG ----------------------------------------------------------------------------------


def test_png_ends_just_past_the_iend_crc() -> None:
    image = _encode(_frames(1)[0], "PNG")
    container = _inspect(image + ZIP)
    assert (container.end, container.frames, container.exif) == (len(image), 1, None)


def test_png_with_a_bad_crc_is_corrupt() -> None:
    image = bytearray(_encode(_frames(1)[0], "PNG"))
    image[20] ^= 0x01  # inside IHDR's payload
    with pytest.raises(ImageRejected, match="corrupt"):
        _inspect(bytes(image))


def test_png_without_iend_is_truncated() -> None:
    image = _encode(_frames(1)[0], "PNG")
    with pytest.raises(ImageRejected, match="truncated"):
        _inspect(image[:-12])


def test_png_not_starting_with_ihdr_is_malformed() -> None:
    image = _encode(_frames(1)[0], "PNG")
    moved = image[:8] + _png_chunk(b"tEXt", b"a\x00b") + image[8:]
    with pytest.raises(ImageRejected, match="IHDR"):
        _inspect(moved)


def test_apng_frames_come_from_actl() -> None:
    first, *rest = _frames(3)
    container = _inspect(_encode(first, "PNG", save_all=True, append_images=rest))
    assert container.frames == 3


def test_apng_whose_actl_disagrees_with_its_fctl_chunks_is_refused() -> None:
    first, *rest = _frames(3)
    image = _encode(first, "PNG", save_all=True, append_images=rest)
    at = image.index(b"acTL") - 4
    forged = image[:at] + _png_chunk(b"acTL", struct.pack(">II", 1, 0)) + image[at + 20 :]
    with pytest.raises(ImageRejected, match="acTL declares 1 frames but there are 3"):
        _inspect(forged)


def test_png_exif_chunk_is_read() -> None:
    container = _inspect(_encode(_frames(1)[0], "PNG", exif=_exif(orientation=8)))
    assert container.exif is not None and container.exif[:4] == b"MM\x00*"
    assert container.orientation == 8


def test_png_exif_chunk_with_a_jpeg_style_prefix_is_read_without_it() -> None:
    image = _encode(_frames(1)[0], "PNG")
    tiff = _exif(orientation=3).tobytes()[6:]
    at = image.index(b"IDAT") - 4
    prefixed = image[:at] + _png_chunk(b"eXIf", b"Exif\x00\x00" + tiff) + image[at:]
    assert _inspect(prefixed).exif == tiff
    assert _inspect(prefixed).orientation == 3


# --- GIF ----------------------------------------------------------------------------------


def test_animated_gif_counts_image_descriptors_and_ends_at_the_trailer() -> None:
    first, *rest = _frames(4)
    image = _encode(first, "GIF", save_all=True, append_images=rest, comment=b"hello")
    container = _inspect(image + HTML)
    assert (container.end, container.frames) == (len(image), 4)
    assert image[-1:] == b";"


def test_gif_with_local_color_tables_is_walked() -> None:
    first, *rest = [Image.new("P", (8, 8), i) for i in range(3)]
    for i, frame in enumerate([first, *rest]):
        frame.putpalette(bytes([i * 80, 0, 0] * 256))
    image = _encode(first, "GIF", save_all=True, append_images=rest)
    assert _inspect(image).frames == 3


def test_gif_without_trailer_after_a_complete_block_ends_with_the_data() -> None:
    image = _encode(_frames(1)[0], "GIF")
    assert image.endswith(b"\x00;")
    assert _inspect(image[:-1]).end == len(image) - 1


def test_gif_ending_inside_a_block_is_truncated() -> None:
    image = _encode(_frames(1)[0], "GIF")
    with pytest.raises(ImageRejected, match="truncated"):
        _inspect(image[:-3])


def test_gif_bytes_that_start_no_block_after_a_frame_are_trailing_data() -> None:
    image = _encode(_frames(1)[0], "GIF")[:-1]  # no trailer
    assert _inspect(image + ZIP).end == len(image)


def test_gif_without_any_image_is_refused() -> None:
    header = b"GIF89a\x01\x00\x01\x00\x00\x00\x00"
    with pytest.raises(ImageRejected, match="no image"):
        _inspect(header + b"\x21\xfe\x02hi\x00;")


# --- WebP ---------------------------------------------------------------------------------


@pytest.mark.parametrize("lossless", [False, True])
def test_still_webp_ends_at_the_riff_size(lossless: bool) -> None:
    image = _encode(_frames(1)[0], "WEBP", lossless=lossless)
    container = _inspect(image + ZIP)
    assert (container.end, container.frames) == (len(image), 1)


def test_animated_webp_counts_anmf_chunks() -> None:
    first, *rest = _frames(3)
    image = _encode(first, "WEBP", save_all=True, append_images=rest)
    assert _inspect(image).frames == 3


def test_webp_shorter_than_its_riff_size_is_truncated() -> None:
    image = _encode(_frames(1)[0], "WEBP")
    with pytest.raises(ImageRejected, match="truncated"):
        _inspect(image[:-1])


def test_webp_with_odd_riff_size_ends_after_the_pad_byte() -> None:
    vp8l = _encode(_frames(1)[0], "WEBP", lossless=True)[12:]
    body = vp8l + b"XTRA\x01\x00\x00\x00z"  # an odd, unknown chunk whose pad byte is missing
    data = b"RIFF" + struct.pack("<I", len(body) + 4) + b"WEBP" + body
    assert _inspect(data + b"\x00" + HTML).end == len(data) + 1


def test_webp_exif_is_read_with_or_without_the_jpeg_prefix() -> None:
    # Pillow writes bare TIFF for a still WebP, but keeps "Exif\0\0" for an animated one.
    first, *rest = _frames(2)
    still = _inspect(_encode(first, "WEBP", exif=_exif(orientation=5)))
    animated = _inspect(_encode(first, "WEBP", exif=_exif(5), save_all=True, append_images=rest))
    assert still.exif == animated.exif
    assert still.exif is not None and still.exif[:4] == b"MM\x00*"
    assert (still.orientation, animated.orientation) == (5, 5)


def test_webp_animation_without_frames_is_refused() -> None:
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x02" + bytes(9)
    with pytest.raises(ImageRejected, match="no frames"):
        _inspect(_riff(vp8x + b"ANIM" + struct.pack("<I", 6) + bytes(6)))


def test_webp_chunk_running_past_the_riff_end_is_malformed() -> None:
    with pytest.raises(ImageRejected, match="malformed"):
        _inspect(_riff(b"VP8L" + struct.pack("<I", 1000) + bytes(10)))


# --- rewriting EXIF blocks (lengths and checksums) ----------------------------------------


@pytest.mark.parametrize(
    ("fmt", "save"),
    [
        (JPEG, {}),
        (PNG, {}),
        (WEBP, {}),
        (WEBP, {"save_all": True, "append_images": _frames(2)[1:]}),
    ],
)
def test_rewriting_exif_to_another_size_keeps_the_container_valid(
    fmt: ImageFormat, save: dict
) -> None:
    original = _encode(_frames(1)[0], fmt.pillow, exif=_exif(orientation=6), **save)
    replacement = _exif(orientation=3, little_endian=True)
    replacement[0x010E] = "a longer, odd-sized description!"
    tiff = replacement.tobytes()[6:]
    rewritten = rewrite_exif(fmt, original + HTML, lambda _old: tiff)
    container = inspect_container(fmt, rewritten)
    assert (container.exif, container.orientation) == (tiff, 3)
    assert rewritten[container.end :] == HTML
    with Image.open(io.BytesIO(rewritten)) as image, Image.open(io.BytesIO(original)) as before:
        assert image.getexif()[0x010E] == "a longer, odd-sized description!"
        assert image.tobytes() == before.tobytes()


def test_rewriting_exif_of_a_gif_returns_the_data_itself() -> None:
    data = _encode(_frames(1)[0], "GIF")
    assert rewrite_exif(GIF, data, lambda _old: b"never called") is data


# --- hostile input ------------------------------------------------------------------------


def _small_images() -> list[bytes]:
    first, *rest = _frames(3, (6, 4))
    return [
        _encode(first, "JPEG", exif=_exif()),
        _encode(_noise((16, 16)), "JPEG", progressive=True),
        _encode(first, "PNG", exif=_exif()),
        _encode(first, "PNG", save_all=True, append_images=rest),
        _encode(first, "GIF", save_all=True, append_images=rest),
        _encode(first, "WEBP", exif=_exif()),
        _encode(first, "WEBP", lossless=True),
        _encode(first, "WEBP", save_all=True, append_images=rest, exif=_exif()),
    ]


SMALL_IMAGES = _small_images()
FORMATS = (JPEG, PNG, GIF, WEBP)


def _check(fmt: ImageFormat, data: bytes) -> None:
    """Only ImageRejected or a consistent Container may come out."""
    try:
        container = inspect_container(fmt, data)
    except ImageRejected as exc:
        assert str(exc)
        return
    assert 0 < container.end <= len(data)
    assert container.frames >= 1
    assert 1 <= container.orientation <= 8


@pytest.mark.parametrize("image", SMALL_IMAGES, ids=lambda d: f"{detect(d).name}-{len(d)}")
def test_every_truncation_of_a_real_image_is_refused_or_consistent(image: bytes) -> None:
    fmt = detect(image)
    for cut in range(len(image)):
        _check(fmt, image[:cut])


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(
    image=st.sampled_from(SMALL_IMAGES),
    flips=st.lists(
        st.tuples(st.integers(min_value=0), st.integers(1, 255)), min_size=1, max_size=6
    ),
)
def test_byte_flips_in_real_images_are_refused_or_consistent(image: bytes, flips: list) -> None:
    data = bytearray(image)
    for at, mask in flips:
        data[at % len(data)] ^= mask
    _check(detect(image), bytes(data))


@settings(max_examples=500)
@given(fmt=st.sampled_from(FORMATS), data=st.binary(max_size=200))
def test_random_bytes_are_refused_or_consistent(fmt: ImageFormat, data: bytes) -> None:
    _check(fmt, data)


_MAGIC = {JPEG: b"\xff\xd8\xff", PNG: b"\x89PNG\r\n\x1a\n", GIF: b"GIF89a", WEBP: b"RIFF"}


@settings(max_examples=1000)
@given(fmt=st.sampled_from(FORMATS), tail=st.binary(max_size=300))
def test_random_bytes_behind_the_magic_are_refused_or_consistent(
    fmt: ImageFormat, tail: bytes
) -> None:
    head = _MAGIC[fmt]
    if fmt is WEBP:
        head += struct.pack("<I", len(tail) + 4) + b"WEBP"
    _check(fmt, head + tail)


# --- helpers ------------------------------------------------------------------------------


def _tiff_with_thumbnail(thumbnail: bytes) -> bytes:
    """Little-endian TIFF: an IFD0 with orientation, then IFD1 pointing at a JPEG thumbnail."""
    ifd0 = struct.pack("<H", 1) + struct.pack("<HHIHH", 0x0112, 3, 1, 1, 0) + struct.pack("<I", 26)
    ifd1 = struct.pack("<H", 2)
    ifd1 += struct.pack("<HHII", 0x0201, 4, 1, 26 + 2 + 24 + 4)
    ifd1 += struct.pack("<HHII", 0x0202, 4, 1, len(thumbnail))
    ifd1 += struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", 8) + ifd0 + ifd1 + thumbnail
