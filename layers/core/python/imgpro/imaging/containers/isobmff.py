"""HEIF and AVIF headers (ISOBMFF: ISO/IEC 14496-12, HEIF 23008-12, AVIF): the primary image's
size, checked against the coded size behind it, before any decoder runs.

Decoders believe the `ispe` property: an AVIF whose ispe claims 8000x6000 over a 64x64 coded
image is decoded (scaled up by libavif) to 8000x6000. So the cost of a decode is decided here,
from the boxes, and a file is refused when its header claims disagree with what it holds: the
coded size in the codec's own parameter sets (HEVC SPS, AV1 sequence header), or for a grid,
the tiles it is made of.

Pure Python (no Pillow, no pillow-heif) and linear in the file size. Every loop is bounded
against crafted files: boxes, items, table entries (extents, associations, references, NAL
units and OBUs) and tiles are capped, and nesting is bounded by construction: only the fixed
paths meta/{iinf,iprp/ipco,iref} and moov/trak/mdia/minf/stbl/stsd are entered, never
recursively.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

from imgpro.imaging.errors import ImageRejected

_BOX = struct.Struct(">I4s")
# Each box, item or table entry costs a Python iteration (about a microsecond), so a crafted
# file of tiny boxes or huge entry counts could hold a walk for seconds. Real photos have tens
# of boxes plus one infe per item; a 200 MP Samsung grid of 512x512 tiles has under 800 tiles,
# and an iPhone 48 MP HEIC under 200, each with a handful of associations and NAL units.
MAX_BOXES = 65_536
MAX_ITEMS = 10_000
MAX_ENTRIES = 262_144
# Tiles are the decode cost of a grid: 1,024 tiles of 512x512 is 268 MP, past any camera.
MAX_TILES = 1_024
# Parsing an SPS or a sequence header costs far more than skipping a box; real files carry one
# per codec configuration, which is parsed once however many tiles share it.
MAX_PARAMETER_SETS = 64
# A coded picture may exceed its ispe by padding to the codec's block (HEVC CTBs are at most
# 64x64; AV1 codes any size), never by more: a larger coded size is a header that lies.
_BLOCK = 64
# The fields read from an SPS or a sequence header lie in their first hundred bytes, so only
# this much is copied and parsed, however long the unit claims to be.
_PARAMETERS_PREFIX = 1_024
_CONFIG = {b"hvc1": b"hvcC", b"av01": b"av1C"}
_CODEC = {b"hvc1": "HEVC", b"av01": "AV1"}
# Three zero bytes cannot occur in a NAL unit, so encoders insert 0x03 after two zeros
# (H.265 7.4.2); the parser must see the bytes without them.
_EMULATION_PREVENTION = re.compile(rb"\x00\x00\x03")
_HEVC_SPS = 33
_OBU_SEQUENCE_HEADER = 1


@dataclass(frozen=True)
class HeifHeader:
    width: int
    """Width of the primary image as the decoder outputs it, before irot: the ispe, cropped by
    clap for HEVC (libheif applies clap; libavif, which decodes AVIF, does not)."""
    height: int
    rotated: bool
    """irot turns the primary image by 90 or 270 degrees: displayed width and height swap."""
    kind: str
    """The primary item's type: "hvc1", "av01" or "grid"."""
    tiles: int
    """1, or rows * columns for a grid."""
    coded_width: int
    """Width of the coded pictures a decode produces (columns * tile width for a grid): the
    size to budget for, at least `width`."""
    coded_height: int


class _Malformed(Exception):
    """Raised deep in the walk; `inspect` turns it into ImageRejected with the file's name."""


def inspect(data: bytes) -> HeifHeader:
    """The primary image of a HEIF or AVIF file, from its headers; raises ImageRejected, with
    a message for the client, when the structure is malformed or truncated, holds too many
    boxes, items or tiles, or claims a size its coded data does not back."""
    walk = _Walk(data)
    try:
        return walk.header()
    except _Malformed as error:
        raise ImageRejected(f"The {walk.label} file is malformed ({error})") from None


