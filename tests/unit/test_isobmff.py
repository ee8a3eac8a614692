"""HEIF/AVIF header walking: sizes that agree with the decoders, and header lies refused."""

from __future__ import annotations

import contextlib
import functools
import io
import struct
import time
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, features

from imgpro.imaging.containers.isobmff import (
    MAX_BOXES,
    MAX_PARAMETER_SETS,
    MAX_TILES,
    HeifHeader,
    inspect,
)
from imgpro.imaging.errors import ImageRejected

pillow_heif = pytest.importorskip("pillow_heif")
pillow_heif.register_heif_opener()
pytestmark = pytest.mark.skipif(not features.check("avif"), reason="Pillow built without AVIF")

HEIF_BRANDS = (b"heic", b"mif1", b"heic")
AVIF_BRANDS = (b"avif", b"mif1", b"miaf")
# Transformative properties and codec configurations are marked essential, as writers do
# (libavif refuses a non-essential clap).
ESSENTIAL = {b"clap", b"irot", b"imir", b"av1C", b"hvcC"}


# --- building files -----------------------------------------------------------------------


def _box(kind: bytes, *parts: bytes) -> bytes:
    payload = b"".join(parts)
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _full(kind: bytes, version: int, flags: int, *parts: bytes) -> bytes:
    return _box(kind, bytes([version]) + flags.to_bytes(3, "big"), *parts)


def _ispe(width: int, height: int) -> bytes:
    return _full(b"ispe", 0, 0, struct.pack(">II", width, height))


def _kind(prop: bytes) -> bytes:
    return prop[4:8]


@dataclass
class Item:
    id: int
    type: bytes
    data: bytes
    props: list[bytes] = field(default_factory=list)
    idat: bool = False


def _heif(
    items: list[Item],
    primary: int,
    brands: tuple[bytes, ...] = HEIF_BRANDS,
    dimg: dict[int, list[int]] | None = None,
) -> bytes:
    """A file laid out as libheif lays one out: ftyp, meta (iloc v1 with 32-bit offsets), mdat."""
    ftyp = _box(b"ftyp", brands[0], b"\x00" * 4, *brands[1:])
    hdlr = _full(b"hdlr", 0, 0, b"\x00" * 4, b"pict", b"\x00" * 13)
    pitm = _full(b"pitm", 0, 0, struct.pack(">H", primary))
    infes = [_full(b"infe", 2, 0, struct.pack(">HH", it.id, 0), it.type, b"\x00") for it in items]
    iinf = _full(b"iinf", 0, 0, struct.pack(">H", len(items)), *infes)
    unique: list[bytes] = []
    for it in items:
        unique += [prop for prop in it.props if prop not in unique]
    entries = []
    for it in items:
        indices = [unique.index(p) + 1 | (0x80 if _kind(p) in ESSENTIAL else 0) for p in it.props]
        entries.append(struct.pack(">HB", it.id, len(indices)) + bytes(indices))
    ipma = _full(b"ipma", 0, 0, struct.pack(">I", len(items)), *entries)
    iprp = _box(b"iprp", _box(b"ipco", *unique), ipma)
    iref = b""
    if dimg:
        refs = [
            _box(b"dimg", struct.pack(">HH", src, len(to)), *(struct.pack(">H", t) for t in to))
            for src, to in dimg.items()
        ]
        iref = _full(b"iref", 0, 0, *refs)
    inline = b"".join(it.data for it in items if it.idat)
    idat = _box(b"idat", inline) if inline else b""

    def meta(mdat_payload: int) -> bytes:
        rows = []
        in_mdat = in_idat = 0
        for it in items:
            if it.idat:
                rows.append(struct.pack(">HHHHII", it.id, 1, 0, 1, in_idat, len(it.data)))
                in_idat += len(it.data)
            else:
                rows.append(
                    struct.pack(">HHHHII", it.id, 0, 0, 1, mdat_payload + in_mdat, len(it.data))
                )
                in_mdat += len(it.data)
        iloc = _full(b"iloc", 1, 0, b"\x44\x00", struct.pack(">H", len(items)), *rows)
        return _full(b"meta", 0, 0, hdlr, pitm, iloc, iinf, iref, iprp, idat)

    mdat_payload = len(ftyp) + len(meta(0)) + 8
    mdat = _box(b"mdat", *(it.data for it in items if not it.idat))
    return ftyp + meta(mdat_payload) + mdat


