"""EXIF: orientation, and GPS removal that leaves every other byte of the image alone."""

from __future__ import annotations

import io
import struct
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import ExifTags, Image

from imgpro.imaging.containers import inspect_container
from imgpro.imaging.errors import ImageRejected
from imgpro.imaging.exif import orientation_of
from imgpro.imaging.formats import GIF, JPEG, PNG, WEBP, ImageFormat
from imgpro.imaging.metadata import without_gps

GPS = ExifTags.IFD.GPSInfo
LATITUDE = (48.0, 51.0, 29.5)
# The latitude's three RATIONALs as Pillow writes them (big-endian by default).
LATITUDE_BYTES = b"".join(
    struct.pack(">II", r.numerator, r.denominator) for r in map(Fraction, LATITUDE)
)


def _encode(image: Image.Image, fmt: str, **save: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **save)
    return out.getvalue()


def _frames(count: int) -> list[Image.Image]:
    return [Image.new("RGB", (24, 16), (60 * i % 256, 90, 200)) for i in range(count)]


def _exif_with_gps(*, gps: bool = True) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "Camera Maker"
    exif[0x0110] = "Camera Model"
    exif.get_ifd(ExifTags.IFD.Exif)[0x9003] = "2024:05:06 07:08:09"
    exif.get_ifd(ExifTags.IFD.Exif)[0x829A] = (1.0, 250.0)
    if gps:
        exif.get_ifd(GPS).update({1: "N", 2: LATITUDE, 3: "E", 4: (2.0, 17.0, 40.0)})
    return exif


def _ifds(data: bytes) -> dict[str, dict]:
    with Image.open(io.BytesIO(data)) as image:
        exif = image.getexif()
        return {
            "ifd0": dict(exif),
            "exif": exif.get_ifd(ExifTags.IFD.Exif),
            "gps": exif.get_ifd(GPS),
            "ifd1": exif.get_ifd(ExifTags.IFD.IFD1),
        }


def _pixels(data: bytes) -> list[bytes]:
    with Image.open(io.BytesIO(data)) as image:
        frames = []
        for index in range(getattr(image, "n_frames", 1)):
            image.seek(index)
            frames.append(image.convert("RGBA").tobytes())
        return frames


def _strip(fmt: ImageFormat, data: bytes) -> bytes:
    return without_gps(fmt, data, inspect_container(fmt, data))


IMAGES_WITH_GPS = {
    "jpeg": (JPEG, {}),
    "progressive-jpeg": (JPEG, {"progressive": True}),
    "png": (PNG, {}),
    "apng": (PNG, {"save_all": True, "append_images": _frames(3)[1:]}),
    "webp": (WEBP, {}),
    "animated-webp": (WEBP, {"save_all": True, "append_images": _frames(3)[1:]}),
}


@pytest.fixture(params=list(IMAGES_WITH_GPS), ids=list(IMAGES_WITH_GPS))
def with_gps(request: pytest.FixtureRequest) -> tuple[ImageFormat, bytes]:
    fmt, save = IMAGES_WITH_GPS[request.param]
    data = _encode(_frames(1)[0], fmt.pillow, exif=_exif_with_gps(), **save)
    assert _ifds(data)["gps"][2] == LATITUDE
    return fmt, data


def test_gps_ifd_is_gone_after_stripping(with_gps: tuple[ImageFormat, bytes]) -> None:
    fmt, data = with_gps
    stripped = _strip(fmt, data)
    assert _ifds(stripped)["gps"] == {}
    assert GPS not in _ifds(stripped)["ifd0"]


def test_gps_coordinates_are_wiped_from_the_bytes(with_gps: tuple[ImageFormat, bytes]) -> None:
    fmt, data = with_gps
    assert LATITUDE_BYTES in data
    assert LATITUDE_BYTES not in _strip(fmt, data)


def test_every_other_exif_tag_survives_stripping(with_gps: tuple[ImageFormat, bytes]) -> None:
    fmt, data = with_gps
    before, after = _ifds(data), _ifds(_strip(fmt, data))
    del before["ifd0"][GPS]
    before["gps"] = {}
    assert after == before
    assert after["exif"][0x9003] == "2024:05:06 07:08:09"


def test_stripping_leaves_pixels_identical(with_gps: tuple[ImageFormat, bytes]) -> None:
    fmt, data = with_gps
    assert _pixels(_strip(fmt, data)) == _pixels(data)


