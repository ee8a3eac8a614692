"""Hostile image files, built in code: what each class of raster attack looks like.

`CORPUS` holds one `Hostile` per attack, covering the red-team table in
`../shared/SECURITY-NOTES.md` ("Raster input") and the classes behind it: animation
canvas x frames, progressive JPEG scans, formats that can only be decoded whole,
headers that lie about the size, metadata that inflates, and frame or page counts.
Every file is small on disk and cheap to make; what it costs is the decoding.

Files are written by hand (struct, zlib, hand-rolled LZW and JPEG entropy data) rather
than by asking Pillow to encode a huge image, so that a 110 MP bomb builds in
milliseconds and a few MB of memory. Pillow makes only the tiny real images some
entries wrap or patch (a 1x1 WebP bitstream, a 64x64 AVIF and HEIC, a 64x64 JPEG).

`bench/hostile.py` measures what each costs the pipeline; the tests of what the
pipeline does with each live with the pipeline's tests.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, partial
from typing import TYPE_CHECKING

from imgpro.imaging import formats
from imgpro.imaging.formats import ImageFormat

if TYPE_CHECKING:
    from PIL import Image


@dataclass(frozen=True)
class Hostile:
    name: str
    kind: str
    """The class of attack: "animation canvas", "frame count", "progressive scans",
    "full-decode pixels", "header lie" or "metadata"."""
    description: str
    build: Callable[[], bytes]
    """Makes the file; cached, so the bytes are made once per process."""
    format: ImageFormat
    """What the magic bytes say the file is (`formats.detect`)."""


def _cached(function: Callable[..., bytes], *args: object, **kwargs: object) -> Callable[[], bytes]:
    return cache(partial(function, *args, **kwargs))


# --- shared writers ---------------------------------------------------------------------


def _adler32_of_run(byte: int, size: int) -> int:
    # Adler-32 of `size` copies of one byte, in closed form: A = 1 + b*n, and B is the sum
    # of A after each byte. Summing 100 MB byte by byte would take longer than the rest.
    mod = 65521
    a = (1 + byte * size) % mod
    b = (size + byte * (size * (size + 1) // 2)) % mod
    return (b << 16) | a


@cache
def _zlib_run(size: int, byte: int = 0) -> bytes:
    """A zlib stream of `size` copies of `byte`, made from one compressed MiB repeated.

    After a full flush deflate forgets its history, so every further MiB of the same
    input compresses to the same bytes: 110 MB costs the time of one MiB. The ratio is
    deflate's ceiling, about 1,000:1, as from any encoder at level 9.
    """
    block = 1 << 20
    whole, rest = divmod(size, block)
    chunk = bytes([byte]) * block
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    segment = deflate.compress(chunk) + deflate.flush(zlib.Z_FULL_FLUSH) if whole else b""
    tail = deflate.compress(chunk[:rest]) + deflate.flush()
    return b"\x78\xda" + segment * whole + tail + struct.pack(">I", _adler32_of_run(byte, size))


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def _png(
    width: int,
    height: int,
    *,
    depth: int,
    colour_type: int,
    idat: bytes,
    before: tuple[bytes, ...] = (),
    after: tuple[bytes, ...] = (),
) -> bytes:
    """A PNG from its parts: IHDR, `before` (already framed chunks), IDAT, `after`, IEND."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + b"".join(before)
        + _png_chunk(b"IDAT", idat)
        + b"".join(after)
        + _png_chunk(b"IEND", b"")
    )


_TWO_COLOURS = _png_chunk(b"PLTE", b"\x00\x00\x00\xff\xff\xff")


def _zero_rows_png(width: int, height: int, depth: int, *, before: tuple[bytes, ...] = ()) -> bytes:
    """A palette PNG of colour 0 everywhere: rows of zeros, filter byte 0 included."""
    row = 1 + (width * depth + 7) // 8
    return _png(
        width,
        height,
        depth=depth,
        colour_type=3,
        idat=_zlib_run(row * height),
        before=(_TWO_COLOURS, *before),
    )


