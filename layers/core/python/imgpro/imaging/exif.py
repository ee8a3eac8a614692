"""EXIF, which is a small TIFF structure: the orientation tag, and removing GPS data.

Pure TIFF parsing on the EXIF payload alone: finding and rewriting the EXIF blocks of a file
is the containers' job, and `metadata` puts the two together.

GPS is removed in place rather than by re-serializing: Pillow's `Exif.tobytes()` lays the
whole structure out again, which drops IFD1 (the thumbnail) and breaks maker notes, whose
internal offsets are relative to the original layout. Here the GPS pointer entry is taken out
of its IFD and the GPS IFD and its values are overwritten with zeros; every other byte keeps
its offset, so nothing else can break and no container length changes.
"""

from __future__ import annotations

import bisect
import struct
from typing import NamedTuple

_ORIENTATION = 0x0112
_EXIF_IFD, _GPS_IFD, _INTEROP_IFD = 0x8769, 0x8825, 0xA005
_THUMBNAIL_OFFSET, _THUMBNAIL_LENGTH = 0x0201, 0x0202
_SHORT, _LONG, _IFD_TYPE = 3, 4, 13
# Bytes per value of each field type: TIFF 6.0 section 2, IFD (13) from the TIFF tech notes,
# and the BigTIFF 8-byte types (16-18), which Pillow reads in EXIF too.
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
_TYPE_SIZES |= {16: 8, 17: 8, 18: 8}
# EXIF uses IFD0, IFD1, the Exif IFD and the Interop IFD. Anything far beyond is hostile, and
# the cap also ends offset loops.
_MAX_IFDS = 16
_ENTRY = 12
_PREFIX = b"Exif\x00\x00"
_BYTE_ORDERS = {b"II": "<", b"MM": ">"}
# 42 in the stated byte order is TIFF. Pillow also reads 42 in the other order, and "MM" with
# 43 (BigTIFF) as classic TIFF, so it finds GPS behind those headers: accept them all.
_MAGICS = {b"*\x00", b"\x00*", b"+\x00", b"\x00+"}


class _Entry(NamedTuple):
    pos: int
    """Offset of the 12-byte entry."""
    tag: int
    kind: int
    # Shadows tuple.count, which nothing calls on an entry; "count" is the TIFF field's name.
    count: int  # type: ignore[assignment]
    value: int
    """Offset of the value: inside the entry itself when it fits in 4 bytes."""
    size: int
    """Bytes of the value; 0 for an unknown type."""


