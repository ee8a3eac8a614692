"""The metadata of an original stored as sent (JPEG, PNG, GIF, WebP): where it was taken never
leaves with it, and neither do megabytes of payload hidden beside the pixels.

Only metadata changes: the pixel data is kept byte for byte, so the stored image decodes to
exactly what was uploaded. Location is removed from EXIF (`exif.drop_gps`) and from XMP
(`xmp.without_location`); free-form text and payloads no decoder reads are dropped; an ICC
profile too large for any real colour space is refused. The byte surgery for each format
lives with its walker in `containers`.
"""

from __future__ import annotations

from imgpro.imaging.containers import Container, gif, jpeg, png, rewrite_exif, webp
from imgpro.imaging.exif import drop_gps
from imgpro.imaging.formats import GIF, JPEG, PNG, WEBP, ImageFormat
from imgpro.imaging.xmp import MAX_PACKET_BYTES, without_location

MAX_ICC_BYTES = 1 << 20
"""Larger ICC profiles are refused: real ones are a few KB (Display P3 is 0.5 KB, a printer's
LUT profile a few hundred KB), and the profile is parsed by every viewer of the image."""
MAX_JPEG_UNREAD_BYTES = 256 << 10
"""JPEG APP3-APP13, APP15 and COM segments adding up to more are all cut: cameras write a few
KB of maker data there; hundreds of KB are an archive riding along, not image metadata."""


def scrub(fmt: ImageFormat, data: bytes, container: Container) -> bytes:
    """The file to store for `data`, an image of `fmt` stored as sent whose container is
    `container`: GPS cut from every EXIF block, location cut from XMP, and

    - JPEG: extended XMP dropped; APP3-APP13, APP15 and COM cut when they add up to more
      than 256 KiB; APP0, APP14, EXIF and everything from the first scan on kept as it is;
    - PNG: tEXt, zTXt and iTXt dropped, except the XMP iTXt;
    - GIF: the XMP application extension dropped (comments are kept);
    - WebP: an XMP chunk that cannot be scrubbed dropped, with its VP8X flag.

    Raises ImageRejected for an ICC profile over 1 MiB (JPEG, PNG, WebP). `data` itself
    when there is nothing to remove.
    """
    data = without_gps(fmt, data, container)
    if fmt is JPEG:
        return jpeg.scrub_metadata(
            data,
            xmp=without_location,
            max_icc=MAX_ICC_BYTES,
            max_unread=MAX_JPEG_UNREAD_BYTES,
        )
    if fmt is PNG:
        return png.scrub_metadata(
            data, xmp=without_location, max_icc=MAX_ICC_BYTES, max_xmp=MAX_PACKET_BYTES
        )
    if fmt is WEBP:
        return webp.scrub_metadata(data, xmp=without_location, max_icc=MAX_ICC_BYTES)
    if fmt is GIF:
        return gif.without_xmp(data)
    # Every other format is re-encoded, never stored as sent: a call for one is a bug.
    raise ValueError(f"{fmt.name} images are not stored as sent")


def without_gps(fmt: ImageFormat, data: bytes, container: Container) -> bytes:
    """The same file with the GPS IFD (tag 0x8825) removed from its EXIF; every other byte
    of the image unchanged. `data` itself when there is no GPS data (or no EXIF at all)."""
    if container.exif is None:
        # No EXIF where readers look (for JPEG, the header before the first scan: Pillow,
        # browsers and ExifTool stop there), so there is nothing to strip and no second walk.
        return data
    # Every EXIF block is rewritten, not only the first one that `container.exif` holds: a
    # second one may carry GPS that some reader would show.
    return rewrite_exif(fmt, data, drop_gps)


__all__ = ["MAX_ICC_BYTES", "MAX_JPEG_UNREAD_BYTES", "scrub", "without_gps"]