def test_stripping_changes_only_bytes_inside_the_exif_block(
    with_gps: tuple[ImageFormat, bytes],
) -> None:
    fmt, data = with_gps
    stripped = _strip(fmt, data)
    assert len(stripped) == len(data)
    tiff = inspect_container(fmt, data).exif
    assert tiff is not None
    start = data.index(tiff)
    changed = [i for i in range(len(data)) if data[i] != stripped[i]]
    # PNG also recomputes the eXIf CRC, the 4 bytes after the payload.
    slack = 4 if fmt is PNG else 0
    assert changed and start <= changed[0] and changed[-1] < start + len(tiff) + slack


def test_stripped_file_is_still_a_valid_container(with_gps: tuple[ImageFormat, bytes]) -> None:
    fmt, data = with_gps
    before = inspect_container(fmt, data)
    after = inspect_container(fmt, _strip(fmt, data))
    assert (after.end, after.frames, after.orientation) == (before.end, before.frames, 6)


def test_trailing_data_is_kept_as_it_is() -> None:
    data = _encode(_frames(1)[0], "JPEG", exif=_exif_with_gps())
    stripped = _strip(JPEG, data + b"PK\x03\x04trailing")
    assert stripped.endswith(b"PK\x03\x04trailing")
    assert _ifds(stripped)["gps"] == {}


@pytest.mark.parametrize("fmt", [JPEG, PNG, WEBP])
def test_without_gps_returns_the_data_itself_when_there_is_none(fmt: ImageFormat) -> None:
    exif = _exif_with_gps(gps=False)
    for data in (
        _encode(_frames(1)[0], fmt.pillow),
        _encode(_frames(1)[0], fmt.pillow, exif=exif),
    ):
        assert _strip(fmt, data) is data


def test_gif_is_returned_as_it_is() -> None:
    data = _encode(_frames(1)[0], "GIF")
    assert _strip(GIF, data) is data


def test_gps_is_removed_from_every_exif_segment_of_a_jpeg() -> None:
    # Pillow reads only the first segment, but other readers may show a second one.
    second = _exif_with_gps().tobytes()
    extra = b"\xff\xe1" + struct.pack(">H", len(second) + 2) + second
    data = _encode(_frames(1)[0], "JPEG", exif=_exif_with_gps(), extra=extra)
    assert data.count(LATITUDE_BYTES) == 2
    assert LATITUDE_BYTES not in _strip(JPEG, data)


def test_thumbnail_and_maker_note_survive_byte_for_byte() -> None:
    thumbnail = _encode(Image.new("RGB", (8, 8), (1, 2, 3)), "JPEG")
    maker_note = b"Nikon\x00\x02\x10\x00\x00MM\x00*\x00\x00\x00\x08" + bytes(range(40))
    tiff, layout = _build_tiff(thumbnail, maker_note)
    data = _encode(_frames(1)[0], "JPEG", exif=b"Exif\x00\x00" + tiff)
    stripped = _strip(JPEG, data)
    new_tiff = inspect_container(JPEG, stripped).exif
    assert new_tiff is not None
    for name in ("thumbnail", "maker_note", "exif_ifd", "ifd1"):
        start, stop = layout[name]
        assert new_tiff[start:stop] == tiff[start:stop], name
    after = _ifds(stripped)
    assert after["gps"] == {}
    assert after["ifd1"][0x0202] == len(thumbnail)
    assert after["ifd0"][0x0112] == 3
    assert b"\x12\x34\x56\x78" * 4 not in new_tiff  # the GPS value


def test_gps_bytes_shared_with_another_tag_are_not_wiped() -> None:
    # A crafted file whose GPS value points into the maker note: unlinking it is enough, and
    # wiping would damage the maker note.
    tiff, layout = _build_tiff(b"\xff\xd8\xff\xd9", bytes(64), gps_value_in_maker_note=True)
    data = _encode(_frames(1)[0], "JPEG", exif=b"Exif\x00\x00" + tiff)
    assert _ifds(data)["gps"][1] == "N"
    new_tiff = inspect_container(JPEG, _strip(JPEG, data)).exif
    start, stop = layout["maker_note"]
    assert new_tiff is not None and new_tiff[start:stop] == tiff[start:stop]
    assert _ifds(_strip(JPEG, data))["gps"] == {}


