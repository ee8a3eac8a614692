"""PNG and APNG chunk structure: where the image ends, frames, and the eXIf chunk."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterator

from imgpro.imaging.containers.layout import Layout
from imgpro.imaging.errors import ImageRejected

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_HEADER = struct.Struct(">I4s")
_CRC = struct.Struct(">I")
# The PNG spec caps chunk lengths at 2^31 - 1 so that they fit a signed 32-bit integer.
_MAX_LENGTH = 0x7FFF_FFFF
# Each chunk costs a Python iteration (about half a microsecond), so a crafted file of empty
# chunks could hold a walk for seconds. Real files have a few per frame plus one per 8 KB
# (libpng) to 64 KB of pixel data: a 50 MB PNG in 8 KB IDATs has about 6,400.
MAX_CHUNKS = 200_000
# Some writers put the JPEG APP1 prefix in eXIf too; Pillow strips it, and so do we.
_EXIF_PREFIX = b"Exif\x00\x00"


def _name(kind: bytes) -> str:
    """A chunk type for a message, without echoing arbitrary bytes back to the client."""
    return f"{kind.decode()} chunk" if kind.isalpha() else "a chunk"


def _chunks(data: bytes) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of every chunk up to and including IEND, each
    with its CRC checked. Raises ImageRejected."""
    if not data.startswith(_SIGNATURE):
        raise ImageRejected("The file is not a valid PNG image (bad signature)")
    view = memoryview(data)
    size = len(data)
    pos = len(_SIGNATURE)
    for _ in range(MAX_CHUNKS):
        if pos + _HEADER.size > size:
            raise ImageRejected("The PNG file is truncated (no IEND chunk)")
        length, kind = _HEADER.unpack_from(data, pos)
        if length > _MAX_LENGTH:
            raise ImageRejected("The PNG file is malformed (a chunk length is out of range)")
        start = pos + _HEADER.size
        stop = start + length
        if stop + _CRC.size > size:
            raise ImageRejected("The PNG file is truncated (a chunk runs past the end of the file)")
        # The CRC covers type and payload; a memoryview slice hashes them without a copy.
        if zlib.crc32(view[pos + 4 : stop]) != _CRC.unpack_from(data, stop)[0]:
            raise ImageRejected(f"The PNG file is corrupt (the CRC of {_name(kind)} is wrong)")
        yield kind, start, stop
        pos = stop + _CRC.size
        if kind == b"IEND":
            return
    raise ImageRejected(f"The PNG file has too many chunks (more than {MAX_CHUNKS:,})")


def _payload_exif(payload: bytes) -> bytes:
    return payload[len(_EXIF_PREFIX) :] if payload.startswith(_EXIF_PREFIX) else payload


def walk(data: bytes) -> Layout:
    """The image's layout; frames is acTL's num_frames for an APNG, after checking that
    as many fcTL chunks follow. The canvas is IHDR's size: APNG frames must lie inside
    it (a decoder composites each one on a canvas of that size)."""
    exif: bytes | None = None
    declared: int | None = None
    controls = 0
    has_data = False
    end = width = height = 0
    for index, (kind, start, stop) in enumerate(_chunks(data)):
        if index == 0 and (kind != b"IHDR" or stop - start != 13):
            raise ImageRejected("The PNG file is malformed (it does not start with an IHDR chunk)")
        if index == 0:
            width, height = struct.unpack_from(">II", data, start)
        if kind == b"IDAT":
            has_data = True
        elif kind == b"acTL" and declared is None:
            if stop - start != 8:
                raise ImageRejected("The PNG file is malformed (acTL has the wrong length)")
            (declared,) = struct.unpack_from(">I", data, start)
        elif kind == b"fcTL":
            controls += 1
        elif kind == b"eXIf" and exif is None:
            exif = _payload_exif(data[start:stop])
        elif kind == b"IEND":
            end = stop + _CRC.size
    if not has_data:
        raise ImageRejected("The PNG file has no image data (no IDAT chunk)")
    if declared is None:
        return Layout(end, 1, exif, width, height)
    # Frames drive the decompression budget, so a count that disagrees with the frames
    # actually present is refused rather than believed.
    if declared == 0 or declared != controls:
        raise ImageRejected(
            f"The APNG file is malformed (acTL declares {declared} frames "
            f"but there are {controls} fcTL chunks)"
        )
    return Layout(end, declared, exif, width, height)