class _MsbBits:
    """Bits most significant first, with JPEG's 0xFF 0x00 byte stuffing."""

    def __init__(self) -> None:
        self.out = bytearray()
        self._acc = 0
        self._count = 0

    def put(self, value: int, length: int) -> None:
        self._acc = (self._acc << length) | value
        self._count += length
        while self._count >= 8:
            self._count -= 8
            byte = (self._acc >> self._count) & 0xFF
            self.out.append(byte)
            if byte == 0xFF:
                self.out.append(0)
        self._acc &= (1 << self._count) - 1

    def finish(self) -> bytes:
        if self._count:
            self.put((1 << (8 - self._count)) - 1, 8 - self._count)  # pad with 1s
        return bytes(self.out)


def _gif_lzw_run(count: int, min_size: int = 2) -> bytes:
    """GIF LZW for `count` pixels of colour 0, packed into data sub-blocks.

    LZW of a uniform run emits strings of length 1, 2, 3, ... (each code one longer than
    the last, the encoder's KwKwK case), so the codes follow from the count alone and no
    dictionary is needed: 110 MP is about 50,000 codes. A clear code restarts the table
    before it fills, as common encoders do.
    """
    clear = 1 << min_size
    first = clear + 2
    bits, acc, out = 0, 0, bytearray()

    def put(code: int, width: int) -> None:
        nonlocal bits, acc
        acc |= code << bits
        bits += width
        while bits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            bits -= 8

    def width(emitted: int) -> int:
        # The decoder widens codes once it has assigned 2**width - 1; it assigns one code
        # per code read after the first since the clear.
        if emitted == 0:
            return min_size + 1
        return min(12, max(min_size + 1, (first + emitted - 1).bit_length()))

    put(clear, width(0))
    emitted, remaining = 0, count
    while remaining:
        if emitted and first + emitted - 1 >= 4090:
            put(clear, width(emitted))
            emitted = 0
            continue
        length = min(emitted + 1, remaining)
        put(0 if length == 1 else first + length - 2, width(emitted))
        emitted += 1
        remaining -= length
    put(clear + 1, width(emitted))  # end of information
    if bits:
        out.append(acc & 0xFF)
    blocks = b"".join(
        bytes([len(out[i : i + 255])]) + out[i : i + 255] for i in range(0, len(out), 255)
    )
    return bytes([min_size]) + blocks + b"\x00"


def _gif(
    screen: tuple[int, int], frames: list[tuple[int, int, int, int]], *, delay_cs: int = 10
) -> bytes:
    """A GIF89a with a two-colour global table and one frame per (x, y, w, h), each
    frame colour 0 all over. More than one frame makes it an endless animation."""
    out = bytearray(b"GIF89a" + struct.pack("<HHBBB", *screen, 0x80, 0, 0))
    out += b"\x00\x00\x00\xff\xff\xff"
    if len(frames) > 1:
        out += b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    for x, y, w, h in frames:
        if len(frames) > 1:
            out += b"\x21\xf9\x04\x00" + struct.pack("<H", delay_cs) + b"\x00\x00"
        out += b"\x2c" + struct.pack("<HHHHB", x, y, w, h, 0)
        out += _gif_lzw_run(w * h)
    out += b"\x3b"
    return bytes(out)


def _riff_chunk(kind: bytes, payload: bytes) -> bytes:
    return kind + struct.pack("<I", len(payload)) + payload + b"\x00" * (len(payload) % 2)


def _webp(chunks: bytes) -> bytes:
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WEBP" + chunks


@cache
def _vp8l_1x1() -> bytes:
    """The VP8L bitstream (chunk payload) of a real 1x1 lossless WebP made by libwebp.

    A single-colour VP8L image has one-symbol prefix codes, which cost zero bits a pixel:
    the same bitstream decodes at any size written into its header.
    """
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGBA", (1, 1), (200, 30, 30, 255)).save(out, "WEBP", lossless=True)
    data = out.getvalue()
    if data[12:16] != b"VP8L":
        raise AssertionError("libwebp wrote a 1x1 lossless image without a plain VP8L chunk")
    (size,) = struct.unpack("<I", data[16:20])
    return data[20 : 20 + size]


def _vp8l_sized(width: int, height: int) -> bytes:
    payload = bytearray(_vp8l_1x1())
    header = int.from_bytes(payload[1:5], "little")
    header = (header & ~((1 << 28) - 1)) | (width - 1) | ((height - 1) << 14)
    payload[1:5] = header.to_bytes(4, "little")
    return bytes(payload)


def _webp_lossless(width: int, height: int) -> bytes:
    return _webp(_riff_chunk(b"VP8L", _vp8l_sized(width, height)))


def _u24(value: int) -> bytes:
    return value.to_bytes(3, "little")