# --- orientation --------------------------------------------------------------------------


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("value", [1, 3, 6, 8])
def test_orientation_is_read_in_either_byte_order(order: str, value: int) -> None:
    exif = Image.Exif()
    exif.endian = order
    exif[0x0112] = value
    assert orientation_of(exif.tobytes()[6:]) == value


@pytest.mark.parametrize(
    "exif",
    [
        None,
        b"",
        b"garbage!",
        b"II*\x00\xff\xff\x00\x00",  # IFD0 beyond the data
        b"II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00\x09\x00\x00\x00",
        b"II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x04\x00\x01\x00\x00\x00\x06\x00\x00\x00",
    ],
    ids=["none", "empty", "garbage", "ifd-out-of-range", "value-9", "wrong-type"],
)
def test_orientation_is_1_when_absent_or_invalid(exif: bytes | None) -> None:
    assert orientation_of(exif) == 1


# --- hostile EXIF -------------------------------------------------------------------------


def _jpeg_with_exif(tiff: bytes) -> bytes:
    segment = b"Exif\x00\x00" + tiff
    return b"\xff\xd8\xff\xe1" + struct.pack(">H", len(segment) + 2) + segment + _BARE_JPEG[2:]


_BARE_JPEG = _encode(Image.new("RGB", (4, 4)), "JPEG")


@settings(max_examples=500)
@given(tiff=st.binary(max_size=300))
def test_random_exif_never_breaks_orientation_or_stripping(tiff: bytes) -> None:
    assert 1 <= orientation_of(tiff) <= 8
    for body in (tiff, b"MM\x00*" + tiff, b"II*\x00" + tiff):
        _strip_or_invalid(_jpeg_with_exif(body))


@settings(max_examples=1000)
@given(flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(1, 255)), min_size=1))
def test_flipped_gps_exif_never_breaks_stripping(flips: list[tuple[int, int]]) -> None:
    tiff = bytearray(_exif_with_gps().tobytes()[6:])
    for at, mask in flips:
        tiff[at % len(tiff)] ^= mask
    assert 1 <= orientation_of(bytes(tiff)) <= 8
    _strip_or_invalid(_jpeg_with_exif(bytes(tiff)))


_GPS_IMAGES = [
    (fmt, _encode(_frames(1)[0], fmt.pillow, exif=_exif_with_gps(), **save))
    for fmt, save in IMAGES_WITH_GPS.values()
]


@settings(max_examples=500)
@given(
    image=st.sampled_from(_GPS_IMAGES),
    flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(1, 255)), min_size=1),
)
def test_flipped_images_never_break_stripping(
    image: tuple[ImageFormat, bytes], flips: list[tuple[int, int]]
) -> None:
    fmt, original = image
    data = bytearray(original)
    for at, mask in flips:
        data[at % len(data)] ^= mask
    try:
        container = inspect_container(fmt, bytes(data))
    except ImageRejected:
        return
    assert len(without_gps(fmt, bytes(data), container)) == len(data)


def _strip_or_invalid(data: bytes) -> None:
    try:
        stripped = _strip(JPEG, data)
    except ImageRejected:
        return
    assert len(stripped) == len(data)


# --- helpers ------------------------------------------------------------------------------


def _ifd(entries: list[tuple[int, int, int, bytes]], at: int, following: int) -> bytes:
    """A little-endian IFD at offset `at`, its out-of-line values right after it."""
    table = struct.pack("<H", len(entries))
    values = b""
    values_at = at + 2 + 12 * len(entries) + 4
    for tag, kind, count, raw in entries:
        if len(raw) <= 4:
            field = raw.ljust(4, b"\x00")
        else:
            field = struct.pack("<I", values_at + len(values))
            values += raw + b"\x00" * (len(raw) & 1)
        table += struct.pack("<HHI", tag, kind, count) + field
    return table + struct.pack("<I", following) + values


def _u32(value: int) -> bytes:
    return struct.pack("<I", value)