class _Tiff:
    def __init__(self, data: bytes, order: str, first: int) -> None:
        self.data = data
        self.order = order
        self.first = first

    @classmethod
    def parse(cls, data: bytes | None) -> _Tiff | None:
        """The TIFF structure in `data`; None when there is none."""
        if data is None or len(data) < 8:
            return None
        order = _BYTE_ORDERS.get(data[:2])
        if order is None or data[2:4] not in _MAGICS:
            return None
        (first,) = struct.unpack_from(order + "I", data, 4)
        return cls(data, order, first)

    def u16(self, pos: int) -> int:
        value: int = struct.unpack_from(self.order + "H", self.data, pos)[0]
        return value

    def u32(self, pos: int) -> int:
        value: int = struct.unpack_from(self.order + "I", self.data, pos)[0]
        return value

    def ifd(self, offset: int) -> tuple[list[_Entry], int] | None:
        """The entries of the IFD at `offset` and the offset of the next IFD (0 for none),
        or None when there is no IFD there."""
        if offset < 8 or offset + 2 > len(self.data):
            return None
        table = offset + 2
        # A table cut short keeps the entries that fit, as Pillow does: a GPS pointer among
        # them is one that Pillow shows.
        count = min(self.u16(offset), (len(self.data) - table) // _ENTRY)
        entries = []
        for pos in range(table, table + count * _ENTRY, _ENTRY):
            tag, kind, number = struct.unpack_from(self.order + "HHI", self.data, pos)
            size = _TYPE_SIZES.get(kind, 0) * number
            value = pos + 8 if size <= 4 else self.u32(pos + 8)
            entries.append(_Entry(pos, tag, kind, number, value, size))
        # Some writers leave out the next-IFD offset of the last IFD; readers cope.
        link = table + count * _ENTRY
        complete = count == self.u16(offset) and link + 4 <= len(self.data)
        return entries, self.u32(link) if complete else 0

    def link(self, offset: int, entries: list[_Entry]) -> bytes:
        """The raw next-IFD offset after a complete IFD's table; empty when there is none."""
        link = offset + 2 + len(entries) * _ENTRY
        return self.data[link : link + 4] if self.u16(offset) == len(entries) else b""

    def pointer(self, entry: _Entry) -> int | None:
        if entry.kind in (_LONG, _IFD_TYPE) and entry.count == 1:
            return self.u32(entry.pos + 8)
        return None

    def ifd_extent(self, offset: int, entries: list[_Entry]) -> tuple[int, int]:
        return offset, min(offset + 2 + len(entries) * _ENTRY + 4, len(self.data))


def _split_prefix(exif: bytes) -> tuple[bytes, bytes]:
    """("Exif\\0\\0" or b"", the rest). Pillow skips up to two such prefixes, so a block whose
    prefix is doubled still has EXIF as far as Pillow is concerned."""
    return (_PREFIX, exif[len(_PREFIX) :]) if exif.startswith(_PREFIX) else (b"", exif)


def exif_thumbnail(exif: bytes | None) -> bytes | None:
    """The JPEG thumbnail IFD1 points to (cameras and phones write one, about 160x120),
    when it is one that lies within the EXIF; None otherwise."""
    tiff = _Tiff.parse(None if exif is None else _split_prefix(exif)[1])
    first = tiff.ifd(tiff.first) if tiff else None
    second = tiff.ifd(first[1]) if tiff and first and first[1] else None
    if tiff is None or second is None:
        return None
    tags = {entry.tag: entry for entry in second[0]}
    offset, length = tags.get(_THUMBNAIL_OFFSET), tags.get(_THUMBNAIL_LENGTH)
    start = tiff.pointer(offset) if offset else None
    size = tiff.pointer(length) if length else None
    if start is None or not size or start + size > len(tiff.data):
        return None
    thumbnail = tiff.data[start : start + size]
    return thumbnail if thumbnail.startswith(b"\xff\xd8") else None


def orientation_of(exif: bytes | None) -> int:
    """EXIF orientation (1..8) from IFD0; 1 when absent or invalid."""
    tiff = _Tiff.parse(None if exif is None else _split_prefix(exif)[1])
    parsed = tiff.ifd(tiff.first) if tiff else None
    if tiff is None or parsed is None:
        return 1
    for entry in parsed[0]:
        # The first one wins, as in Pillow and browsers; the spec makes it one SHORT.
        if entry.tag == _ORIENTATION:
            if entry.kind != _SHORT or entry.count != 1:
                return 1
            value = tiff.u16(entry.value)
            return value if 1 <= value <= 8 else 1
    return 1


def orientation_only(orientation: int) -> bytes | None:
    """A minimal TIFF structure holding only IFD0's Orientation tag (26 bytes, big-endian):
    what a team that strips all metadata keeps of EXIF, so the image is shown upright as
    before. None for 1 (or an invalid value): the upright default needs no EXIF at all."""
    if not 2 <= orientation <= 8:
        return None
    header = b"MM\x00*" + struct.pack(">I", 8)
    entry = struct.pack(">HHIHH", _ORIENTATION, _SHORT, 1, orientation, 0)
    return header + struct.pack(">H", 1) + entry + struct.pack(">I", 0)


def drop_gps(tiff_bytes: bytes) -> bytes | None:
    """The TIFF structure with every GPS pointer removed and its IFD and values zeroed,
    or None when it has no GPS pointer (or cannot be parsed, so no reader finds one)."""
    prefix, tiff_bytes = _split_prefix(tiff_bytes)
    tiff = _Tiff.parse(tiff_bytes)
    if tiff is None:
        return None
    ifds = _ifds(tiff)
    gps = [entry for entries in ifds.values() for entry in entries if entry.tag == _GPS_IFD]
    if not gps:
        return None
    out = bytearray(tiff_bytes)
    for offset, entries in ifds.items():
        if any(entry.tag == _GPS_IFD for entry in entries):
            _drop_entries(out, tiff, offset, entries)
    keep = _Ranges(_used_ranges(tiff, ifds))
    for start, stop in _gps_ranges(tiff, gps, ifds):
        # Never wipe bytes another IFD also uses: a crafted file may share them.
        if stop <= len(out) and not keep.overlaps(start, stop):
            out[start:stop] = bytes(stop - start)
    return prefix + bytes(out)


def _ifds(tiff: _Tiff) -> dict[int, list[_Entry]]:
    """Every IFD other than GPS that may point to a GPS IFD: the IFD0 chain (IFD0, IFD1),
    the Exif IFD and the Interop IFD, by offset."""
    found: dict[int, list[_Entry]] = {}
    offset = tiff.first
    while offset and offset not in found and len(found) < _MAX_IFDS:
        parsed = tiff.ifd(offset)
        if parsed is None:
            break
        found[offset], offset = parsed
    pending = [entry for entries in found.values() for entry in entries]
    while pending and len(found) < _MAX_IFDS:
        entry = pending.pop()
        sub = tiff.pointer(entry) if entry.tag in (_EXIF_IFD, _INTEROP_IFD) else None
        if sub is None or sub in found:
            continue
        parsed = tiff.ifd(sub)
        if parsed is not None:
            found[sub] = parsed[0]
            pending += parsed[0]
    return found


def _drop_entries(out: bytearray, tiff: _Tiff, offset: int, entries: list[_Entry]) -> None:
    """Rewrite an IFD in place without its GPS entries: the rest move up, the next-IFD
    offset follows them, and the freed slots at the end become zeros."""
    kept = [tiff.data[e.pos : e.pos + _ENTRY] for e in entries if e.tag != _GPS_IFD]
    following = tiff.link(offset, entries)
    new = struct.pack(tiff.order + "H", len(kept)) + b"".join(kept) + following
    old_size = 2 + len(entries) * _ENTRY + len(following)
    out[offset : offset + old_size] = new + bytes(old_size - len(new))


def _used_ranges(tiff: _Tiff, ifds: dict[int, list[_Entry]]) -> list[tuple[int, int]]:
    """Byte ranges the IFDs we keep rely on: the IFDs, their values, the thumbnail."""
    ranges = []
    for offset, entries in ifds.items():
        ranges.append(tiff.ifd_extent(offset, entries))
        tags = {}
        for entry in entries:
            if entry.tag != _GPS_IFD and entry.size > 4:
                ranges.append((entry.value, entry.value + entry.size))
            tags[entry.tag] = entry
        thumbnail, length = tags.get(_THUMBNAIL_OFFSET), tags.get(_THUMBNAIL_LENGTH)
        if thumbnail and length:
            start, size = tiff.pointer(thumbnail), tiff.pointer(length)
            if start is not None and size is not None:
                ranges.append((start, start + size))
    return ranges


def _gps_ranges(
    tiff: _Tiff, pointers: list[_Entry], ifds: dict[int, list[_Entry]]
) -> list[tuple[int, int]]:
    """Byte ranges of the GPS IFDs and their out-of-line values."""
    ranges = []
    for pointer in pointers:
        offset = tiff.pointer(pointer)
        parsed = tiff.ifd(offset) if offset is not None and offset not in ifds else None
        if offset is None or parsed is None:
            continue
        ranges.append(tiff.ifd_extent(offset, parsed[0]))
        ranges += [(e.value, e.value + e.size) for e in parsed[0] if e.size > 4]
    return ranges


class _Ranges:
    """Merged, sorted byte ranges, for overlap queries in log time: an IFD may hold tens of
    thousands of entries."""

    def __init__(self, ranges: list[tuple[int, int]]) -> None:
        merged: list[list[int]] = []
        for start, stop in sorted(ranges):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], stop)
            else:
                merged.append([start, stop])
        self._starts = [start for start, _ in merged]
        self._stops = [stop for _, stop in merged]

    def overlaps(self, start: int, stop: int) -> bool:
        index = bisect.bisect_left(self._starts, stop) - 1
        return index >= 0 and self._stops[index] > start
