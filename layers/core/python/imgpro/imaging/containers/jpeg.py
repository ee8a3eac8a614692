"""JPEG marker structure (ITU-T T.81 annex B): where the image ends, and its EXIF."""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Iterator

from imgpro.imaging.containers.layout import Layout
from imgpro.imaging.errors import ImageRejected, profile_too_large

_SOI, _EOI, _SOS, _APP1 = 0xD8, 0xD9, 0xDA, 0xE1
# TEM and RST0-7 carry no length field (T.81 B.1.1.3).
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
# SOF0-SOF15, minus the three codes in that range that are not frame headers: DHT, JPG, DAC.
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Progressive frames: SOF2 (Huffman), SOF6 and SOF10/SOF14 (their differential/arithmetic kin).
_PROGRESSIVE = frozenset({0xC2, 0xC6, 0xCA, 0xCE})
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


def walk(data: bytes) -> Layout:
    """The image's layout. An APP1 segment, EXIF thumbnail and all, is skipped by its
    length, so the thumbnail's own SOI/EOI never end the image early."""
    exif: bytes | None = None
    has_frame = progressive = False
    width = height = scans = end = 0
    for marker, start, stop in _segments(data):
        if marker in _SOF:
            if has_frame:
                raise _malformed("a second frame header")
            if stop - start < 6:
                raise _malformed("the frame header is too short")
            has_frame = True
            progressive = marker in _PROGRESSIVE
            height, width = struct.unpack_from(">HH", data, start + 1)
            if not height:
                # A height deferred to a DNL marker: no decoder of ours supports it, and
                # the budget needs the size before the first scan.
                raise _malformed("the frame header gives no height")
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
    # A baseline image's scans split the components between them; together they are one
    # pass over the image. A progressive image's scans each pass over every block again.
    return Layout(end, 1, exif, width, height, scans=scans if progressive else 1)


def first_scan(data: bytes) -> bytes | None:
    """A progressive JPEG cut after its first scan (and ended with EOI), when that scan
    holds the DC coefficients of every component: decoded at 1/8 scale it is the whole
    image, each 8x8 block its average colour. None for anything else (a baseline JPEG, or a
    first scan that leaves components out)."""
    components = 0
    for marker, start, stop in _segments(data):
        if marker in _SOF:
            if marker not in _PROGRESSIVE or stop - start < 6:
                return None
            components = data[start + 5]
        elif marker == _SOS:
            count = data[start] if stop > start else 0
            spectral = start + 1 + 2 * count
            if not components or count != components or spectral + 2 > stop:
                return None
            if data[spectral] != 0 or data[spectral + 1] != 0:  # Ss..Se = 0..0: DC only
                return None
            end = _SCAN_END.search(data, stop)
            return None if end is None else data[: end.start()] + bytes((0xFF, _EOI))
    return None


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


_APP2 = 0xE2
_XMP = b"http://ns.adobe.com/xap/1.0/\x00"
_EXTENDED_XMP = b"http://ns.adobe.com/xmp/extension/\x00"
_ICC = b"ICC_PROFILE\x00"
_ICC_CHUNK_HEADER = len(_ICC) + 2  # then the chunk's sequence number and the chunk count
# APP3-APP13, APP15 and COM: maker data, Photoshop resources, comments. APP0 (JFIF), APP14
# (Adobe: tells decoders whether the components are RGB or YCbCr) and APP2 (ICC, MPF) are
# not among them: decoders read those.
_UNREAD = frozenset({*range(0xE3, 0xEE), 0xEF, 0xFE})