def _build_tiff(
    thumbnail: bytes, maker_note: bytes, *, gps_value_in_maker_note: bool = False
) -> tuple[bytes, dict[str, tuple[int, int]]]:
    """Little-endian EXIF: IFD0 -> Exif IFD (with a maker note), GPS IFD, and IFD1 with a
    JPEG thumbnail; returns the bytes and where each part sits."""
    gps_value = b"\x12\x34\x56\x78" * 4 + bytes(8)  # three RATIONALs
    # Sizes do not depend on the pointer values, so lay out once with zeros, then for real.
    offsets = {"ifd0": 8}

    def build() -> tuple[bytes, dict[str, tuple[int, int]]]:
        ifd0 = _ifd(
            [
                (0x010F, 2, 6, b"Maker\x00"),
                (0x0112, 3, 1, struct.pack("<H", 3)),
                (0x8769, 4, 1, _u32(offsets.get("exif_ifd", 0))),
                (0x8825, 4, 1, _u32(offsets.get("gps_ifd", 0))),
            ],
            8,
            offsets.get("ifd1", 0),
        )
        offsets["exif_ifd"] = 8 + len(ifd0)
        exif_ifd = _ifd(
            [
                (0x9003, 2, 20, b"2024:05:06 07:08:09\x00"),
                (0x927C, 7, len(maker_note), maker_note),
            ],
            offsets["exif_ifd"],
            0,
        )
        maker_note_at = offsets["exif_ifd"] + 2 + 24 + 4 + 20
        offsets["gps_ifd"] = offsets["exif_ifd"] + len(exif_ifd)
        if gps_value_in_maker_note:
            gps_ifd = _ifd([(0x0001, 2, 2, b"N\x00"), (0x0002, 5, 3, b"")], offsets["gps_ifd"], 0)
            # Point the latitude at the maker note by hand.
            gps_ifd = gps_ifd[:14] + struct.pack("<HHII", 2, 5, 3, maker_note_at) + gps_ifd[26:]
        else:
            gps_ifd = _ifd(
                [(0x0001, 2, 2, b"N\x00"), (0x0002, 5, 3, gps_value)], offsets["gps_ifd"], 0
            )
        offsets["ifd1"] = offsets["gps_ifd"] + len(gps_ifd)
        thumbnail_at = offsets["ifd1"] + 2 + 24 + 4
        ifd1 = _ifd(
            [(0x0201, 4, 1, _u32(thumbnail_at)), (0x0202, 4, 1, _u32(len(thumbnail)))],
            offsets["ifd1"],
            0,
        )
        tiff = b"II*\x00" + _u32(8) + ifd0 + exif_ifd + gps_ifd + ifd1 + thumbnail
        layout = {
            "exif_ifd": (offsets["exif_ifd"], offsets["gps_ifd"]),
            "maker_note": (maker_note_at, maker_note_at + len(maker_note)),
            "ifd1": (offsets["ifd1"], thumbnail_at),
            "thumbnail": (thumbnail_at, thumbnail_at + len(thumbnail)),
        }
        return tiff, layout

    build()
    return build()


def test_gps_behind_a_doubled_exif_prefix_is_removed() -> None:
    # Pillow skips "Exif\0\0" twice, so it finds GPS here; the stripper must too.
    tiff = _exif_with_gps().tobytes()
    data = _encode(_frames(1)[0], "JPEG", exif=b"Exif\x00\x00" + tiff)
    assert _ifds(data)["gps"][2] == LATITUDE
    stripped = _strip(JPEG, data)
    assert _ifds(stripped)["gps"] == {}
    assert _ifds(stripped)["ifd0"][0x0112] == 6


def test_gps_pointer_in_an_ifd_cut_short_is_removed() -> None:
    # IFD0 declares 5 entries but the data holds 2: Pillow keeps the ones that fit.
    gps_ifd = _ifd([(0x0001, 2, 2, b"N\x00")], 8, 0)
    ifd0 = struct.pack("<H", 5)
    ifd0 += struct.pack("<HHIHH", 0x0112, 3, 1, 8, 0) + struct.pack("<HHII", 0x8825, 4, 1, 8)
    tiff = b"II*\x00" + _u32(8 + len(gps_ifd)) + gps_ifd + ifd0
    data = _encode(_frames(1)[0], "JPEG", exif=b"Exif\x00\x00" + tiff)
    with pytest.warns(UserWarning):  # Pillow's "truncated" warning
        assert _ifds(data)["gps"] == {1: "N"}
    stripped = _strip(JPEG, data)
    assert _ifds(stripped)["gps"] == {}
    assert inspect_container(JPEG, stripped).orientation == 8