def _children(data: bytes, start: int, stop: int) -> dict[bytes, tuple[int, int, int]]:
    found = {}
    while start < stop:
        size, kind = struct.unpack_from(">I4s", data, start)
        found.setdefault(kind, (start, start + 8, start + size))
        start += size
    return found


def _primary_parts(data: bytes) -> tuple[list[bytes], bytes]:
    """(property boxes in association order, data) of the one image item of a file as Pillow
    and pillow-heif write them: enough to rebuild it, or a grid of it, by hand."""
    meta = _children(data, 0, len(data))[b"meta"]
    boxes = _children(data, meta[1] + 4, meta[2])
    iprp = _children(data, boxes[b"iprp"][1], boxes[b"iprp"][2])
    _, start, stop = iprp[b"ipco"]
    props = []
    while start < stop:
        size = struct.unpack_from(">I", data, start)[0]
        props.append(data[start : start + size])
        start += size
    ipma = iprp[b"ipma"][1]
    assert data[ipma] == 0 and not data[ipma + 3] & 1  # 16-bit ids, 8-bit indices
    count = data[ipma + 10]
    indices = [byte & 0x7F for byte in data[ipma + 11 : ipma + 11 + count]]
    # One item, one extent: offset and length are 32-bit, base offset 0 or 32-bit.
    iloc = boxes[b"iloc"][1]
    version, base_size = data[iloc], data[iloc + 5] >> 4
    assert data[iloc + 4] == 0x44 and base_size in (0, 4)
    # item_ID, construction_method (v1 and v2), data_reference_index, then base_offset.
    row = iloc + 8 + 2 + (2 if version else 0) + 2
    base = struct.unpack_from(">I", data, row)[0] if base_size else 0
    offset, length = struct.unpack_from(">II", data, row + base_size + 2)
    offset += base
    return [props[i - 1] for i in indices], data[offset : offset + length]


@functools.cache
def _encode(fmt: str, size: tuple[int, int], orientation: int = 1) -> bytes:
    image = Image.new("RGB", size, (30, 140, 200))
    out = io.BytesIO()
    if orientation == 1:
        image.save(out, fmt)
    else:
        exif = Image.Exif()
        exif[0x0112] = orientation
        image.save(out, fmt, exif=exif.tobytes())
    return out.getvalue()


def _pillow_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def _patch_ispe(data: bytes, width: int, height: int) -> bytes:
    at = data.index(b"ispe") + 8
    return data[:at] + struct.pack(">II", width, height) + data[at + 8 :]


def _rejected(data: bytes, *words: str) -> str:
    with pytest.raises(ImageRejected) as caught:
        inspect(data)
    message = str(caught.value)
    for word in words:
        assert word in message
    return message


def _tile_parts(fmt: str) -> tuple[bytes, list[bytes], bytes]:
    """(item type, properties without clap, data) of a 64x64 image, to reuse as grid tiles."""
    props, data = _primary_parts(_encode(fmt, (64, 64)))
    return (b"av01" if fmt == "AVIF" else b"hvc1"), [p for p in props if _kind(p) != b"clap"], data


def _grid_descriptor(
    rows: int, columns: int, width: int, height: int, *, wide: bool = False
) -> bytes:
    sizes = struct.pack(">II" if wide else ">HH", width, height)
    return bytes([0, int(wide), rows - 1, columns - 1]) + sizes


def _grid(
    fmt: str,
    rows: int,
    columns: int,
    output: tuple[int, int],
    *,
    ispe: tuple[int, int] | None = None,
    tiles: int | None = None,
    wide: bool = False,
    tile_props: list[list[bytes]] | None = None,
) -> bytes:
    kind, props, data = _tile_parts(fmt)
    count = rows * columns if tiles is None else tiles
    items = [Item(10 + i, kind, data, tile_props[i] if tile_props else props) for i in range(count)]
    descriptor = _grid_descriptor(rows, columns, *output, wide=wide)
    grid = Item(1, b"grid", descriptor, [_ispe(*(ispe or output))], idat=True)
    brands = AVIF_BRANDS if fmt == "AVIF" else HEIF_BRANDS
    return _heif([grid, *items], 1, brands, dimg={1: [it.id for it in items]})


# --- bit-level parameter sets -------------------------------------------------------------


