"""JPEG marker structure (ITU-T T.81 annex B): where the image ends, and its EXIF."""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Iterator

from imgpro.imaging.errors import ImageRejected

_SOI, _EOI, _SOS, _APP1 = 0xD8, 0xD9, 0xDA, 0xE1
# TEM and RST0-7 carry no length field (T.81 B.1.1.3).
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
# SOF0-SOF15, minus the three codes in that range that are not frame headers: DHT, JPG, DAC.
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_EXIF = b"Exif\x00\x00"

# Between segments a marker is 0xFF (after any number of 0xFF fill bytes) and a code that is
# neither 0x00 nor 0xFF. Like libjpeg, bytes before it are skipped rather than rejected, so a
# file every browser shows is not refused for a stray byte. Matching one 0xFF rather than a
# run keeps the search linear on a hostile file of nothing but 0xFF.
_MARKER = re.compile(rb"\xff[^\x00\xff]")
# Inside entropy-coded data 0xFF is followed by 0x00 (a stuffed byte), RST0-7 (which belong to
# the scan) or 0xFF (fill); anything else ends the scan. A regex search runs in C: a per-byte
# Python loop would take seconds on a large photo.
_SCAN_END = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
# Each marker costs a Python iteration (about 1 us), so a crafted file of tiny segments could
# hold a walk for seconds; real files have tens of markers, a few thousand at most (ICC or
# extended XMP split over 64 KB segments). Scans are capped as libjpeg-turbo's scan limit
# suggests (500 there): every progressive scan is another decoding pass over the image.
MAX_MARKERS = 65_536
MAX_SCANS = 1_000


def _truncated(detail: str) -> ImageRejected:
    return ImageRejected(f"The JPEG file is truncated ({detail})")


def _malformed(detail: str) -> ImageRejected:
    return ImageRejected(f"The JPEG file is malformed ({detail})")


def _segments(data: bytes) -> Iterator[tuple[int, int, int]]:
    """(marker, payload start, payload end) of every marker after SOI, up to and including
    EOI; the entropy-coded data after each SOS is skipped. Raises ImageRejected."""
    if not data.startswith(b"\xff\xd8"):
        raise ImageRejected("The file is not a valid JPEG image (no start-of-image marker)")
    size = len(data)
    pos = 2
    for _ in range(MAX_MARKERS):
        match = _MARKER.search(data, pos)
        if match is None:
            raise _truncated("no end-of-image marker")
        pos = match.end()
        marker = data[pos - 1]
        if marker == _EOI:
            yield marker, pos, pos
            return
        if marker in _STANDALONE:
            yield marker, pos, pos
            continue
        if marker == _SOI:
            raise _malformed("a second start-of-image marker")
        if pos + 2 > size:
            raise _truncated("a segment runs past the end of the file")
        (length,) = struct.unpack_from(">H", data, pos)
        if length < 2:
            raise _malformed("a segment length is shorter than 2 bytes")
        end = pos + length
        if end > size:
            raise _truncated("a segment runs past the end of the file")
        yield marker, pos + 2, end
        pos = end
        if marker == _SOS:
            match = _SCAN_END.search(data, pos)
            if match is None:
                raise _truncated("no end-of-image marker")
            pos = match.start()
    raise ImageRejected(f"The JPEG file has too many segments (more than {MAX_MARKERS:,})")


def walk(data: bytes) -> tuple[int, int, bytes | None]:
    """(end, frames, exif). An APP1 segment, EXIF thumbnail and all, is skipped by its
    length, so the thumbnail's own SOI/EOI never end the image early."""
    exif: bytes | None = None
    has_frame = False
    scans = end = 0
    for marker, start, stop in _segments(data):
        if marker in _SOF:
            has_frame = True
        elif marker == _SOS:
            if not has_frame:
                raise _malformed("a scan comes before the frame header")
            scans += 1
            if scans > MAX_SCANS:
                raise ImageRejected(f"The JPEG file has too many scans (more than {MAX_SCANS:,})")
        elif marker == _APP1 and exif is None and not scans:
            # Decoders (Pillow, browsers) read EXIF from the header only, first segment first.
            if data.startswith(_EXIF, start, stop):
                exif = data[start + len(_EXIF) : stop]
        elif marker == _EOI:
            end = stop
    if not scans:
        # SOI, tables, EOI is a legal "abbreviated" stream, but it holds no image.
        raise ImageRejected("The JPEG file has no image data (it ends before any scan)")
    return end, 1, exif


def rewrite_exif(data: bytes, rewrite: Callable[[bytes], bytes | None]) -> bytes:
    """`data` with the TIFF payload of every APP1 EXIF segment passed through `rewrite`
    (None keeps a segment as it is); `data` itself when nothing changed."""
    parts: list[bytes] = []
    done = 0
    for marker, start, stop in _segments(data):
        if marker != _APP1 or not data.startswith(_EXIF, start, stop):
            continue
        new = rewrite(data[start + len(_EXIF) : stop])
        if new is None:
            continue
        payload = _EXIF + new
        if len(payload) + 2 > 0xFFFF:
            raise ImageRejected("The JPEG file's EXIF does not fit in one segment")
        # The segment starts 4 bytes before its payload: marker (2) and length (2).
        parts += [data[done : start - 2], struct.pack(">H", len(payload) + 2), payload]
        done = stop
    if not parts:
        return data
    parts.append(data[done:])
    return b"".join(parts)
