"""PNG and APNG chunk structure: where the image ends, frames, and the eXIf chunk."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterator

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


def walk(data: bytes) -> tuple[int, int, bytes | None]:
    """(end, frames, exif); frames is acTL's num_frames for an APNG, after checking that
    as many fcTL chunks follow."""
    exif: bytes | None = None
    declared: int | None = None
    controls = 0
    has_data = False
    end = 0
    for index, (kind, start, stop) in enumerate(_chunks(data)):
        if index == 0 and (kind != b"IHDR" or stop - start != 13):
            raise ImageRejected("The PNG file is malformed (it does not start with an IHDR chunk)")
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
        return end, 1, exif
    # Frames drive the decompression budget, so a count that disagrees with the frames
    # actually present is refused rather than believed.
    if declared == 0 or declared != controls:
        raise ImageRejected(
            f"The APNG file is malformed (acTL declares {declared} frames "
            f"but there are {controls} fcTL chunks)"
        )
    return end, declared, exif


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