def _bits(fields: list[tuple[int, int]]) -> bytes:
    """(value, bit count) fields MSB first, padded with a stop bit and zeros to a byte."""
    value = count = 0
    for field_value, bits in [*fields, (1, 1)]:
        value = value << bits | field_value
        count += bits
    pad = -count % 8
    return (value << pad).to_bytes((count + pad) // 8, "big")


def _ue(value: int) -> tuple[int, int]:
    code = value + 1
    return code, 2 * code.bit_length() - 1


def _escape(rbsp: bytes) -> bytes:
    """Emulation prevention (H.265 7.4.2): 0x03 after two zeros before a byte <= 3."""
    out = bytearray()
    zeros = 0
    for byte in rbsp:
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


def _sps(width: int, height: int, *, sub_layers: int = 0, chroma: int = 1) -> bytes:
    """An HEVC SPS NAL unit up to the picture size, all profile flags zero."""
    fields = [(0, 4), (sub_layers, 3), (1, 1), (0, 96)]
    present = [(i % 2, (i + 1) % 2) for i in range(sub_layers)]  # profile, level alternately
    fields += [(flag, 1) for pair in present for flag in pair]
    if sub_layers:
        fields.append((0, 2 * (8 - sub_layers)))
    for profile, level in present:
        fields += [(0, 88)] * profile + [(0, 8)] * level
    fields += [_ue(0), _ue(chroma)] + ([(0, 1)] if chroma == 3 else [])
    fields += [_ue(width), _ue(height), (0, 16)]
    return b"\x42\x01" + _escape(_bits(fields))


def _hvcc(real: bytes, *nals: bytes) -> bytes:
    """A real hvcC's fixed fields with its NAL arrays replaced by `nals` (one array each)."""
    arrays = b"".join(
        bytes([nal[0] >> 1 & 0x3F]) + struct.pack(">HH", 1, len(nal)) + nal for nal in nals
    )
    return _box(b"hvcC", real[8:30], bytes([len(nals)]), arrays)


def _sequence_header(width: int, height: int, *, reduced: bool = True) -> bytes:
    """An AV1 sequence header OBU up to the maximum frame size (AV1 5.5)."""
    fields = [(0, 3), (1, 1), (int(reduced), 1)]
    if reduced:
        fields.append((31, 5))
    else:
        # timing info with equal_picture_interval, a decoder model, and two operating points
        # that exercise every optional field before the frame size.
        fields += [(1, 1), (1, 32), (30, 32), (1, 1), (0b00101, 5)]
        fields += [(1, 1), (9, 5), (1000, 32), (4, 5), (6, 5)]
        fields += [(1, 1), (1, 5)]
        for level in (9, 4):
            fields += [(0x101, 12), (level, 5)] + ([(1, 1)] if level > 7 else [])
            fields += [(1, 1), (5, 10), (7, 10), (1, 1)]  # decoder model: two 10-bit delays
            fields += [(1, 1), (3, 4)]  # initial display delay
    fields += [(15, 4), (15, 4), (width - 1, 16), (height - 1, 16), (0, 24)]
    payload = _bits(fields)
    assert len(payload) < 128
    return bytes([_OBU_SEQUENCE_HEADER << 3 | 0x02, len(payload)]) + payload


_OBU_SEQUENCE_HEADER = 1


def _av1c(*obus: bytes) -> bytes:
    return _box(b"av1C", b"\x81\x00\x0c\x00", *obus)


# --- real files ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["AVIF", "HEIF"])
@pytest.mark.parametrize("size", [(1, 1), (33, 17), (64, 64), (641, 479)])
def test_real_files_give_the_size_pillow_shows(fmt: str, size: tuple[int, int]) -> None:
    data = _encode(fmt, size)
    header = inspect(data)
    assert (header.width, header.height) == size == _pillow_size(data)
    assert header.kind == ("av01" if fmt == "AVIF" else "hvc1")
    assert header.tiles == 1
    assert not header.rotated
    # The coded size backs the claim, with at most a block of padding.
    assert size[0] <= header.coded_width <= size[0] + 63
    assert size[1] <= header.coded_height <= size[1] + 63


def test_heic_coded_size_includes_the_encoders_padding() -> None:
    # libheif pads to x265's 64x64 minimum and crops back with clap: the decode costs 64x64.
    header = inspect(_encode("HEIF", (33, 17)))
    assert (header.coded_width, header.coded_height) == (64, 64)
    assert (header.width, header.height) == (33, 17)


@pytest.mark.parametrize("orientation", [6, 8])
def test_heic_rotation_swaps_what_pillow_heif_shows(orientation: int) -> None:
    data = _encode("HEIF", (40, 24), orientation)
    header = inspect(data)
    assert header.rotated
    assert (header.width, header.height) == (40, 24)
    # pillow-heif applies irot: the displayed size is swapped.
    assert _pillow_size(data) == (24, 40)


@pytest.mark.parametrize(("orientation", "rotated"), [(3, False), (6, True), (8, True)])
def test_avif_rotation_is_reported_and_left_to_the_caller(orientation: int, rotated: bool) -> None:
    data = _encode("AVIF", (40, 24), orientation)
    assert b"irot" in data
    header = inspect(data)
    assert header.rotated is rotated
    assert (header.width, header.height) == (40, 24)
    # Pillow's AVIF plugin turns irot into an EXIF orientation and does not rotate.
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (40, 24)
        assert image.getexif()[0x0112] == orientation


def test_rebuilt_files_match_the_originals() -> None:
    # The hand-built layout the other tests rely on decodes like the encoder's own.
    for fmt, brands in (("AVIF", AVIF_BRANDS), ("HEIF", HEIF_BRANDS)):
        props, data = _primary_parts(_encode(fmt, (64, 48)))
        kind = b"av01" if fmt == "AVIF" else b"hvc1"
        rebuilt = _heif([Item(1, kind, data, props)], 1, brands)
        assert _pillow_size(rebuilt) == (64, 48)
        assert inspect(rebuilt) == inspect(_encode(fmt, (64, 48)))


def test_clean_aperture_crops_hevc_as_libheif_does_but_not_av1() -> None:
    clap = _box(b"clap", struct.pack(">IIIIiIiI", 40, 1, 30, 1, -24, 2, -18, 2))
    for fmt, brands, expected, coded in (
        # pillow-heif codes 64x48 as 64x64 (x265's minimum) and crops it back with its own clap.
        ("HEIF", HEIF_BRANDS, (40, 30), (64, 64)),
        # libavif leaves the crop to the application, and Pillow does not apply it.
        ("AVIF", AVIF_BRANDS, (64, 48), (64, 48)),
    ):
        props, data = _primary_parts(_encode(fmt, (64, 48)))
        props = [p for p in props if _kind(p) != b"clap"] + [clap]
        kind = b"av01" if fmt == "AVIF" else b"hvc1"
        built = _heif([Item(1, kind, data, props)], 1, brands)
        header = inspect(built)
        assert (header.width, header.height) == expected == _pillow_size(built)
        assert (header.coded_width, header.coded_height) == coded


# --- header lies --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["AVIF", "HEIF"])
def test_ispe_claiming_more_than_the_coded_image_is_refused(fmt: str) -> None:
    lie = _patch_ispe(_encode(fmt, (64, 64)), 8000, 6000)
    message = _rejected(lie, "8000x6000", "64x64")
    assert "claims" in message


@pytest.mark.parametrize("fmt", ["AVIF", "HEIF"])
def test_ispe_claiming_less_than_the_coded_image_is_refused(fmt: str) -> None:
    _rejected(_patch_ispe(_encode(fmt, (200, 200)), 64, 64), "64x64", "200x200")


@pytest.mark.parametrize("fmt", ["AVIF", "HEIF"])
def test_ispe_of_zero_is_refused(fmt: str) -> None:
    _rejected(_patch_ispe(_encode(fmt, (64, 64)), 0, 64), "size of 0")


def test_missing_ispe_is_refused() -> None:
    props, data = _primary_parts(_encode("AVIF", (64, 64)))
    built = _heif([Item(1, b"av01", data, [p for p in props if _kind(p) != b"ispe"])], 1)
    _rejected(built, "no size (ispe)")


def test_an_sps_in_the_item_data_cannot_enlarge_the_picture() -> None:
    # A decoder takes an in-band SPS over hvcC's, so it is held to the same claim.
    props, data = _primary_parts(_encode("HEIF", (64, 64)))
    sps = _sps(4096, 4096)
    built = _heif([Item(1, b"hvc1", struct.pack(">I", len(sps)) + sps + data, props)], 1)
    _rejected(built, "64x64", "4096x4096")


@pytest.mark.parametrize("sub_layers", [0, 1, 2, 6])
@pytest.mark.parametrize("chroma", [0, 1, 3])
def test_sps_fields_after_profile_tier_level_are_found(sub_layers: int, chroma: int) -> None:
    props, data = _primary_parts(_encode("HEIF", (64, 48)))
    hvcc = next(p for p in props if _kind(p) == b"hvcC")
    swapped = [
        _hvcc(hvcc, _sps(1000, 750, sub_layers=sub_layers, chroma=chroma)) if p == hvcc else p
        for p in props
        if _kind(p) not in (b"ispe", b"clap")
    ]
    built = _heif([Item(1, b"hvc1", data, [*swapped, _ispe(1000, 750)])], 1)
    header = inspect(built)
    assert (header.coded_width, header.coded_height) == (1000, 750)
    lie = _heif([Item(1, b"hvc1", data, [*swapped, _ispe(1000, 690)])], 1)
    _rejected(lie, "1000x690", "1000x750")


@pytest.mark.parametrize("reduced", [True, False])
def test_av1c_sequence_headers_are_checked_too(reduced: bool) -> None:
    props, data = _primary_parts(_encode("AVIF", (64, 64)))
    others = [p for p in props if _kind(p) != b"av1C"]
    honest = _heif(
        [Item(1, b"av01", data, [*others, _av1c(_sequence_header(64, 64, reduced=reduced))])], 1
    )
    assert inspect(honest).coded_width == 64
    lie = _av1c(_sequence_header(5000, 64, reduced=reduced))
    _rejected(_heif([Item(1, b"av01", data, [*others, lie])], 1), "5000x64")


def test_av1_data_without_a_sequence_header_is_refused() -> None:
    props, _ = _primary_parts(_encode("AVIF", (64, 64)))
    padding_obu = bytes([15 << 3 | 0x02, 3]) + b"\x00\x00\x00"
    _rejected(_heif([Item(1, b"av01", padding_obu, props)], 1), "no sequence header")


# --- grids --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["AVIF", "HEIF"])
@pytest.mark.parametrize("output", [(180, 100), (192, 128), (130, 66)])
def test_hand_built_grid_gives_its_output_size(fmt: str, output: tuple[int, int]) -> None:
    data = _grid(fmt, 2, 3, output)
    header = inspect(data)
    assert header == HeifHeader(
        width=output[0],
        height=output[1],
        rotated=False,
        kind="grid",
        tiles=6,
        coded_width=192,
        coded_height=128,
    )
    assert _pillow_size(data) == output


def test_grid_with_32_bit_output_size() -> None:
    header = inspect(_grid("HEIF", 1, 2, (100, 50), wide=True))
    assert (header.width, header.height, header.tiles) == (100, 50, 2)


@pytest.mark.parametrize("output", [(300, 100), (192, 129), (128, 100), (180, 64)])
def test_grid_claiming_a_size_its_tiles_do_not_make_is_refused(output: tuple[int, int]) -> None:
    # Larger than 3x2 tiles of 64 cover, or leaving a whole row or column unused.
    _rejected(_grid("HEIF", 2, 3, output), "3x2 tiles of 64x64")


def test_grid_ispe_must_equal_its_descriptor() -> None:
    _rejected(_grid("AVIF", 2, 3, (180, 100), ispe=(1800, 1000)), "1800x1000", "180x100")


@pytest.mark.parametrize("tiles", [5, 7])
def test_grid_with_the_wrong_number_of_tiles_is_refused(tiles: int) -> None:
    _rejected(_grid("HEIF", 2, 3, (180, 100), tiles=tiles), "malformed", "3x2 tiles")


def test_grid_tiles_of_different_sizes_are_refused() -> None:
    _, props, _ = _tile_parts("HEIF")
    small = [_ispe(60, 64) if _kind(p) == b"ispe" else p for p in props]
    _rejected(_grid("HEIF", 1, 2, (120, 64), tile_props=[props, small]), "differ in size")


def test_grid_tile_lying_about_its_size_is_refused() -> None:
    _, props, _ = _tile_parts("AVIF")
    big = [_ispe(640, 640) if _kind(p) == b"ispe" else p for p in props]
    _rejected(_grid("AVIF", 1, 1, (640, 640), tile_props=[big]), "grid tile", "640x640")


def test_grid_with_too_many_tiles_is_refused_before_reading_them() -> None:
    rows = columns = 33
    assert rows * columns > MAX_TILES
    _rejected(_grid("HEIF", rows, columns, (64 * columns, 64 * rows), tiles=1), "too many tiles")


def test_grid_of_grids_is_refused() -> None:
    kind, props, data = _tile_parts("HEIF")
    inner = Item(2, b"grid", _grid_descriptor(1, 1, 64, 64), [_ispe(64, 64)], idat=True)
    outer = Item(1, b"grid", _grid_descriptor(1, 1, 64, 64), [_ispe(64, 64)], idat=True)
    tile = Item(3, kind, data, props)
    built = _heif([outer, inner, tile], 1, dimg={1: [2], 2: [3]})
    _rejected(built, "tile of type 'grid'")


# --- what is not an image we take ---------------------------------------------------------


@pytest.mark.parametrize("kind", [b"jpeg", b"mime", b"Exif", b"iovl"])
def test_unsupported_primary_item_types_are_named(kind: bytes) -> None:
    built = _heif([Item(1, kind, b"\xff\xd8\xff\xd9", [_ispe(64, 64)])], 1)
    _rejected(built, f"type '{kind.decode()}'", "not supported")


def test_unprintable_item_type_is_not_echoed() -> None:
    built = _heif([Item(1, b"\x00<\x07>", b"x", [_ispe(64, 64)])], 1)
    message = _rejected(built, "unknown type")
    assert "<" not in message


def test_sequence_with_a_still_image_is_accepted() -> None:
    frames = [Image.new("RGB", (48, 32), (40 * i, 0, 0)) for i in range(3)]
    out = io.BytesIO()
    frames[0].save(out, "AVIF", save_all=True, append_images=frames[1:])
    data = out.getvalue()
    assert data[8:12] == b"avis" and b"moov" in data
    header = inspect(data)
    assert (header.width, header.height, header.kind) == (48, 32, "av01")
    # Pillow decodes the track of an avis file, so its declared size (tkhd, 16.16 fixed
    # point, and the sample entry) is held to the still image's.
    tkhd = data.index(b"tkhd")
    entry = data.index(b"av01", data.index(b"stsd"))
    lie = bytearray(data)
    lie[tkhd : tkhd + 100] = data[tkhd : tkhd + 100].replace(
        struct.pack(">II", 48 << 16, 32 << 16), struct.pack(">II", 8000 << 16, 6000 << 16)
    )
    assert lie[entry + 28 : entry + 32] == struct.pack(">HH", 48, 32)
    lie[entry + 28 : entry + 32] = struct.pack(">HH", 8000, 6000)
    _rejected(bytes(lie), "animation is 8000x6000", "still image is 48x32")
    # With the major brand avif, libavif decodes the still item and the track is not used.
    assert inspect(data[:8] + b"avif" + data[12:]) == header


def test_sequence_without_a_still_image_is_refused() -> None:
    ftyp = _box(b"ftyp", b"avis", b"\x00" * 4, b"avis", b"msf1", b"mif1")
    data = ftyp + _box(b"moov", _box(b"mvhd", b"\x00" * 100)) + _box(b"mdat", b"\x00" * 16)
    _rejected(data, "image sequences without a still image are not supported")


@pytest.mark.parametrize("missing", [b"pitm", b"iinf", b"iloc", b"iprp", b"hdlr"])
def test_missing_required_boxes_are_refused(missing: bytes) -> None:
    data = _encode("HEIF", (64, 64))
    meta = _children(data, 0, len(data))[b"meta"]
    start, _, stop = _children(data, meta[1] + 4, meta[2])[missing]
    # Renamed rather than removed, so every size and offset stays right.
    renamed = data[: start + 4] + b"skip" + data[start + 8 :]
    assert len(renamed) == len(data) and stop > start
    _rejected(renamed, "HEIF file")


def test_primary_item_that_does_not_exist_is_refused() -> None:
    props, data = _primary_parts(_encode("HEIF", (64, 64)))
    _rejected(_heif([Item(1, b"hvc1", data, props)], 7), "primary item")


@pytest.mark.parametrize(
    "top",
    [
        _box(b"free", b"")[:4] + b"fre",  # a box header cut short
        struct.pack(">I4s", 4, b"free"),  # smaller than its own header
        struct.pack(">I4s", 1, b"free") + struct.pack(">Q", 8),  # 64-bit size under 16
        struct.pack(">I4s", 100, b"free"),  # past the end of the file
    ],
)
def test_broken_box_sizes_are_refused(top: bytes) -> None:
    data = _encode("AVIF", (16, 16))
    _rejected(data + top, "AVIF file")


def test_not_starting_with_ftyp_is_refused() -> None:
    data = _encode("AVIF", (16, 16))
    _rejected(_box(b"free") + data, "does not start with an ftyp box")
    _rejected(b"", "not a valid HEIF or AVIF image")


# --- hostile structure --------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["AVIF", "HEIF"])
def test_every_truncation_is_refused(fmt: str) -> None:
    data = _encode(fmt, (16, 16))
    for end in range(len(data)):
        with pytest.raises(ImageRejected):
            inspect(data[:end])


def test_every_truncation_of_a_grid_is_refused() -> None:
    data = _grid("HEIF", 1, 2, (100, 64))
    inspect(data)
    for end in range(len(data)):
        with pytest.raises(ImageRejected):
            inspect(data[:end])


@functools.cache
def _samples() -> tuple[bytes, ...]:
    return (
        _encode("AVIF", (33, 17), 6),
        _encode("HEIF", (33, 17), 6),
        _grid("HEIF", 1, 2, (100, 64)),
        _grid("AVIF", 2, 1, (64, 100)),
    )


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sample=st.integers(0, 3),
    flips=st.lists(st.tuples(st.integers(0, 4_000), st.integers(0, 255)), min_size=1, max_size=4),
)
def test_random_byte_changes_never_raise_anything_but_image_rejected(
    sample: int, flips: list[tuple[int, int]]
) -> None:
    data = bytearray(_samples()[sample])
    for pos, value in flips:
        data[pos % len(data)] = value
    try:
        header = inspect(bytes(data))
    except ImageRejected:
        return
    # Whatever survives the changes still has a coded size that backs its output.
    assert 0 < header.width <= header.coded_width
    assert 0 < header.height <= header.coded_height


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=300))
def test_random_bodies_after_an_ftyp_never_raise_anything_but_image_rejected(body: bytes) -> None:
    with contextlib.suppress(ImageRejected):
        inspect(_box(b"ftyp", b"heic", b"\x00" * 4, b"mif1") + body)