def rewrite_exif(data: bytes, rewrite: Callable[[bytes], bytes | None]) -> bytes:
    """`data` with the TIFF payload of every eXIf chunk passed through `rewrite` (None keeps
    a chunk as it is), length and CRC recomputed; `data` itself when nothing changed."""
    parts: list[bytes] = []
    done = 0
    for kind, start, stop in _chunks(data):
        if kind != b"eXIf":
            continue
        payload = data[start:stop]
        prefix = _EXIF_PREFIX if payload.startswith(_EXIF_PREFIX) else b""
        new = rewrite(payload[len(prefix) :])
        if new is None:
            continue
        body = kind + prefix + new
        chunk = _CRC.pack(len(body) - 4) + body + _CRC.pack(zlib.crc32(body))
        parts += [data[done : start - _HEADER.size], chunk]
        done = stop + _CRC.size
    if not parts:
        return data
    parts.append(data[done:])
    return b"".join(parts)


_TEXT_CHUNKS = frozenset({b"tEXt", b"zTXt", b"iTXt"})
_XMP_KEYWORD = b"XML:com.adobe.xmp"
# Keywords are 1-79 bytes (PNG spec 11.3.4.2), then a NUL.
_MAX_KEYWORD = 79


def scrub_metadata(
    data: bytes, *, xmp: Callable[[bytes], bytes | None], max_icc: int, max_xmp: int
) -> bytes:
    """`data` without text chunks except the first XMP iTXt, whose packet goes through `xmp`
    (which returns the packet itself to keep it, None to drop it), and without any iCCP after
    the first; `data` itself when nothing changed. Raises ImageRejected when the iCCP profile
    inflates to over `max_icc` bytes.

    tEXt, zTXt and iTXt are free-form text ("Location", "Comment", raw EXIF or XMP as hex
    in ImageMagick's "Raw profile type" chunks) that no decoder needs to draw the image.
    """
    parts: list[bytes] = []
    done = 0
    seen_icc = seen_xmp = False
    for kind, start, stop in _chunks(data):
        if kind == b"iCCP" and not seen_icc:
            _check_profile(data[start:stop], max_icc)
            seen_icc = True
            continue
        # PNG allows one iCCP and XMP has one packet; decoders (libpng) use the first iCCP.
        # Later ones are dropped unread: each would cost an inflation or a parse.
        if kind != b"iCCP" and kind not in _TEXT_CHUNKS:
            continue
        payload = data[start:stop]
        new = None
        if kind == b"iTXt" and not seen_xmp and payload.startswith(_XMP_KEYWORD + b"\x00"):
            new = _scrubbed_xmp(payload, xmp, max_xmp)
            seen_xmp = True
        if new is payload:
            continue
        chunk = b"" if new is None else _chunk(b"iTXt", new)
        parts += [data[done : start - _HEADER.size], chunk]
        done = stop + _CRC.size
    if not parts:
        return data
    parts.append(data[done:])
    return b"".join(parts)


def _chunk(kind: bytes, payload: bytes) -> bytes:
    body = kind + payload
    return _CRC.pack(len(payload)) + body + _CRC.pack(zlib.crc32(body))


def _inflate(compressed: bytes, limit: int) -> bytes | None:
    """The zlib stream inflated, or None when it is corrupt. Inflation stops one byte past
    `limit`, whatever the stream claims, so a bomb costs no more than that."""
    try:
        return zlib.decompressobj().decompress(compressed, limit + 1)
    except zlib.error:
        return None


