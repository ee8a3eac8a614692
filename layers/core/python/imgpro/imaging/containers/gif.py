"""GIF block structure (GIF89a spec): where the image ends, and how many frames it has."""

from __future__ import annotations

import struct
from collections.abc import Callable

from imgpro.imaging.containers.layout import Layout
from imgpro.imaging.errors import ImageRejected

_IMAGE, _EXTENSION, _TRAILER = 0x2C, 0x21, 0x3B
_SCREEN_END = 13  # header (6) + logical screen descriptor (7)
_DESCRIPTOR = 10  # image separator + 9 bytes
# Blocks and sub-blocks each cost a Python iteration (under 0.1 us), so a crafted file of
# 1-byte sub-blocks could hold a walk for seconds. Encoders write 255-byte sub-blocks: at this
# cap that is over 250 MB of image data.
MAX_BLOCKS = 1_000_000


def _truncated() -> ImageRejected:
    return ImageRejected("The GIF file is truncated (it ends inside a block)")


def _color_table(packed: int) -> int:
    """Bytes of the color table announced by a descriptor's packed field (0 when none)."""
    return 3 << ((packed & 0x07) + 1) if packed & 0x80 else 0


def _skip_sub_blocks(data: bytes, pos: int, budget: int) -> tuple[int, int]:
    """Offset just past the zero-length block that ends a run of data sub-blocks, and what
    is left of the budget of blocks."""
    size = len(data)
    while pos < size:
        budget -= 1
        if budget < 0:
            raise ImageRejected(f"The GIF file has too many blocks (more than {MAX_BLOCKS:,})")
        length = data[pos]
        pos += 1
        if length == 0:
            return pos, budget
        pos += length
    raise _truncated()


def walk(data: bytes) -> Layout:
    """The image's layout: GIF has no EXIF; frames counts image descriptors; the canvas
    is the logical screen, grown to cover any frame that reaches past it (Pillow grows
    its canvas the same way rather than refusing)."""
    if data[:6] not in (b"GIF87a", b"GIF89a"):
        raise ImageRejected("The file is not a valid GIF image (bad header)")
    size = len(data)
    if size < _SCREEN_END:
        raise _truncated()
    width, height = struct.unpack_from("<HH", data, 6)
    pos = _SCREEN_END + _color_table(data[10])
    frames = 0
    end = size
    budget = MAX_BLOCKS
    while pos < size:
        block = data[pos]
        if block == _TRAILER:
            end = pos + 1
            break
        if block == _IMAGE:
            if pos + _DESCRIPTOR > size:
                raise _truncated()
            left, top, frame_width, frame_height = struct.unpack_from("<HHHH", data, pos + 1)
            width, height = max(width, left + frame_width), max(height, top + frame_height)
            # The LZW minimum code size byte sits between the color table and the sub-blocks.
            start = pos + _DESCRIPTOR + _color_table(data[pos + 9]) + 1
            pos, budget = _skip_sub_blocks(data, start, budget)
            frames += 1
        elif block == _EXTENSION:
            pos, budget = _skip_sub_blocks(data, pos + 2, budget)
        elif frames:
            # Browsers stop at a byte that starts no block and show the frames so far (Chromium
            # and Firefox treat it as the trailer), so what follows is trailing data. Pillow
            # instead skips the byte and keeps reading frames: never hand it data[end:].
            end = pos
            break
        else:
            raise ImageRejected(
                f"The GIF file is malformed (byte 0x{block:02x} where a block should start)"
            )
    else:
        # No trailer, but the data ended cleanly after a complete block. Encoders and
        # truncated downloads produce this often enough in the wild, and every decoder shows
        # it, so the image ends with the data.
        if pos > size:
            raise _truncated()
    if frames == 0:
        raise ImageRejected("The GIF file has no image (no image descriptor)")
    return Layout(end, frames, None, width, height)


_APPLICATION = 0xFF
# The first sub-block of an application extension: its length (11), the identifier and the
# authentication code. XMP's packet follows raw, then a 258-byte "magic trailer" that lands
# a sub-block reader on the terminator wherever the packet's bytes sent it.
_XMP_APPLICATION = b"\x0bXMP DataXMP"


def without_xmp(data: bytes) -> bytes:
    """`data` without its XMP application extensions (where location hides: XMP carries
    `exif:GPSLatitude` and the IPTC location fields); every other block, frames, comments and
    what follows the image kept byte for byte. `data` itself when there is none."""
    return _without_extensions(
        data,
        lambda label, at: label == _APPLICATION and data.startswith(_XMP_APPLICATION, at),
    )


_COMMENT = 0xFE
# Application extensions `strip_metadata` keeps, by their first sub-block: the loop count
# (Netscape's, and its ANIMEXTS twin) and the ICC profile. Every other one (XMP, ImageMagick's
# IPTC and 8BIM resources, writers' own) is metadata.
_KEPT_APPLICATIONS = (b"\x0bNETSCAPE2.0", b"\x0bANIMEXTS1.0", b"\x0bICCRGBG1012")


def strip_metadata(data: bytes) -> bytes:
    """`data` without comment extensions and without application extensions other than the
    loop count and the ICC profile; frames, graphic controls, plain text and what follows
    the image kept byte for byte. `data` itself when there is nothing to remove."""

    def metadata(label: int, at: int) -> bool:
        return label == _COMMENT or (
            label == _APPLICATION and not any(data.startswith(k, at) for k in _KEPT_APPLICATIONS)
        )

    return _without_extensions(data, metadata)


def _without_extensions(data: bytes, drop: Callable[[int, int], bool]) -> bytes:
    """`data` without the extension blocks `drop(label, first sub-block offset)` names;
    everything else byte for byte, and `data` itself when nothing is dropped."""
    size = len(data)
    if size < _SCREEN_END:
        raise _truncated()
    pos = _SCREEN_END + _color_table(data[10])
    budget = MAX_BLOCKS
    parts: list[bytes] = []
    done = 0
    while pos < size:
        block = data[pos]
        if block == _IMAGE:
            if pos + _DESCRIPTOR > size:
                raise _truncated()
            start = pos + _DESCRIPTOR + _color_table(data[pos + 9]) + 1
            pos, budget = _skip_sub_blocks(data, start, budget)
        elif block == _EXTENSION:
            if pos + 2 > size:
                raise _truncated()
            end, budget = _skip_sub_blocks(data, pos + 2, budget)
            if drop(data[pos + 1], pos + 2):
                parts.append(data[done:pos])
                done = end
            pos = end
        else:
            # The trailer, or where `walk` ends the image: the rest is not ours to change.
            break
    if not parts:
        return data
    parts.append(data[done:])
    return b"".join(parts)