def test_a_million_tiny_boxes_are_refused_quickly() -> None:
    data = _encode("AVIF", (16, 16)) + struct.pack(">I4s", 8, b"free") * 1_000_000
    started = time.perf_counter()
    _rejected(data, f"more than {MAX_BOXES:,}")
    assert time.perf_counter() - started < 1.0


def test_huge_table_counts_are_refused_quickly() -> None:
    data = _encode("HEIF", (16, 16))
    meta = _children(data, 0, len(data))[b"meta"]
    boxes = _children(data, meta[1] + 4, meta[2])
    iprp = _children(data, boxes[b"iprp"][1], boxes[b"iprp"][2])
    ipma = iprp[b"ipma"][1]
    started = time.perf_counter()
    _rejected(data[: ipma + 4] + b"\xff\xff\xff\xff" + data[ipma + 8 :], "too many items")
    # 65,535 extents of zero-byte fields cost nothing to store but an iteration each.
    iloc = _full(
        b"iloc",
        1,
        0,
        b"\x00\x00",
        struct.pack(">H", 10),
        b"".join(struct.pack(">HHHH", item, 0, 0, 0xFFFF) for item in range(10)),
    )
    crafted = _box(b"ftyp", b"heic", b"\x00" * 4) + _full(
        b"meta",
        0,
        0,
        _full(b"hdlr", 0, 0, b"\x00" * 4, b"pict"),
        _full(b"pitm", 0, 0, b"\x00\x01"),
        _full(b"iinf", 0, 0, b"\x00\x00"),
        iloc,
    )
    _rejected(crafted, "too many")
    assert time.perf_counter() - started < 1.0


def test_parameter_sets_are_parsed_a_bounded_number_of_times() -> None:
    props, data = _primary_parts(_encode("HEIF", (64, 64)))
    sps = _sps(64, 64) + b"\x00" * 1_000
    many = (struct.pack(">I", len(sps)) + sps) * (MAX_PARAMETER_SETS + 1)
    started = time.perf_counter()
    _rejected(_heif([Item(1, b"hvc1", many + data, props)], 1), "too many codec parameter sets")
    assert time.perf_counter() - started < 1.0