def _check_profile(payload: bytes, limit: int) -> None:
    """Refuse an iCCP chunk whose profile inflates past `limit` bytes. A profile that is
    corrupt or not zlib is left alone: decoders ignore it, and it is under the limit."""
    name_end = payload.find(b"\x00", 0, _MAX_KEYWORD + 1)
    if name_end < 1:
        return
    inflated = _inflate(payload[name_end + 2 :], limit)
    if inflated is not None and len(inflated) > limit:
        raise ImageRejected(
            f"The PNG's colour profile is more than {limit:,} bytes; "
            f"at most {limit >> 20} MiB is accepted"
        )


def _scrubbed_xmp(payload: bytes, xmp: Callable[[bytes], bytes | None], limit: int) -> bytes | None:
    """The iTXt payload to store in place of `payload`: `payload` itself when it is XMP and
    `xmp` keeps it as it is, a new uncompressed XMP iTXt when `xmp` changed the packet, and
    None (the chunk dropped) for any other iTXt or one that cannot be read within `limit`."""
    keyword, _, rest = payload.partition(b"\x00")
    if keyword != _XMP_KEYWORD or len(rest) < 2:
        return None
    compressed, method = rest[0], rest[1]
    _language, found_language, rest = rest[2:].partition(b"\x00")
    _translated, found_translated, text = rest.partition(b"\x00")
    if not (found_language and found_translated) or method != 0 or compressed not in (0, 1):
        return None
    packet = _inflate(text, limit) if compressed else text
    if packet is None or len(packet) > limit:
        return None
    new = xmp(packet)
    if new is packet:
        return payload
    if new is None:
        return None
    # Uncompressed, with no language or translated keyword, as the XMP spec asks for PNG.
    return _XMP_KEYWORD + b"\x00\x00\x00\x00\x00" + new


# The ancillary chunks `strip_metadata` keeps: transparency, colour (the profile, gamma,
# chromaticities, sRGB, CICP and HDR mastering), significant bits, background, pixel size,
# and APNG's animation chunks. Every other ancillary chunk is metadata or a writer's
# private data (text, tIME, eXIf, sPLT, hIST, dSIG, caBX, iDOT...) that no decoder needs.
# Critical chunks (an upper-case first letter) are always kept: a decoder must read them.
_RENDERING = frozenset(
    {
        b"tRNS",
        b"iCCP",
        b"sRGB",
        b"gAMA",
        b"cHRM",
        b"cICP",
        b"mDCV",
        b"cLLI",
        b"sBIT",
        b"bKGD",
        b"pHYs",
        b"acTL",
        b"fcTL",
        b"fdAT",
    }
)


def strip_metadata(data: bytes, *, exif: bytes | None, max_icc: int) -> bytes:
    """`data` with every ancillary chunk that does not change how the image is drawn
    removed (text, XMP, eXIf, tIME, private chunks), any iCCP after the first dropped, and
    where the first eXIf was, `exif` (a TIFF structure) as the only eXIf when it is not
    None; `data` itself when nothing changed. Raises ImageRejected when the iCCP profile
    inflates to over `max_icc` bytes."""
    parts: list[bytes] = []
    done = 0
    seen_icc = seen_exif = False
    for kind, start, stop in _chunks(data):
        replacement = b""
        if kind == b"iCCP" and not seen_icc:
            _check_profile(data[start:stop], max_icc)
            seen_icc = True
            continue
        if kind == b"eXIf" and not seen_exif:
            seen_exif = True
            if exif is not None:
                replacement = _chunk(kind, exif)
                if data[start - _HEADER.size : stop + _CRC.size] == replacement:
                    continue
        elif kind[0] & 0x20 == 0 or (kind in _RENDERING and kind != b"iCCP"):
            continue
        parts += [data[done : start - _HEADER.size], replacement]
        done = stop + _CRC.size
    if not parts:
        return data
    parts.append(data[done:])
    return b"".join(parts)