def scrub_metadata(
    data: bytes, *, xmp: Callable[[bytes], bytes | None], max_icc: int, max_unread: int
) -> bytes:
    """`data` with the header's XMP packet passed through `xmp` (which returns the packet
    itself to keep it, None to drop it), any further XMP packet and extended XMP dropped, and
    the segments no decoder reads cut when they add up to more than `max_unread` bytes;
    `data` itself when nothing changed.

    Only the header is rewritten: from the first SOS on, every byte is kept, so the image
    decodes exactly as before. Raises ImageRejected when the ICC profile is over `max_icc`.
    """
    edits: list[tuple[int, int, bytes]] = []
    unread: list[tuple[int, int, bytes]] = []
    unread_bytes = icc_bytes = 0
    seen_xmp = False
    for marker, start, stop in _segments(data):
        if marker == _SOS:
            break
        # The segment starts 4 bytes before its payload: marker (2) and length (2).
        segment = start - 4
        if marker == _APP1 and data.startswith(_EXTENDED_XMP, start, stop):
            # Where depth maps, Photoshop history and other megabyte payloads live; only
            # HasExtendedXMP in the main packet points to it, and that goes too.
            edits.append((segment, stop, b""))
        elif marker == _APP1 and data.startswith(_XMP, start, stop):
            # A file has one XMP packet. Readers disagree on which of several counts (ExifTool
            # the first, Pillow the last), and each costs a parse: only the first is kept.
            packet = data[start + len(_XMP) : stop]
            new = None if seen_xmp else xmp(packet)
            seen_xmp = True
            if new is not packet:
                edits.append((segment, stop, _xmp_segment(new)))
        elif marker == _APP2 and data.startswith(_ICC, start, stop):
            icc_bytes += max(0, stop - start - _ICC_CHUNK_HEADER)
        elif marker in _UNREAD:
            unread.append((segment, stop, b""))
            unread_bytes += stop - segment
    if icc_bytes > max_icc:
        raise profile_too_large("JPEG", icc_bytes, max_icc)
    if unread_bytes > max_unread:
        # Nothing that renders the image reads these segments, so past a size no camera
        # writes they are only hidden payload: all of them go, not just the excess.
        edits = sorted(edits + unread)
    return _spliced(data, edits)


def _xmp_segment(packet: bytes | None) -> bytes:
    """An APP1 XMP segment for `packet`; empty (the segment dropped) for None or a packet
    that no longer fits in one segment."""
    if packet is None or len(_XMP) + len(packet) + 2 > 0xFFFF:
        return b""
    payload = _XMP + packet
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


_APP0, _APP14, _COM = 0xE0, 0xEE, 0xFE
# Kept by `strip_metadata`: JFIF (APP0) and Adobe (APP14) tell decoders how to read the
# components; everything else among APP1-APP15 and COM is metadata.
_RENDERING_APPS = frozenset({_APP0, _APP14})
_METADATA = frozenset({*range(0xE1, 0xF0), _COM}) - _RENDERING_APPS


def strip_metadata(data: bytes, *, exif: bytes | None, max_icc: int) -> bytes:
    """`data` with every APP1-APP13, APP15 and COM segment removed (EXIF, XMP, extended
    XMP, Photoshop/IPTC, maker data, comments), and APP2 too unless it holds the ICC
    profile (MPF and FlashPix go); where the first EXIF segment was, `exif` (a TIFF
    structure) as the only EXIF when it is not None. APP0 (JFIF), APP14 (Adobe), the
    ICC profile, tables, frame and scans are kept byte for byte, so the image decodes
    exactly as before. Segments between progressive scans are scanned too. `data` itself
    when nothing changed. Raises ImageRejected when the ICC profile is over `max_icc`."""
    edits: list[tuple[int, int, bytes]] = []
    icc_bytes = 0
    exif_placed = False
    for marker, start, stop in _segments(data):
        if marker not in _METADATA:
            continue
        segment = start - 4
        if marker == _APP2 and data.startswith(_ICC, start, stop):
            icc_bytes += max(0, stop - start - _ICC_CHUNK_HEADER)
            continue
        replacement = b""
        if marker == _APP1 and not exif_placed and data.startswith(_EXIF, start, stop):
            exif_placed = True
            if exif is not None:
                payload = _EXIF + exif
                replacement = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
                if data[segment:stop] == replacement:
                    continue
        edits.append((segment, stop, replacement))
    if icc_bytes > max_icc:
        raise profile_too_large("JPEG", icc_bytes, max_icc)
    return _spliced(data, edits)


def _spliced(data: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    """`data` with each (start, stop) range, in order and apart, replaced; `data` itself
    when there is nothing to replace."""
    if not edits:
        return data
    parts: list[bytes] = []
    done = 0
    for start, stop, replacement in edits:
        parts += [data[done:start], replacement]
        done = stop
    parts.append(data[done:])
    return b"".join(parts)
