"""WebP RIFF structure: where the image ends, frames, and the EXIF chunk."""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator

from imgpro.imaging.containers.layout import Layout
from imgpro.imaging.errors import ImageRejected, profile_too_large

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
    riff_size: int
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


def walk(data: bytes) -> Layout:
    """The image's layout; frames counts ANMF chunks when VP8X says the file is animated.
    The canvas is VP8X's (libwebp allocates it, twice, before decoding a frame), or the
    bitstream's own size for a simple file."""
    limit = _riff_end(data)
    first: bytes | None = None
    animated = has_image = False
    frames = 0
    exif: bytes | None = None
    width = height = 0
    for fourcc, start, stop in _chunks(data, limit):
        if first is None:
            first = fourcc
            if fourcc == b"VP8X":
                if stop - start < 10:
                    raise _malformed("the VP8X chunk is too short")
                animated = bool(data[start] & _ANIMATION_FLAG)
                width, height = _u24(data, start + 4) + 1, _u24(data, start + 7) + 1
            elif fourcc not in (b"VP8 ", b"VP8L"):
                raise _malformed("it does not start with a VP8, VP8L or VP8X chunk")
            else:
                width, height = _bitstream_size(fourcc, data, start, stop)
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
    return Layout(end, frames if animated else 1, exif, width, height)


def _u24(data: bytes, pos: int) -> int:
    return int.from_bytes(data[pos : pos + 3], "little")


def _bitstream_size(fourcc: bytes, data: bytes, start: int, stop: int) -> tuple[int, int]:
    """(width, height) from a VP8 key frame header (RFC 6386 9.1) or a VP8L header (the
    WebP lossless spec, section 3)."""
    if fourcc == b"VP8 ":
        if stop - start < 10 or data[start + 3 : start + 6] != b"\x9d\x01\x2a":
            raise _malformed("the VP8 bitstream has no key frame header")
        width, height = struct.unpack_from("<HH", data, start + 6)
        return width & 0x3FFF, height & 0x3FFF
    if stop - start < 5 or data[start] != 0x2F:
        raise _malformed("the VP8L bitstream has no signature")
    (bits,) = struct.unpack_from("<I", data, start + 1)
    return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1


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


_XMP_FLAG = 0x04  # VP8X flags byte
_VP8X_FLAGS = _RIFF_HEADER + _CHUNK.size  # offset of the flags byte when VP8X comes first


def scrub_metadata(data: bytes, *, xmp: Callable[[bytes], bytes | None], max_icc: int) -> bytes:
    """`data` with the first XMP chunk's packet passed through `xmp` (which returns the
    packet itself to keep it, None to drop it) and any later XMP chunk dropped, chunk size,
    padding and RIFF size recomputed, and the VP8X XMP flag cleared once no XMP is left;
    `data` itself when nothing changed. Raises ImageRejected when the ICC profile is over
    `max_icc` bytes."""
    limit = _riff_end(data)
    parts: list[bytes] = []
    done = _RIFF_HEADER
    xmp_left = seen_xmp = False
    for fourcc, start, stop in _chunks(data, limit):
        if fourcc == b"ICCP" and stop - start > max_icc:
            raise profile_too_large("WebP", stop - start, max_icc)
        if fourcc != b"XMP ":
            continue
        packet = data[start:stop]
        # One packet per file, as in JPEG and PNG: a second one is dropped unparsed.
        new = None if seen_xmp else xmp(packet)
        seen_xmp = True
        xmp_left = xmp_left or new is not None
        if new is packet:
            continue
        chunk = b"" if new is None else _chunk(fourcc, new)
        # The old pad byte goes with the old chunk, when it lies inside the RIFF payload.
        parts += [data[done : start - _CHUNK.size], chunk]
        done = min(stop + ((stop - start) & 1), limit)
    if not parts:
        return data
    parts.append(data[done:limit])
    body = b"".join(parts)
    riff_size = 4 + len(body)
    # Rebuilt whole: the RIFF size, its pad byte, then what followed the RIFF, as it was.
    out = bytearray(data[:4] + struct.pack("<I", riff_size) + data[8:_RIFF_HEADER] + body)
    out += b"\x00" * (riff_size & 1) + data[limit + (limit & 1) :]
    if not xmp_left and data.startswith(b"VP8X", _RIFF_HEADER):
        out[_VP8X_FLAGS] &= ~_XMP_FLAG & 0xFF
    return bytes(out)


def _chunk(fourcc: bytes, payload: bytes) -> bytes:
    return _CHUNK.pack(fourcc, len(payload)) + payload + b"\x00" * (len(payload) & 1)


_EXIF_FLAG = 0x08  # VP8X flags byte
# The chunks `strip_metadata` keeps: the bitstreams, alpha, animation and the colour profile.
# (An ANMF frame holds its own ALPH and bitstream chunks in its payload: kept whole.)
_RENDERING = frozenset({b"VP8X", b"VP8 ", b"VP8L", b"ALPH", b"ANIM", b"ANMF", b"ICCP"})


def strip_metadata(data: bytes, *, exif: bytes | None, max_icc: int) -> bytes:
    """`data` with the XMP chunks, every EXIF chunk and any unknown chunk removed, and
    where the first EXIF chunk was, `exif` (a TIFF structure) as the only one when it is
    not None; chunk padding and RIFF size recomputed and the VP8X EXIF and XMP flags made
    to match what is left. `data` itself when nothing changed. Raises ImageRejected when
    the ICC profile is over `max_icc` bytes."""
    limit = _riff_end(data)
    parts: list[bytes] = []
    done = _RIFF_HEADER
    seen_exif = exif_left = False
    for fourcc, start, stop in _chunks(data, limit):
        if fourcc == b"ICCP" and stop - start > max_icc:
            raise profile_too_large("WebP", stop - start, max_icc)
        replacement = b""
        if fourcc == b"EXIF" and not seen_exif:
            seen_exif = True
            if exif is not None:
                exif_left = True
                replacement = _chunk(fourcc, exif)
                if data[start - _CHUNK.size : stop + ((stop - start) & 1)] == replacement:
                    continue
        elif fourcc in _RENDERING:
            continue
        parts += [data[done : start - _CHUNK.size], replacement]
        done = min(stop + ((stop - start) & 1), limit)
    vp8x = data.startswith(b"VP8X", _RIFF_HEADER)
    flags = data[_VP8X_FLAGS] if vp8x else 0
    wanted = (flags & ~(_XMP_FLAG | _EXIF_FLAG)) | (_EXIF_FLAG if exif_left else 0)
    if not parts and flags == wanted:
        return data
    parts.append(data[done:limit])
    body = b"".join(parts)
    riff_size = 4 + len(body)
    out = bytearray(data[:4] + struct.pack("<I", riff_size) + data[8:_RIFF_HEADER] + body)
    out += b"\x00" * (riff_size & 1) + data[limit + (limit & 1) :]
    if vp8x:
        out[_VP8X_FLAGS] = wanted
    return bytes(out)