def _webp_animation(canvas: tuple[int, int], positions: list[tuple[int, int]]) -> bytes:
    """An animated WebP (VP8X + ANIM) with a 1x1 lossless ANMF frame at each position."""
    width, height = canvas
    vp8x = bytes([0x10 | 0x02, 0, 0, 0]) + _u24(width - 1) + _u24(height - 1)  # alpha, anim
    chunks = _riff_chunk(b"VP8X", vp8x) + _riff_chunk(b"ANIM", b"\x00\x00\x00\x00\x00\x00")
    frame = _riff_chunk(b"VP8L", _vp8l_1x1())
    for x, y in positions:
        # Offsets are stored halved; duration 100 ms; blend and dispose flags 0.
        header = _u24(x // 2) + _u24(y // 2) + _u24(0) + _u24(0) + _u24(100) + b"\x00"
        chunks += _riff_chunk(b"ANMF", header + frame)
    return _webp(chunks)


def _apng(canvas: tuple[int, int], positions: list[tuple[int, int]]) -> bytes:
    """An APNG whose 1-bit default image fills the canvas (and is not a frame), with a
    1x1 frame at each position."""
    width, height = canvas
    chunks, sequence = [], 0
    one_pixel = zlib.compress(b"\x00\x00")
    for x, y in positions:
        fctl = struct.pack(">IIIIIHHBB", sequence, 1, 1, x, y, 10, 100, 0, 0)
        fdat = struct.pack(">I", sequence + 1) + one_pixel
        chunks += [_png_chunk(b"fcTL", fctl), _png_chunk(b"fdAT", fdat)]
        sequence += 2
    actl = _png_chunk(b"acTL", struct.pack(">II", len(positions), 0))
    row = 1 + (width + 7) // 8
    return _png(
        width,
        height,
        depth=1,
        colour_type=3,
        idat=_zlib_run(row * height),
        before=(_TWO_COLOURS, actl),
        after=tuple(chunks),
    )


def _spread(count: int, canvas: tuple[int, int]) -> list[tuple[int, int]]:
    """`count` even positions scattered over a canvas, so frames do not all overlap."""
    width, height = canvas
    return [((i * 7919) % (width - 1) & ~1, (i * 104729) % (height - 1) & ~1) for i in range(count)]


# --- JPEG ---------------------------------------------------------------------------------

_SOI, _EOI = b"\xff\xd8", b"\xff\xd9"
_JFIF = b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def _dht(table_class: int, table_id: int, lengths: dict[int, list[int]]) -> bytes:
    """A DHT segment from {code length: [symbols]}."""
    counts = bytes(len(lengths.get(n, [])) for n in range(1, 17))
    values = bytes(s for n in range(1, 17) for s in lengths.get(n, []))
    return _segment(0xC4, bytes([table_class << 4 | table_id]) + counts + values)


_DQT_ONES = _segment(0xDB, b"\x00" + b"\x01" * 64)
# The only DC difference is 0 (category 0, code "0"), the only AC symbol end-of-block
# (code "0"): a block of flat colour costs two zero bits, and entropy data is zeros.
_DHT_DC = _dht(0, 0, {1: [0x00]})
_DHT_AC_EOB = _dht(1, 0, {1: [0x00]})
# Progressive AC scans: EOBn symbols (n = 0..14, a run of 2**n to 2**(n+1) - 1 blocks),
# each a 4-bit code; one EOB14 ends up to 32,767 blocks at once.
_DHT_AC_EOBRUNS = _dht(1, 0, {4: [n << 4 for n in range(15)]})


def _sof(marker: int, width: int, height: int, colour: bool) -> bytes:
    # 4:2:0 like a camera photo: luma 2x2, chroma 1x1, all on quantisation table 0.
    parts = [(1, 0x22), (2, 0x11), (3, 0x11)] if colour else [(1, 0x11)]
    payload = struct.pack(">BHHB", 8, height, width, len(parts))
    payload += b"".join(bytes([c, sampling, 0]) for c, sampling in parts)
    return _segment(marker, payload)


def _sos(components: list[int], ss: int, se: int) -> bytes:
    body = bytes([len(components)]) + b"".join(bytes([c, 0x00]) for c in components)
    return _segment(0xDA, body + bytes([ss, se, 0]))


def _zero_bits(count: int) -> bytes:
    whole, rest = divmod(count, 8)
    return bytes(whole) + (bytes([(1 << (8 - rest)) - 1]) if rest else b"")


def _blocks(size: int, sampling: int, max_sampling: int) -> int:
    # A non-interleaved scan covers the component's own size, rounded up to whole blocks.
    component = -(-size * sampling // max_sampling)
    return -(-component // 8)


def _jpeg_flat(width: int, height: int, *, colour: bool, data_bits: int | None = None) -> bytes:
    """A baseline JPEG of one flat colour; `data_bits` cuts the entropy data short."""
    mcu, blocks_per_mcu = (16, 6) if colour else (8, 1)
    mcus = -(-width // mcu) * -(-height // mcu)
    bits = mcus * blocks_per_mcu * 2 if data_bits is None else data_bits
    return (
        _SOI
        + _JFIF
        + _DQT_ONES
        + _sof(0xC0, width, height, colour)
        + _DHT_DC
        + _DHT_AC_EOB
        + _sos([1, 2, 3] if colour else [1], 0, 63)
        + _zero_bits(bits)
        + _EOI
    )


def _eob_runs(blocks: int) -> bytes:
    """One progressive AC scan's entropy data: end-of-band runs over `blocks` blocks."""
    bits = _MsbBits()
    while blocks:
        run = min(blocks, 32767)
        n = run.bit_length() - 1
        bits.put(n, 4)
        bits.put(run - (1 << n), n)
        blocks -= run
    return bits.finish()


def _progressive_jpeg(width: int, height: int, scans: int) -> bytes:
    """A progressive 4:2:0 JPEG of one flat colour in `scans` scans: a DC scan, then AC
    scans (bands 1-63, each component in turn) repeated until there are `scans`.

    Each AC scan is a few dozen bytes of end-of-band runs, but the decoder visits every
    block of the component in each: pixels x scans of work. A repeated first scan of a
    band is not even a progression error to libjpeg (Ah matches the last Al).
    """
    luma = _blocks(width, 2, 2) * _blocks(height, 2, 2)
    chroma = _blocks(width, 1, 2) * _blocks(height, 1, 2)
    mcus = -(-width // 16) * -(-height // 16)
    ac = {1: _eob_runs(luma), 2: _eob_runs(chroma), 3: _eob_runs(chroma)}
    out = [_SOI, _JFIF, _DQT_ONES, _sof(0xC2, width, height, True), _DHT_DC, _DHT_AC_EOBRUNS]
    out += [_sos([1, 2, 3], 0, 0), _zero_bits(mcus * 6)]
    for i in range(scans - 1):
        component = 1 + i % 3
        out += [_sos([component], 1, 63), ac[component]]
    out.append(_EOI)
    return b"".join(out)


@cache
def _small_jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 64), (30, 120, 200)).save(out, "JPEG", quality=90)
    return out.getvalue()


def _jpeg_app13(total: int) -> bytes:
    """A 64x64 JPEG carrying `total` bytes of Photoshop (APP13) segments: well-formed
    8BIM resources, so a parser walks all of them."""
    data = 65533 - 26  # one segment's payload at the 64 KiB segment limit, minus framing
    resource = b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", data)
    segment = _segment(0xED, b"Photoshop 3.0\x00" + resource + bytes(data))
    count = -(-total // len(segment))
    image = _small_jpeg()
    return image[:2] + segment * count + image[2:]


# --- other containers -----------------------------------------------------------------------


def _tiff(pages: list[tuple[int, int, int, int, int, list[bytes]]]) -> bytes:
    """A little-endian grey (BlackIsZero) TIFF, one IFD per page given as (width, height,
    bits per sample, compression, rows per strip, strips)."""
    out = bytearray(b"II*\x00\x00\x00\x00\x00")
    link = 4  # where the offset of the next IFD goes
    for width, height, bits, compression, rows, strips in pages:
        offsets = []
        for strip in strips:
            offsets.append(len(out))
            out += strip + b"\x00" * (len(strip) % 2)
        arrays = b""
        # Arrays of more than one LONG live outside the IFD: laid out right after it.
        entries_at = len(out) + 2
        after_ifd = entries_at + 12 * 9 + 4
        strip_tags = []
        for values in (offsets, [len(s) for s in strips]):
            if len(values) == 1:
                strip_tags.append((1, struct.pack("<I", values[0])))
            else:
                strip_tags.append((len(values), struct.pack("<I", after_ifd + len(arrays))))
                arrays += struct.pack(f"<{len(values)}I", *values)
        entries = [
            (256, 4, 1, struct.pack("<I", width)),
            (257, 4, 1, struct.pack("<I", height)),
            (258, 3, 1, struct.pack("<HH", bits, 0)),
            (259, 3, 1, struct.pack("<HH", compression, 0)),
            (262, 3, 1, struct.pack("<HH", 1, 0)),
            (273, 4, strip_tags[0][0], strip_tags[0][1]),
            (277, 3, 1, struct.pack("<HH", 1, 0)),
            (278, 4, 1, struct.pack("<I", rows)),
            (279, 4, strip_tags[1][0], strip_tags[1][1]),
        ]
        struct.pack_into("<I", out, link, len(out))
        out += struct.pack("<H", len(entries))
        out += b"".join(struct.pack("<HHI", t, kind, n) + v for t, kind, n, v in entries)
        link = len(out)
        out += b"\x00\x00\x00\x00" + arrays
    return bytes(out)


def _deflate_tiff_1bit(width: int, height: int) -> bytes:
    rows_per_strip = 1024
    row = (width + 7) // 8
    strips = [
        _zlib_run(row * min(rows_per_strip, height - top))
        for top in range(0, height, rows_per_strip)
    ]
    return _tiff([(width, height, 1, 8, rows_per_strip, strips)])


def _tiff_pages(count: int, side: int) -> bytes:
    page = (side, side, 8, 8, side, [_zlib_run(side * side)])
    return _tiff([page] * count)


def _bmp_rle8(width: int, height: int) -> bytes:
    """An 8-bit BI_RLE8 BMP of colour 0: each row runs of 255, end of line; end of bitmap."""
    full, rest = divmod(width, 255)
    row = b"\xff\x00" * full + (bytes([rest, 0]) if rest else b"") + b"\x00\x00"
    pixels = row * height + b"\x00\x01"
    palette = b"\x00\x00\x00\x00\xff\xff\xff\x00"
    offset = 14 + 40 + len(palette)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 8, 1, len(pixels), 2835, 2835, 2, 0)
    header = b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset)
    return header + info + palette + pixels


def _qoi(width: int, height: int, pixels: int) -> bytes:
    """A QOI header for width x height, then `pixels` pixels of runs (62 a byte) and the
    end marker: all of them when `pixels` is width x height, a header lie otherwise."""
    full, rest = divmod(pixels, 62)
    ops = b"\xfd" * full + (bytes([0xC0 | (rest - 1)]) if rest else b"")
    return b"qoif" + struct.pack(">IIBB", width, height, 4, 0) + ops + b"\x00" * 7 + b"\x01"


def _pnm_claiming(width: int, height: int) -> bytes:
    return f"P6\n{width} {height}\n255\n".encode() + bytes(3 * 64)


def _ico_with_png(width: int, height: int) -> bytes:
    """An ICO whose directory says 256x256 and whose embedded PNG says width x height."""
    png = _png(width, height, depth=8, colour_type=6, idat=zlib.compress(bytes(64)))
    entry = struct.pack("<BBBBHHII", 0, 0, 0, 0, 1, 32, len(png), 6 + 16)
    return struct.pack("<HHH", 0, 1, 1) + entry + png


def _with_ispe(data: bytes, width: int, height: int) -> bytes:
    """`data` with every `ispe` (image spatial extents) box saying width x height."""
    out = bytearray(data)
    at = out.find(b"ispe")
    if at < 0:
        raise AssertionError("no ispe box to patch")
    while at >= 0:
        # box: size, 'ispe', version+flags, width, height
        out[at + 8 : at + 16] = struct.pack(">II", width, height)
        at = out.find(b"ispe", at + 4)
    return bytes(out)


def _heif_family(pillow_format: str, claimed: tuple[int, int]) -> bytes:
    from PIL import Image

    if pillow_format == "HEIF":
        from pillow_heif import register_heif_opener

        register_heif_opener()
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (120, 40, 200)).save(out, pillow_format)
    return _with_ispe(out.getvalue(), *claimed)


def _png_ztxt(inflated: int, chunks: int = 1) -> bytes:
    # Distinct keywords, so that a reader keeping a dict of texts keeps every one.
    text = _zlib_run(inflated, ord(" "))
    ztxt = tuple(_png_chunk(b"zTXt", b"Comment%d\x00\x00" % i + text) for i in range(chunks))
    return _zero_rows_png(64, 64, 1, before=ztxt)


def _png_iccp(size: int) -> bytes:
    # An ICC header that says how long it is and carries the 'acsp' signature; the
    # rest is zeros, so the chunk is small and the profile inflates to `size`.
    header = struct.pack(">I", size) + b"lcms" + b"\x02\x10\x00\x00mntrRGB XYZ "
    profile = header.ljust(36, b"\x00") + b"acsp"
    payload = b"ICC Profile\x00\x00" + zlib.compress(profile.ljust(size, b"\x00"), 9)
    return _zero_rows_png(64, 64, 1, before=(_png_chunk(b"iCCP", payload),))


def _png_wide_huge_palette(width: int, entries: int) -> bytes:
    """One row `width` wide, indexes cycling through 256 colours, and a PLTE chunk of
    `entries` colours where PNG allows 256."""
    palette = _png_chunk(b"PLTE", bytes((i * 37) % 256 for i in range(entries * 3)))
    row = b"\x00" + bytes(i % 256 for i in range(width))
    return _png(width, 1, depth=8, colour_type=3, idat=zlib.compress(row, 9), before=(palette,))


# --- the corpus ------------------------------------------------------------------------------

_110MP = (12000, 9200)  # 110.4 MP: under a 120 MP input cap, 2.3x a 48 MP one

CORPUS: list[Hostile] = [
    # Animation canvas: every frame is composited onto the full canvas.
    Hostile(
        "gif-screen-10000x12000-two-16x16-frames",
        "animation canvas",
        "GIF, two 16x16 frames on a 10000x12000 logical screen: 120 MP composited per frame",
        _cached(_gif, (10000, 12000), [(0, 0, 16, 16), (16, 16, 16, 16)]),
        formats.GIF,
    ),
    Hostile(
        "gif-frame-outside-16x16-screen",
        "animation canvas",
        "GIF whose 16x16 screen holds a frame at (9984, 11984): Pillow grows the canvas to "
        "10000x12000 mid-file, after any header check",
        _cached(_gif, (16, 16), [(0, 0, 16, 16), (9984, 11984, 16, 16)]),
        formats.GIF,
    ),
    Hostile(
        "webp-anim-canvas-10000x12000-two-1x1",
        "animation canvas",
        "animated WebP, VP8X canvas 10000x12000, two 1x1 lossless ANMF frames",
        _cached(_webp_animation, (10000, 12000), [(0, 0), (9998, 11998)]),
        formats.WEBP,
    ),
    Hostile(
        "webp-anim-canvas-16383x16383-two-1x1",
        "animation canvas",
        "animated WebP at the format's largest common canvas, 16383x16383 (268 MP), two 1x1 frames",
        _cached(_webp_animation, (16383, 16383), [(0, 0), (16380, 16380)]),
        formats.WEBP,
    ),
    Hostile(
        "apng-canvas-8000x6000-five-1x1",
        "animation canvas",
        "APNG, IHDR 8000x6000 (a 1-bit default image that is not a frame), five 1x1 fcTL "
        "frames: each becomes a 48 MP frame, and so does each variant",
        _cached(_apng, (8000, 6000), _spread(5, (8000, 6000))),
        formats.PNG,
    ),
    # Frame count: small canvases, many frames.
    Hostile(
        "gif-2000x2000-1000-frames",
        "frame count",
        "GIF, 1000 1x1 frames on a 2000x2000 screen: 4 GP composited in 20 KB",
        _cached(_gif, (2000, 2000), [(x, y, 1, 1) for x, y in _spread(1000, (2000, 2000))]),
        formats.GIF,
    ),
    Hostile(
        "webp-anim-2000x2000-1000-frames",
        "frame count",
        "animated WebP, 1000 1x1 frames on a 2000x2000 canvas: 4 GP composited",
        _cached(_webp_animation, (2000, 2000), _spread(1000, (2000, 2000))),
        formats.WEBP,
    ),
    Hostile(
        "apng-2000x2000-1000-frames",
        "frame count",
        "APNG, 1000 1x1 frames on a 2000x2000 canvas: 4 GP composited",
        _cached(_apng, (2000, 2000), _spread(1000, (2000, 2000))),
        formats.PNG,
    ),
    Hostile(
        "tiff-500-pages",
        "frame count",
        "multi-page TIFF, 500 deflate 64x64 grey pages: a walk of every page, or 500 frames",
        _cached(_tiff_pages, 500, 64),
        formats.TIFF,
    ),
    # Progressive scans: each scan is a pass over every block.
    Hostile(
        "jpeg-progressive-8000x6000-999-scans",
        "progressive scans",
        "progressive 4:2:0 JPEG 8000x6000 with 999 scans (cap 1,000), each AC scan a few "
        "dozen bytes of end-of-band runs: 48 MP x 999 of block visits",
        _cached(_progressive_jpeg, 8000, 6000, 999),
        formats.JPEG,
    ),
    Hostile(
        "jpeg-progressive-8000x6000-100-scans",
        "progressive scans",
        "progressive JPEG at 48 MP with 100 scans: within any sane scan cap, 10x a normal "
        "progressive file's passes",
        _cached(_progressive_jpeg, 8000, 6000, 100),
        formats.JPEG,
    ),
    # Full-decode pixels: formats with no reduced-size decode, about 110 MP.
    Hostile(
        "png-1bit-12000x9200",
        "full-decode pixels",
        "1-bit palette PNG, 110 MP of zero rows in a 14 KB deflate stream",
        _cached(_zero_rows_png, *_110MP, 1),
        formats.PNG,
    ),
    Hostile(
        "png-palette-16000x7000",
        "full-decode pixels",
        "8-bit palette PNG 16000x7000 (112 MP), one colour: 112 MB of rows in 110 KB",
        _cached(_zero_rows_png, 16000, 7000, 8),
        formats.PNG,
    ),
    Hostile(
        "gif-single-frame-12000x9200",
        "full-decode pixels",
        "single-frame GIF, 110 MP of one colour in LZW",
        _cached(_gif, _110MP, [(0, 0, *_110MP)]),
        formats.GIF,
    ),
    Hostile(
        "tiff-deflate-1bit-12000x9200",
        "full-decode pixels",
        "1-bit deflate TIFF, 110 MP in strips of 1024 rows",
        _cached(_deflate_tiff_1bit, *_110MP),
        formats.TIFF,
    ),
    Hostile(
        "bmp-rle8-12000x9200",
        "full-decode pixels",
        "BI_RLE8 BMP, 110 MP in runs of 255 (Pillow decodes RLE in Python)",
        _cached(_bmp_rle8, *_110MP),
        formats.BMP,
    ),
    Hostile(
        "qoi-runs-12000x9200",
        "full-decode pixels",
        "QOI, 110 MP of one colour in 62-pixel runs (Pillow decodes QOI in Python)",
        _cached(_qoi, *_110MP, _110MP[0] * _110MP[1]),
        formats.QOI,
    ),
    Hostile(
        "webp-lossless-12000x9200",
        "full-decode pixels",
        "lossless WebP, 110 MP of one colour: a 1x1 VP8L bitstream with the size patched "
        "(one-symbol codes cost no bits), no reduced decode",
        _cached(_webp_lossless, *_110MP),
        formats.WEBP,
    ),
    Hostile(
        "jpeg-baseline-12000x9200",
        "full-decode pixels",
        "baseline 4:2:0 JPEG, 110 MP of flat blocks: DCT scaling's 1/2 is under 48 MP, so "
        "a downscale to 48 MP must decode it whole",
        _cached(_jpeg_flat, *_110MP, colour=True),
        formats.JPEG,
    ),
    # Header lies: the size a header claims is not what the data holds.
    Hostile(
        "avif-ispe-8000x6000-over-64x64",
        "header lie",
        "AVIF whose ispe says 8000x6000 over a 64x64 coded image: stored at the claimed size",
        _cached(_heif_family, "AVIF", (8000, 6000)),
        formats.AVIF,
    ),
    Hostile(
        "heic-ispe-8000x6000-over-64x64",
        "header lie",
        "HEIC whose ispe says 8000x6000 over a 64x64 coded image",
        _cached(_heif_family, "HEIF", (8000, 6000)),
        formats.HEIF,
    ),
    Hostile(
        "jpeg-sof-65000x65000",
        "header lie",
        "baseline JPEG whose SOF claims 65000x65000 (4.2 GP) over 1 KB of entropy data",
        _cached(_jpeg_flat, 65000, 65000, colour=False, data_bits=8192),
        formats.JPEG,
    ),
    Hostile(
        "pnm-header-60000x60000",
        "header lie",
        "PPM header claiming 60000x60000 (3.6 GP) over 192 bytes",
        _cached(_pnm_claiming, 60000, 60000),
        formats.PNM,
    ),
    Hostile(
        "qoi-header-30000x30000",
        "header lie",
        "QOI header claiming 30000x30000 (900 MP) over a few run bytes",
        _cached(_qoi, 30000, 30000, 62 * 4),
        formats.QOI,
    ),
    Hostile(
        "ico-png-30000x30000",
        "header lie",
        "ICO whose directory says 256x256 and whose embedded PNG's IHDR says 30000x30000",
        _cached(_ico_with_png, 30000, 30000),
        formats.ICO,
    ),
    Hostile(
        "tiff-header-60000x60000",
        "header lie",
        "uncompressed 8-bit TIFF claiming 60000x60000 (3.6 GP) over a 64-byte strip",
        _cached(_tiff, [(60000, 60000, 8, 1, 60000, [bytes(64)])]),
        formats.TIFF,
    ),
    Hostile(
        "png-65535x1-huge-palette",
        "header lie",
        "palette PNG 65535x1 (the widest side allowed) with a PLTE of 65535 colours where "
        "PNG allows 256",
        _cached(_png_wide_huge_palette, 65535, 65535),
        formats.PNG,
    ),
    # Metadata: small on disk, large once read, and copied along if kept.
    Hostile(
        "png-ztxt-50mb",
        "metadata",
        "64x64 PNG with a zTXt comment that inflates to 50 MB from 50 KB",
        _cached(_png_ztxt, 50_000_000),
        formats.PNG,
    ),
    Hostile(
        "png-ztxt-60-chunks-of-1mb",
        "metadata",
        "64x64 PNG with 60 zTXt chunks of 1 MB each, 60 MB of text from 60 KB: each under "
        "Pillow's 1 MB chunk cap and together under its 64 MB total, so all are read",
        _cached(_png_ztxt, 1_000_000, 60),
        formats.PNG,
    ),
    Hostile(
        "png-iccp-5mb",
        "metadata",
        "64x64 PNG with a 5 MB iCCP profile (compressed to a few KB): carried into every "
        "variant if profiles are kept as they are",
        _cached(_png_iccp, 5_000_000),
        formats.PNG,
    ),
    Hostile(
        "png-iccp-1mb",
        "metadata",
        "64x64 PNG with a 1,000,000-byte iCCP profile, just under Pillow's 1 MiB cap: read, "
        "and 1 MB added to every variant that keeps the profile",
        _cached(_png_iccp, 1_000_000),
        formats.PNG,
    ),
    Hostile(
        "jpeg-app13-4mb",
        "metadata",
        "64x64 JPEG with 4 MB of Photoshop APP13 segments (64 of them, well-formed 8BIM)",
        _cached(_jpeg_app13, 4 * 1024 * 1024),
        formats.JPEG,
    ),
]


# --- the yardstick: legitimate photos --------------------------------------------------------


def _photo(megapixels: int) -> Image.Image:
    """A photo-like 4:3 RGB image: noise at 1/10 scale upscaled bicubic, so it
    compresses like a photo (as `bench/pipeline_memory.py`'s `photo_like`)."""
    from PIL import Image

    height = int((megapixels * 1e6 * 3 / 4) ** 0.5)
    width = height * 4 // 3
    seed = Image.frombytes(
        "RGB", (width // 10, height // 10), os.urandom(width * height * 3 // 100)
    )
    return seed.resize((width, height), Image.Resampling.BICUBIC)


@cache
def legit_photo_jpeg(megapixels: int) -> bytes:
    """A camera-like JPEG of about `megapixels` MP (quality 90, 4:2:0)."""
    out = io.BytesIO()
    _photo(megapixels).save(out, "JPEG", quality=90)
    return out.getvalue()


@cache
def legit_photo_heic(megapixels: int) -> bytes:
    """A phone-like HEIC of about `megapixels` MP, encoded by pillow-heif (libheif, x265)."""
    from pillow_heif import register_heif_opener

    register_heif_opener()
    out = io.BytesIO()
    # x265's "fast" preset: a third of the default's encode time (15 s, not 40 s, at 48 MP)
    # for a file 7% larger that decodes in the same time, which is what the yardstick is.
    _photo(megapixels).save(out, "HEIF", quality=80, enc_params={"preset": "fast"})
    return out.getvalue()
