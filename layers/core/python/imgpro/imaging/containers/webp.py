"""WebP RIFF structure: where the image ends, frames, and the EXIF chunk."""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator

from imgpro.imaging.errors import ImageRejected

_CHUNK = struct.Struct("<4sI")
_RIFF_HEADER = 12  # "RIFF", size, "WEBP"
_ANIMATION_FLAG = 0x02  # VP8X flags byte
# Each chunk costs a Python iteration; real files have a handful plus one per frame.
MAX_CHUNKS = 100_000
# The WebP container spec says the EXIF payload is the bare TIFF structure, but older writers
# (and Pillow's animated encoder, still) keep the JPEG APP1 prefix.
_EXIF_PREFIX = b"Exif\x00\x00"


def _malformed(detail: str) -> ImageRejected:
    return ImageRejected(f"The WebP file is malformed ({detail})")


def _riff_end(data: bytes) -> int:
    """Where the RIFF payload ends, by its size field, checked against the data."""
    if len(data) < _RIFF_HEADER or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ImageRejected("The file is not a valid WebP image (bad RIFF header)")
    (riff_size,) = struct.unpack_from("<I", data, 4)
    if riff_size < 4 + _CHUNK.size:
        raise _malformed("the RIFF size is too small")
    if 8 + riff_size > len(data):
        raise ImageRejected(
            f"The WebP file is truncated (its header declares {8 + riff_size} bytes "
            f"but the file has {len(data)})"
        )
    return 8 + riff_size


def _chunks(data: bytes, limit: int) -> Iterator[tuple[bytes, int, int]]:
    """(fourcc, payload start, payload end) of each chunk inside the RIFF payload."""
    pos = _RIFF_HEADER
    for _ in range(MAX_CHUNKS):
        if pos >= limit:
            return
        if pos + _CHUNK.size > limit:
            raise _malformed("a chunk header runs past the end of the RIFF container")
        fourcc, length = _CHUNK.unpack_from(data, pos)
        start = pos + _CHUNK.size
        stop = start + length
        if stop > limit:
            raise _malformed("a chunk runs past the end of the RIFF container")
        yield fourcc, start, stop
        # Chunks are padded to even sizes; a writer that left the last pad byte out of the
        # RIFF size lands one past `limit`, which ends the loop all the same.
        pos = stop + (length & 1)
    if pos < limit:
        raise ImageRejected(f"The WebP file has too many chunks (more than {MAX_CHUNKS:,})")


def walk(data: bytes) -> tuple[int, int, bytes | None]:
    """(end, frames, exif); frames counts ANMF chunks when VP8X says the file is animated."""
    limit = _riff_end(data)
    first: bytes | None = None
    animated = has_image = False
    frames = 0
    exif: bytes | None = None
    for fourcc, start, stop in _chunks(data, limit):
        if first is None:
            first = fourcc
            if fourcc == b"VP8X":
                if stop - start < 10:
                    raise _malformed("the VP8X chunk is too short")
                animated = bool(data[start] & _ANIMATION_FLAG)
            elif fourcc not in (b"VP8 ", b"VP8L"):
                raise _malformed("it does not start with a VP8, VP8L or VP8X chunk")
        if fourcc in (b"VP8 ", b"VP8L"):
            has_image = True
        elif fourcc == b"ANMF":
            frames += 1
        elif fourcc == b"EXIF" and exif is None:
            payload = data[start:stop]
            exif = payload[len(_EXIF_PREFIX) :] if payload.startswith(_EXIF_PREFIX) else payload
    if animated and frames == 0:
        raise _malformed("the animation has no frames")
    if not animated and not has_image:
        raise ImageRejected("The WebP file has no image data (no VP8 or VP8L chunk)")
    # An odd RIFF size is followed by a pad byte, when the file has one.
    end = min(limit + (limit & 1), len(data))
    return end, frames if animated else 1, exif


def rewrite_exif(data: bytes, rewrite: Callable[[bytes], bytes | None]) -> bytes:
    """`data` with the TIFF payload of every EXIF chunk passed through `rewrite` (None keeps
    a chunk as it is), chunk size, padding and RIFF size recomputed; `data` itself when
    nothing changed."""
    limit = _riff_end(data)
    parts: list[bytes] = []
    done = 0
    growth = 0
    for fourcc, start, stop in _chunks(data, limit):
        if fourcc != b"EXIF":
            continue
        payload = data[start:stop]
        prefix = _EXIF_PREFIX if payload.startswith(_EXIF_PREFIX) else b""
        new = rewrite(payload[len(prefix) :])
        if new is None:
            continue
        body = prefix + new
        chunk = _CHUNK.pack(fourcc, len(body)) + body + b"\x00" * (len(body) & 1)
        # The old pad byte, if it lies inside the RIFF payload, is replaced too.
        old_end = min(stop + ((stop - start) & 1), limit)
        growth += len(chunk) - (old_end - (start - _CHUNK.size))
        parts += [data[done : start - _CHUNK.size], chunk]
        done = old_end
    if not parts:
        return data
    parts.append(data[done:])
    out = bytearray(b"".join(parts))
    struct.pack_into("<I", out, 4, limit - 8 + growth)
    return bytes(out)
