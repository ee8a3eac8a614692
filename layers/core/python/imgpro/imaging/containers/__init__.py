"""What an upload's container says, read from its byte structure without decoding pixels:
where the image really ends, how many frames it has, and its EXIF.

Pure Python (no Pillow), and linear in the file size: it runs on every upload.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from imgpro.imaging.containers import gif, jpeg, png, webp
from imgpro.imaging.containers.layout import Layout
from imgpro.imaging.errors import ImageRejected
from imgpro.imaging.exif import orientation_of
from imgpro.imaging.formats import GIF, JPEG, PNG, WEBP, ImageFormat


@dataclass(frozen=True)
class Container(Layout):
    orientation: int = 1
    """EXIF orientation 1..8; 1 when absent or invalid."""


_WALKERS: dict[ImageFormat, Callable[[bytes], Layout]] = {
    JPEG: jpeg.walk,
    PNG: png.walk,
    GIF: gif.walk,
    WEBP: webp.walk,
}
_EXIF_REWRITERS = {JPEG: jpeg.rewrite_exif, PNG: png.rewrite_exif, WEBP: webp.rewrite_exif}


def inspect_container(fmt: ImageFormat, data: bytes) -> Container:
    """Walk the container of `data` (already identified as `fmt`).

    Raises ImageRejected, with a message for the `file` field, when the structure is
    truncated or malformed.
    """
    walker = _WALKERS.get(fmt)
    if walker is None:
        raise ImageRejected(f"{fmt.name} images are not supported")
    layout = walker(data)
    return Container(**vars(layout), orientation=orientation_of(layout.exif))


def rewrite_exif(fmt: ImageFormat, data: bytes, rewrite: Callable[[bytes], bytes | None]) -> bytes:
    """`data` with every EXIF block's TIFF bytes passed through `rewrite` (None: unchanged),
    and the container's lengths and checksums kept right; `data` itself when nothing changed
    or the format carries no EXIF (GIF)."""
    rewriter = _EXIF_REWRITERS.get(fmt)
    return data if rewriter is None else rewriter(data, rewrite)


__all__ = ["Container", "inspect_container", "rewrite_exif"]