def _round_up(size: int) -> int:
    return -(-size // _BLOCK) * _BLOCK


def _describe(kind: bytes) -> str:
    """An item type for a message, without echoing arbitrary bytes back to the client."""
    if len(kind) == 4 and all(0x20 <= byte < 0x7F for byte in kind) and kind.strip().isalnum():
        return f"of type '{kind.decode()}'"
    return "of an unknown type"


class _Cursor:
    """Big-endian reads inside one box, refusing to run past its end."""

    def __init__(self, data: memoryview, pos: int, stop: int, box: str) -> None:
        self.data, self.pos, self.stop, self.box = data, pos, stop, box

    def uint(self, size: int) -> int:
        if self.pos + size > self.stop:
            raise _Malformed(f"a {self.box} box is truncated")
        value = int.from_bytes(self.data[self.pos : self.pos + size], "big")
        self.pos += size
        return value

    def take(self, size: int) -> memoryview:
        if self.pos + size > self.stop:
            raise _Malformed(f"a {self.box} box is truncated")
        self.pos += size
        return self.data[self.pos - size : self.pos]


class _Bits:
    """MSB-first bit reader over the first bytes of a parameter set."""

    def __init__(self, data: bytes, what: str) -> None:
        self._value = int.from_bytes(data, "big")
        self._left = len(data) * 8
        self._what = what

    def u(self, count: int) -> int:
        if count > self._left:
            raise _Malformed(f"its {self._what} is truncated")
        self._left -= count
        return (self._value >> self._left) & ((1 << count) - 1)

    def ue(self) -> int:
        """Exp-Golomb code (H.265 9.2); 32 leading zeros would overflow any syntax element."""
        zeros = 0
        while not self.u(1):
            zeros += 1
            if zeros > 31:
                raise _Malformed(f"its {self._what} has an out-of-range value")
        return (1 << zeros) - 1 + self.u(zeros)

    def uvlc(self) -> int:
        """AV1 uvlc() (4.10.3)."""
        zeros = 0
        while not self.u(1):
            zeros += 1
            if zeros >= 32:
                return (1 << 32) - 1
        return (1 << zeros) - 1 + self.u(zeros)


@dataclass(frozen=True)
class _Location:
    method: int
    reference: int
    base: int
    extents: tuple[tuple[int, int], ...]


class _Walk:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.view = memoryview(data)
        self.label = "HEIF/AVIF"
        self.major = b""
        self.avif = False
        self.boxes = self.entries = self.copied = 0
        self.primary: int | None = None
        self.types: dict[int, bytes] = {}
        self.locations: dict[int, _Location] = {}
        self.properties: list[tuple[bytes, int, int]] = []
        self.associations: dict[int, list[int]] | None = None
        self.tiles: dict[int, list[int]] = {}
        self.idat: tuple[int, int] | None = None
        self.coded: dict[int, tuple[tuple[int, int], tuple[int, int]]] = {}
        self.configs: dict[int, tuple[int, list[tuple[int, int]]]] = {}
        self.parameter_sets = 0

    # --- budgets --------------------------------------------------------------------------

    def spend(self, count: int) -> None:
        self.entries += count
        if self.entries > MAX_ENTRIES:
            raise ImageRejected(
                f"The {self.label} file has too many table entries (more than {MAX_ENTRIES:,})"
            )

    def parameter_set(self) -> None:
        self.parameter_sets += 1
        if self.parameter_sets > MAX_PARAMETER_SETS:
            raise ImageRejected(
                f"The {self.label} file has too many codec parameter sets "
                f"(more than {MAX_PARAMETER_SETS})"
            )

    def item_budget(self, count: int) -> None:
        if count > MAX_ITEMS:
            raise ImageRejected(
                f"The {self.label} file has too many items (more than {MAX_ITEMS:,})"
            )

    # --- boxes ----------------------------------------------------------------------------

    def children(
        self, start: int, stop: int, *, top: bool = False
    ) -> Iterator[tuple[bytes, int, int]]:
        """(type, payload start, payload end) of the boxes filling data[start:stop]."""
        pos = start
        while pos < stop:
            self.boxes += 1
            if self.boxes > MAX_BOXES:
                raise ImageRejected(
                    f"The {self.label} file has too many boxes (more than {MAX_BOXES:,})"
                )
            if stop - pos < _BOX.size:
                raise self.past_end(top, "a box header")
            size, kind = _BOX.unpack_from(self.data, pos)
            header = _BOX.size
            if size == 1:
                if stop - pos < 16:
                    raise self.past_end(top, "a box header")
                (size,) = struct.unpack_from(">Q", self.data, pos + 8)
                header = 16
            elif size == 0:
                # "Extends to the end of the file" is only meaningful for a top-level box.
                if not top:
                    raise _Malformed("a box inside another box has no size")
                size = stop - pos
            if kind == b"uuid":
                header += 16
            if size < header:
                raise _Malformed("a box is smaller than its header")
            if pos + size > stop:
                raise self.past_end(top, "a box")
            yield kind, pos + header, pos + size
            pos += size

    def past_end(self, top: bool, what: str) -> Exception:
        if top:
            return ImageRejected(f"The {self.label} file is truncated ({what} runs past its end)")
        return _Malformed(f"{what} runs past the end of its parent box")

    def full_box(self, start: int, stop: int, box: str) -> tuple[int, int, int]:
        """(version, flags, payload start) of a FullBox."""
        if stop - start < 4:
            raise _Malformed(f"a {box} box is truncated")
        return self.data[start], int.from_bytes(self.data[start + 1 : start + 4], "big"), start + 4

    # --- structure ------------------------------------------------------------------------

    def header(self) -> HeifHeader:
        meta: tuple[int, int] | None = None
        moov: tuple[int, int] | None = None
        first = True
        for kind, start, stop in self.children(0, len(self.data), top=True):
            if first:
                if kind != b"ftyp":
                    raise ImageRejected(
                        "The file is not a valid HEIF or AVIF image (it does not start with "
                        "an ftyp box)"
                    )
                self.ftyp(start, stop)
                first = False
            elif kind == b"meta":
                if meta is not None:
                    raise _Malformed("it has more than one meta box")
                meta = (start, stop)
            elif kind == b"moov" and moov is None:
                moov = (start, stop)
        if first:
            raise ImageRejected("The file is not a valid HEIF or AVIF image (it is empty)")
        if meta is None:
            if moov is not None:
                raise ImageRejected(
                    f"{self.label} image sequences without a still image are not supported"
                )
            raise _Malformed("it has no meta box")
        self.meta(*meta)
        header = self.primary_header()
        # libavif decodes the first track rather than the still item unless the major brand is
        # avif, so a track that could disagree with the item is held to the same checks.
        if moov is not None and self.avif and self.major != b"avif":
            self.tracks(*moov, header)
        return header

    def ftyp(self, start: int, stop: int) -> None:
        if stop - start < 8 or (stop - start) % 4:
            raise _Malformed("the ftyp box has the wrong length")
        self.major = self.data[start : start + 4]
        brands = {self.major} | {self.data[p : p + 4] for p in range(start + 8, stop, 4)}
        self.avif = bool(brands & {b"avif", b"avis"})
        self.label = "AVIF" if self.avif else "HEIF"

    def meta(self, start: int, stop: int) -> None:
        version, _, pos = self.full_box(start, stop, "meta")
        if version != 0:
            raise _Malformed("the meta box has an unknown version")
        found: dict[bytes, tuple[int, int]] = {}
        for kind, begin, end in self.children(pos, stop):
            if kind in (b"hdlr", b"pitm", b"iloc", b"iinf", b"iprp", b"iref", b"idat"):
                if kind in found:
                    raise _Malformed(f"its meta box has more than one {kind.decode()} box")
                found[kind] = (begin, end)
        if b"hdlr" not in found:
            raise _Malformed("its meta box has no handler (hdlr)")
        self.hdlr(*found[b"hdlr"])
        for kind, parse in (
            (b"pitm", self.pitm),
            (b"iinf", self.iinf),
            (b"iloc", self.iloc),
            (b"iprp", self.iprp),
        ):
            if kind not in found:
                raise _Malformed(f"its meta box has no {kind.decode()} box")
            parse(*found[kind])
        if b"iref" in found:
            self.iref(*found[b"iref"])
        self.idat = found.get(b"idat")

    def hdlr(self, start: int, stop: int) -> None:
        _, _, pos = self.full_box(start, stop, "hdlr")
        cursor = _Cursor(self.view, pos, stop, "hdlr")
        cursor.uint(4)
        if bytes(cursor.take(4)) != b"pict":
            raise ImageRejected(f"The {self.label} file holds no image (its handler is not pict)")

    def pitm(self, start: int, stop: int) -> None:
        version, _, pos = self.full_box(start, stop, "pitm")
        self.primary = _Cursor(self.view, pos, stop, "pitm").uint(2 if version == 0 else 4)

    def iinf(self, start: int, stop: int) -> None:
        version, _, pos = self.full_box(start, stop, "iinf")
        _Cursor(self.view, pos, stop, "iinf").uint(2 if version == 0 else 4)
        pos += 2 if version == 0 else 4
        for kind, begin, end in self.children(pos, stop):
            if kind != b"infe":
                continue
            self.item_budget(len(self.types) + 1)
            infe_version, _, at = self.full_box(begin, end, "infe")
            # Versions 0 and 1 predate item types: they describe files, never image items.
            if infe_version < 2:
                continue
            if infe_version > 3:
                raise _Malformed("an infe box has an unknown version")
            cursor = _Cursor(self.view, at, end, "infe")
            item = cursor.uint(2 if infe_version == 2 else 4)
            cursor.uint(2)
            if item in self.types:
                raise _Malformed("two items have the same id")
            self.types[item] = bytes(cursor.take(4))

    def iloc(self, start: int, stop: int) -> None:
        version, _, pos = self.full_box(start, stop, "iloc")
        if version > 2:
            raise _Malformed("the iloc box has an unknown version")
        cursor = _Cursor(self.view, pos, stop, "iloc")
        sizes = cursor.uint(2)
        offset_size, length_size = sizes >> 12, (sizes >> 8) & 15
        base_size, index_size = (sizes >> 4) & 15, (sizes & 15 if version else 0)
        if any(size not in (0, 4, 8) for size in (offset_size, length_size, base_size, index_size)):
            raise _Malformed("the iloc box has an invalid field size")
        count = cursor.uint(2 if version < 2 else 4)
        self.item_budget(count)
        for _ in range(count):
            item = cursor.uint(2 if version < 2 else 4)
            method = cursor.uint(2) & 15 if version else 0
            reference = cursor.uint(2)
            base = cursor.uint(base_size)
            extent_count = cursor.uint(2)
            self.spend(extent_count)
            extents = []
            for _ in range(extent_count):
                cursor.uint(index_size)
                extents.append((cursor.uint(offset_size), cursor.uint(length_size)))
            if item in self.locations:
                raise _Malformed("an item has two locations")
            self.locations[item] = _Location(method, reference, base, tuple(extents))

    def iprp(self, start: int, stop: int) -> None:
        seen_ipco = False
        for kind, begin, end in self.children(start, stop):
            if kind == b"ipco":
                if seen_ipco:
                    raise _Malformed("it has more than one ipco box")
                seen_ipco = True
                self.properties = list(self.children(begin, end))
            elif kind == b"ipma":
                self.ipma(begin, end)
        if not seen_ipco:
            raise _Malformed("it has no item properties (ipco)")
        if self.associations is None:
            raise _Malformed("it has no item property associations (ipma)")

    def ipma(self, start: int, stop: int) -> None:
        version, flags, pos = self.full_box(start, stop, "ipma")
        cursor = _Cursor(self.view, pos, stop, "ipma")
        count = cursor.uint(4)
        self.item_budget(count)
        associations = self.associations = self.associations or {}
        # flags & 1: 16-bit entries with a 15-bit index; otherwise 8-bit with a 7-bit index.
        size, mask = (2, 0x7FFF) if flags & 1 else (1, 0x7F)
        for _ in range(count):
            item = cursor.uint(2 if version < 1 else 4)
            association_count = cursor.uint(1)
            self.spend(association_count)
            indices = [cursor.uint(size) & mask for _ in range(association_count)]
            if item in associations:
                raise _Malformed("an item has two lists of property associations")
            associations[item] = indices

    def iref(self, start: int, stop: int) -> None:
        version, _, pos = self.full_box(start, stop, "iref")
        width = 2 if version == 0 else 4
        for kind, begin, end in self.children(pos, stop):
            if kind != b"dimg":
                continue
            cursor = _Cursor(self.view, begin, end, "dimg")
            source = cursor.uint(width)
            count = cursor.uint(2)
            self.spend(count)
            targets = [cursor.uint(width) for _ in range(count)]
            if source in self.tiles:
                raise _Malformed("an item has two lists of derived-image references")
            self.tiles[source] = targets

    # --- items ----------------------------------------------------------------------------

    def item_properties(self, item: int) -> list[tuple[bytes, int, int]]:
        """The item's properties in association order, which is the order transforms apply."""
        assert self.associations is not None
        indices = self.associations.get(item)
        if indices is None:
            raise _Malformed("an image item has no property associations")
        found = []
        for index in indices:
            if index == 0:
                continue
            if index > len(self.properties):
                raise _Malformed("a property association points past the ipco box")
            found.append(self.properties[index - 1])
        return found

    def one(self, properties: list[tuple[bytes, int, int]], kind: bytes) -> tuple[int, int] | None:
        found = [(start, stop) for name, start, stop in properties if name == kind]
        if len(found) > 1:
            raise _Malformed(f"an image item has more than one {kind.decode()} property")
        return found[0] if found else None

    def ispe(self, properties: list[tuple[bytes, int, int]], what: str) -> tuple[int, int]:
        found = self.one(properties, b"ispe")
        if found is None:
            raise ImageRejected(f"The {self.label} file's {what} has no size (ispe) property")
        _, _, pos = self.full_box(*found, "ispe")
        cursor = _Cursor(self.view, pos, found[1], "ispe")
        width, height = cursor.uint(4), cursor.uint(4)
        if not width or not height:
            raise ImageRejected(f"The {self.label} file's {what} has a size of 0")
        return width, height

    def extents(self, item: int) -> list[tuple[int, int]]:
        """The item's data as absolute [start, stop) ranges of the file."""
        location = self.locations.get(item)
        if location is None:
            raise _Malformed("an image item has no location (iloc)")
        if location.reference:
            raise ImageRejected(
                f"The {self.label} file keeps image data in another file, which is not supported"
            )
        if location.method == 0:
            origin, limit = 0, len(self.data)
        elif location.method == 1:
            if self.idat is None:
                raise _Malformed("an item lies in an idat box that is missing")
            origin, limit = self.idat
        else:
            raise ImageRejected(
                f"The {self.label} file builds an image from other items' data, which is not "
                "supported"
            )
        if not location.extents:
            raise _Malformed("an image item has no data")
        ranges = []
        for offset, length in location.extents:
            start = origin + location.base + offset
            # A length of 0 means "to the end of the source" (14496-12 8.11.3.3).
            stop = limit if length == 0 else start + length
            if stop > limit or start > stop:
                if location.method == 1:
                    raise _Malformed("an item runs past the end of the idat box")
                raise ImageRejected(
                    f"The {self.label} file is truncated (an image's data lies past its end)"
                )
            ranges.append((start, stop))
        return ranges

    def item_data(self, item: int) -> memoryview | bytes:
        ranges = self.extents(item)
        if len(ranges) == 1:
            start, stop = ranges[0]
            return self.view[start:stop]
        # Joining copies; items sharing or overlapping extents could make that quadratic.
        self.copied += sum(stop - start for start, stop in ranges)
        if self.copied > len(self.data):
            raise ImageRejected(f"The {self.label} file's items overlap more than its size allows")
        return b"".join(self.view[start:stop] for start, stop in ranges)

    # --- the primary image ----------------------------------------------------------------

    def primary_header(self) -> HeifHeader:
        primary = self.primary
        assert primary is not None
        kind = self.types.get(primary)
        if kind is None:
            raise _Malformed("its primary item is not in the item list (iinf)")
        properties = self.item_properties(primary)
        if kind == b"grid":
            size, coded, tiles, codec = self.grid(primary, properties)
        elif kind in _CONFIG:
            size, coded = self.coded_item(primary, kind, "image")
            tiles, codec = 1, kind
        else:
            raise ImageRejected(
                f"The {self.label} file's primary image is {_describe(kind)}, which is not "
                "supported (only HEVC, AV1 and grid images are)"
            )
        width, height, rotated = self.transformed(size, properties, crop=codec == b"hvc1")
        return HeifHeader(
            width=width,
            height=height,
            rotated=rotated,
            kind=kind.decode(),
            tiles=tiles,
            coded_width=coded[0],
            coded_height=coded[1],
        )

    def transformed(
        self, size: tuple[int, int], properties: list[tuple[bytes, int, int]], *, crop: bool
    ) -> tuple[int, int, bool]:
        """The output size before rotation, and whether irot turns it a quarter: transforms
        apply in association order, so a clap after an irot crops the rotated image."""
        width, height = size
        rotated = False
        for kind, start, stop in properties:
            if kind == b"irot":
                if stop - start < 1:
                    raise _Malformed("an irot box is truncated")
                if self.data[start] & 1:
                    width, height, rotated = height, width, not rotated
            elif kind == b"clap" and crop:
                width, height = self.clap(start, stop, width, height)
        return (height, width, True) if rotated else (width, height, False)

    def clap(self, start: int, stop: int, width: int, height: int) -> tuple[int, int]:
        """The size after a clean aperture, rounded as libheif rounds it (box.cc Box_clap)."""
        cursor = _Cursor(self.view, start, stop, "clap")
        values = [cursor.uint(4) for _ in range(8)]
        if not all(values[1::2]) or any(value > 0x7FFF_FFFF for value in values[0:4]):
            raise _Malformed("its clean aperture (clap) is invalid")
        # Offsets are signed 32-bit numerators.
        clap_w, clap_h = Fraction(values[0], values[1]), Fraction(values[2], values[3])
        offset_x = Fraction(values[4] - (values[4] >> 31 << 32), values[5])
        offset_y = Fraction(values[6] - (values[6] >> 31 << 32), values[7])
        left = _truncate(offset_x + Fraction(width - 1, 2) - (clap_w - 1) / 2)
        right = _round(clap_w - 1 + left)
        top = _round(offset_y + Fraction(height - 1, 2) - (clap_h - 1) / 2)
        bottom = _round(clap_h - 1 + top)
        left, top = max(left, 0), max(top, 0)
        right, bottom = min(right, width - 1), min(bottom, height - 1)
        if left > right or top > bottom:
            raise _Malformed("its clean aperture (clap) lies outside the image")
        return right - left + 1, bottom - top + 1

    def coded_item(
        self, item: int, kind: bytes, what: str
    ) -> tuple[tuple[int, int], tuple[int, int]]:
        """(ispe, coded size) of an hvc1 or av01 item, refused when the coded size does not
        back the ispe claim."""
        cached = self.coded.get(item)
        if cached is not None:
            return cached
        properties = self.item_properties(item)
        size = self.ispe(properties, what)
        config = self.one(properties, _CONFIG[kind])
        if config is None:
            raise _Malformed(f"an {_CODEC[kind]} image has no {_CONFIG[kind].decode()} property")
        data = self.item_data(item)
        coded = self.hevc(config, data) if kind == b"hvc1" else self.av1(config, data)
        self.check_coded(size, coded, _CODEC[kind], what)
        result = (size, (max(w for w, _ in coded), max(h for _, h in coded)))
        self.coded[item] = result
        return result

    def check_coded(
        self, size: tuple[int, int], coded: list[tuple[int, int]], codec: str, what: str
    ) -> None:
        width, height = size
        for coded_width, coded_height in coded:
            if not (
                width <= coded_width <= _round_up(width)
                and height <= coded_height <= _round_up(height)
            ):
                raise ImageRejected(
                    f"The {self.label} file's {what} claims {width}x{height} pixels but its "
                    f"{codec} data is coded at {coded_width}x{coded_height}"
                )

    def grid(
        self, item: int, properties: list[tuple[bytes, int, int]]
    ) -> tuple[tuple[int, int], tuple[int, int], int, bytes]:
        """(ispe, coded size, tile count, tile codec) of a grid item (HEIF 6.6.2.3)."""
        size = self.ispe(properties, "grid image")
        descriptor = bytes(self.item_data(item)[:12])
        cursor = _Cursor(memoryview(descriptor), 0, len(descriptor), "grid descriptor")
        if cursor.uint(1) != 0:
            raise _Malformed("its grid descriptor has an unknown version")
        field = 4 if cursor.uint(1) & 1 else 2
        rows, columns = cursor.uint(1) + 1, cursor.uint(1) + 1
        output = (cursor.uint(field), cursor.uint(field))
        if not all(output):
            raise ImageRejected(f"The {self.label} file's grid image has a size of 0")
        if rows * columns > MAX_TILES:
            raise ImageRejected(
                f"The {self.label} file's grid has too many tiles ({rows * columns:,}; "
                f"at most {MAX_TILES:,})"
            )
        tiles = self.tiles.get(item)
        if tiles is None:
            raise _Malformed("its grid image has no tiles (dimg)")
        if len(tiles) != rows * columns:
            raise _Malformed(f"its grid declares {columns}x{rows} tiles but lists {len(tiles):,}")
        if size != output:
            raise ImageRejected(
                f"The {self.label} file's grid image claims {size[0]}x{size[1]} pixels but its "
                f"grid is {output[0]}x{output[1]}"
            )
        codec: bytes | None = None
        first: tuple[int, int] | None = None
        coded = (0, 0)
        for tile in tiles:
            kind = self.types.get(tile)
            if kind is None:
                raise _Malformed("a grid tile is not in the item list (iinf)")
            if kind not in _CONFIG:
                raise ImageRejected(
                    f"The {self.label} file's grid has a tile {_describe(kind)}, which is not "
                    "supported (only HEVC and AV1 tiles are)"
                )
            if codec is None:
                codec = kind
            elif kind != codec:
                raise ImageRejected(f"The {self.label} file's grid mixes HEVC and AV1 tiles")
            tile_size, tile_coded = self.coded_item(tile, kind, "grid tile")
            if first is None:
                first = tile_size
            elif tile_size != first:
                raise ImageRejected(f"The {self.label} file's grid tiles differ in size")
            coded = (max(coded[0], tile_coded[0]), max(coded[1], tile_coded[1]))
        assert first is not None and codec is not None
        # Tiles must cover the output with the last row and column partly used, no more: any
        # other arrangement is a size the tiles do not back.
        for extent, count, tile_extent in (
            (output[0], columns, first[0]),
            (output[1], rows, first[1]),
        ):
            if not (count - 1) * tile_extent < extent <= count * tile_extent:
                raise ImageRejected(
                    f"The {self.label} file's grid image claims {output[0]}x{output[1]} "
                    f"pixels but its {columns}x{rows} tiles of {first[0]}x{first[1]} "
                    "do not make that size"
                )
        return output, (columns * coded[0], rows * coded[1]), rows * columns, codec

    # --- codecs ---------------------------------------------------------------------------

    def hevc(self, config: tuple[int, int], data: memoryview | bytes) -> list[tuple[int, int]]:
        """Picture sizes of every base-layer SPS in hvcC and in the item's own NAL units: a
        decoder takes either, so both must back the claim."""
        length_size, sizes = self.hvcc(config)
        sizes = list(sizes)
        pos, end = 0, len(data)
        while pos < end:
            self.spend(1)
            if pos + length_size > end:
                raise _Malformed("the HEVC data of an image is truncated")
            length = int.from_bytes(data[pos : pos + length_size], "big")
            pos += length_size
            if pos + length > end:
                raise _Malformed("the HEVC data of an image is truncated")
            if length >= 2 and _is_base_sps(data[pos], data[pos + 1]):
                self.parameter_set()
                sizes.append(_sps_size(bytes(data[pos : pos + min(length, _PARAMETERS_PREFIX)])))
            pos += length
        if not sizes:
            raise _Malformed("an HEVC image has no sequence parameter set")
        return sizes

    def hvcc(self, config: tuple[int, int]) -> tuple[int, list[tuple[int, int]]]:
        """(NAL length size, SPS picture sizes) of an hvcC box, parsed once however many
        tiles share it."""
        cached = self.configs.get(config[0])
        if cached is not None:
            return cached
        cursor = _Cursor(self.view, config[0], config[1], "hvcC")
        cursor.take(21)
        length_size = (cursor.uint(1) & 3) + 1
        sizes = []
        for _ in range(cursor.uint(1)):
            cursor.uint(1)
            count = cursor.uint(2)
            self.spend(count)
            for _ in range(count):
                nal = cursor.take(cursor.uint(2))
                if len(nal) >= 2 and _is_base_sps(nal[0], nal[1]):
                    self.parameter_set()
                    sizes.append(_sps_size(bytes(nal[:_PARAMETERS_PREFIX])))
        self.configs[config[0]] = (length_size, sizes)
        return length_size, sizes

    def av1(self, config: tuple[int, int], data: memoryview | bytes) -> list[tuple[int, int]]:
        """Maximum frame sizes of every sequence header in av1C and in the item's OBUs."""
        start, stop = config
        cached = self.configs.get(start)
        if cached is None:
            if stop - start < 4 or self.data[start] != 0x81:
                raise _Malformed("an av1C box is invalid")
            cached = self.configs[start] = (0, self.obus(self.view[start + 4 : stop]))
        sizes = cached[1] + self.obus(data)
        if not sizes:
            raise _Malformed("an AV1 image has no sequence header")
        return sizes

    def obus(self, data: memoryview | bytes) -> list[tuple[int, int]]:
        sizes = []
        pos, end = 0, len(data)
        while pos < end:
            self.spend(1)
            header = data[pos]
            if header & 0x80:
                raise _Malformed("the AV1 data of an image is invalid")
            # obu_extension_flag adds a byte; without obu_has_size_field the OBU runs to the end.
            pos += 2 if header & 0x04 else 1
            if pos > end:
                raise _Malformed("the AV1 data of an image is truncated")
            if header & 0x02:
                size, pos = _leb128(data, pos, end)
            else:
                size = end - pos
            if pos + size > end:
                raise _Malformed("the AV1 data of an image is truncated")
            if (header >> 3) & 15 == _OBU_SEQUENCE_HEADER:
                self.parameter_set()
                payload = bytes(data[pos : pos + min(size, _PARAMETERS_PREFIX)])
                sizes.append(_sequence_header_size(payload))
            pos += size
        return sizes

    # --- sequences ------------------------------------------------------------------------

    def tracks(self, start: int, stop: int, header: HeifHeader) -> None:
        """Hold each AV1 track to the still image: Pillow's AVIF decoder (libavif) shows the
        track, not the item, and scales its frames to the size tkhd declares."""
        still = (header.width, header.height)
        for kind, begin, end in self.children(start, stop):
            if kind == b"trak":
                self.track(begin, end, still)

    def track(self, start: int, stop: int, still: tuple[int, int]) -> None:
        tkhd = self.child(start, stop, b"tkhd")
        stbl = self.path(start, stop, (b"mdia", b"minf", b"stbl"))
        if tkhd is None or stbl is None:
            return
        stsd = self.child(*stbl, b"stsd")
        if stsd is None:
            raise _Malformed("a track has no sample description (stsd)")
        _, _, pos = self.full_box(*stsd, "stsd")
        entry = next(self.children(pos + 4, stsd[1]), None)
        if entry is None or entry[0] != b"av01":
            return
        # VisualSampleEntry: width and height follow 24 bytes of reserved and fixed fields;
        # its child boxes follow its 78 bytes.
        cursor = _Cursor(self.view, entry[1] + 24, entry[2], "av01 sample entry")
        entry_size = (cursor.uint(2), cursor.uint(2))
        version, _, pos = self.full_box(*tkhd, "tkhd")
        cursor = _Cursor(self.view, pos + (84 if version == 1 else 72), tkhd[1], "tkhd")
        # 16.16 fixed point.
        size = (cursor.uint(4) >> 16, cursor.uint(4) >> 16)
        if not all(size) or size != entry_size:
            raise _Malformed("an animation track declares two different sizes")
        if size != still:
            raise ImageRejected(
                f"The {self.label} file's animation is {size[0]}x{size[1]} pixels but its "
                f"still image is {still[0]}x{still[1]}"
            )
        config = self.child(entry[1] + 78, entry[2], b"av1C")
        if config is None:
            raise _Malformed("an AV1 track has no av1C box")
        coded = self.obus(self.view[config[0] + 4 : config[1]])
        coded += self.obus(self.first_sample(*stbl))
        if not coded:
            raise _Malformed("an AV1 track has no sequence header")
        self.check_coded(size, coded, "AV1", "animation")

    def first_sample(self, start: int, stop: int) -> memoryview:
        """The first sample of a track: it starts the first chunk (14496-12 8.7)."""
        stsz = self.child(start, stop, b"stsz")
        if stsz is None:
            raise _Malformed("a track has no sample sizes (stsz)")
        _, _, pos = self.full_box(*stsz, "stsz")
        cursor = _Cursor(self.view, pos, stsz[1], "stsz")
        size, count = cursor.uint(4), cursor.uint(4)
        if not count:
            raise _Malformed("an animation track has no samples")
        size = size or cursor.uint(4)
        offsets, wide = self.child(start, stop, b"stco"), False
        if offsets is None:
            offsets, wide = self.child(start, stop, b"co64"), True
        if offsets is None:
            raise _Malformed("a track has no chunk offsets (stco)")
        _, _, pos = self.full_box(*offsets, "stco")
        cursor = _Cursor(self.view, pos, offsets[1], "stco")
        if not cursor.uint(4):
            raise _Malformed("an animation track has no chunks")
        offset = cursor.uint(8 if wide else 4)
        if offset + size > len(self.data):
            raise ImageRejected(f"The {self.label} file is truncated (a frame lies past its end)")
        return self.view[offset : offset + size]

    def child(self, start: int, stop: int, kind: bytes) -> tuple[int, int] | None:
        for name, begin, end in self.children(start, stop):
            if name == kind:
                return begin, end
        return None

    def path(self, start: int, stop: int, kinds: tuple[bytes, ...]) -> tuple[int, int] | None:
        found: tuple[int, int] | None = (start, stop)
        for kind in kinds:
            if found is None:
                return None
            found = self.child(*found, kind)
        return found


def _truncate(value: Fraction) -> int:
    """C integer division, as libheif's Fraction::round_down: toward zero."""
    return int(value)


def _round(value: Fraction) -> int:
    """libheif's Fraction::round: (n + d / 2) / d in C integer arithmetic."""
    return int(Fraction(value.numerator + value.denominator // 2, value.denominator))


def _is_base_sps(first: int, second: int) -> bool:
    """An SPS of the base layer: other layers' SPS have another syntax, and decoders that
    output the base layer ignore them."""
    return (first >> 1) & 0x3F == _HEVC_SPS and not (first & 1 or second >> 3)


def _sps_size(nal: bytes) -> tuple[int, int]:
    """pic_width/height_in_luma_samples of an HEVC SPS (H.265 7.3.2.2)."""
    bits = _Bits(_EMULATION_PREVENTION.sub(b"\x00\x00", nal[2:]), "HEVC sequence parameter set")
    bits.u(4)
    sub_layers = bits.u(3)
    if sub_layers > 6:
        raise _Malformed("its HEVC sequence parameter set is invalid")
    bits.u(1)
    # profile_tier_level (7.3.3): general profile (88 bits) and level (8), then per sub-layer
    # presence flags, padding to eight sub-layers, and the present sub-layer fields.
    bits.u(96)
    present = [(bits.u(1), bits.u(1)) for _ in range(sub_layers)]
    if sub_layers:
        bits.u(2 * (8 - sub_layers))
    for profile, level in present:
        bits.u(88 * profile + 8 * level)
    bits.ue()
    chroma_format = bits.ue()
    if chroma_format > 3:
        raise _Malformed("its HEVC sequence parameter set is invalid")
    if chroma_format == 3:
        bits.u(1)
    width, height = bits.ue(), bits.ue()
    if not width or not height:
        raise _Malformed("its HEVC sequence parameter set has a size of 0")
    return width, height


def _sequence_header_size(payload: bytes) -> tuple[int, int]:
    """max_frame_width/height of an AV1 sequence header OBU (AV1 5.5)."""
    bits = _Bits(payload, "AV1 sequence header")
    bits.u(3)
    still_picture, reduced = bits.u(1), bits.u(1)
    if reduced:
        if not still_picture:
            raise _Malformed("its AV1 sequence header is invalid")
        bits.u(5)
    else:
        decoder_model = False
        buffer_delay_length = 0
        if bits.u(1):  # timing_info_present_flag
            bits.u(64)
            if bits.u(1):  # equal_picture_interval
                bits.uvlc()
            decoder_model = bool(bits.u(1))
            if decoder_model:
                buffer_delay_length = bits.u(5) + 1
                bits.u(32 + 5 + 5)
        initial_display_delay = bits.u(1)
        for _ in range(bits.u(5) + 1):  # operating points
            bits.u(12)
            if bits.u(5) > 7:  # seq_level_idx
                bits.u(1)
            if decoder_model and bits.u(1):
                bits.u(2 * buffer_delay_length + 1)
            if initial_display_delay and bits.u(1):
                bits.u(4)
    width_bits, height_bits = bits.u(4) + 1, bits.u(4) + 1
    return bits.u(width_bits) + 1, bits.u(height_bits) + 1


def _leb128(data: memoryview | bytes, pos: int, end: int) -> tuple[int, int]:
    """(value, position after it) of an AV1 leb128 (4.10.5): at most 8 bytes, under 2^32."""
    value = 0
    for index in range(8):
        if pos >= end:
            raise _Malformed("the AV1 data of an image is truncated")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << (7 * index)
        if not byte & 0x80:
            if value >= 1 << 32:
                break
            return value, pos
    raise _Malformed("the AV1 data of an image is invalid")


__all__ = [
    "MAX_BOXES",
    "MAX_ENTRIES",
    "MAX_ITEMS",
    "MAX_PARAMETER_SETS",
    "MAX_TILES",
    "HeifHeader",
    "inspect",
]
