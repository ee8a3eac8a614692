"""The metadata of an original stored as sent (JPEG, PNG, GIF, WebP): where it was taken never
leaves with it, and neither do megabytes of payload hidden beside the pixels.

Only metadata changes: the pixel data is kept byte for byte, so the stored image decodes to
exactly what was uploaded. Location is removed from EXIF (`exif.drop_gps`) and from XMP
(`xmp.without_location`); free-form text and payloads no decoder reads are dropped; an ICC
profile too large for any real colour space is refused. The byte surgery for each format
lives with its walker in `containers`.

What goes is a team setting (`StripPolicy`, set with `imgpro team put --strip-metadata`):
"gps", the default, removes location and keeps the rest; "all" removes every EXIF, XMP,
IPTC and comment block, keeping only the EXIF orientation (as a minimal EXIF of that one
tag) and the colour profile, so the image looks exactly as it did (docs/limits.md).
"""

from __future__ import annotations

from imgpro.imaging.containers import Container, gif, jpeg, png, rewrite_exif, webp
from imgpro.imaging.exif import drop_gps, orientation_only
from imgpro.imaging.formats import GIF, JPEG, PNG, WEBP, ImageFormat
from imgpro.imaging.privacy import DEFAULT_STRIP, STRIP_POLICIES, StripPolicy
from imgpro.imaging.xmp import MAX_PACKET_BYTES, without_location

MAX_ICC_BYTES = 1 << 20
"""Larger ICC profiles are refused: real ones are a few KB (Display P3 is 0.5 KB, a printer's
LUT profile a few hundred KB), and the profile is parsed by every viewer of the image."""
MAX_JPEG_UNREAD_BYTES = 256 << 10
"""JPEG APP3-APP13, APP15 and COM segments adding up to more are all cut: cameras write a few
KB of maker data there; hundreds of KB are an archive riding along, not image metadata."""


def scrub(
    fmt: ImageFormat, data: bytes, container: Container, *, strip: StripPolicy = DEFAULT_STRIP
) -> bytes:
    """The file to store for `data`, an image of `fmt` stored as sent whose container is
    `container`: GPS cut from every EXIF block, location cut from XMP, and

    - JPEG: extended XMP dropped; APP3-APP13, APP15 and COM cut when they add up to more
      than 256 KiB; APP0, APP14, EXIF and everything from the first scan on kept as it is;
    - PNG: tEXt, zTXt and iTXt dropped, except the XMP iTXt;
    - GIF: the XMP application extension dropped (comments are kept);
    - WebP: an XMP chunk that cannot be scrubbed dropped, with its VP8X flag.

    With `strip="all"` (`strip_all`) every metadata block goes instead, but orientation
    and the colour profile.

    Raises ImageRejected for an ICC profile over 1 MiB (JPEG, PNG, WebP). `data` itself
    when there is nothing to remove.
    """
    if strip == "all":
        return strip_all(fmt, data, container)
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


def strip_all(fmt: ImageFormat, data: bytes, container: Container) -> bytes:
    """The file to store for a team that strips all metadata: no EXIF but a minimal one
    holding the orientation (none when it is 1), no XMP, IPTC, comments or text, and

    - JPEG: APP1-APP13, APP15 and COM removed, APP2 kept only for the ICC profile; APP0
      (JFIF), APP14 (Adobe), tables and scans kept;
    - PNG: every ancillary chunk removed but the colour ones (iCCP, sRGB, gAMA, cHRM, cICP,
      mDCV, cLLI), tRNS, sBIT, bKGD, pHYs and APNG's; the orientation in a minimal eXIf;
    - WebP: XMP, EXIF and unknown chunks removed, ICCP kept; the orientation in a minimal
      EXIF chunk, the VP8X flags made to match;
    - GIF: comments and application extensions removed, but the loop count and ICC profile.

    Pixel data is kept byte for byte. Raises ImageRejected for an ICC profile over 1 MiB.
    """
    exif = orientation_only(container.orientation)
    if fmt is JPEG:
        return jpeg.strip_metadata(data, exif=exif, max_icc=MAX_ICC_BYTES)
    if fmt is PNG:
        return png.strip_metadata(data, exif=exif, max_icc=MAX_ICC_BYTES)
    if fmt is WEBP:
        return webp.strip_metadata(data, exif=exif, max_icc=MAX_ICC_BYTES)
    if fmt is GIF:
        return gif.strip_metadata(data)
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


__all__ = [
    "DEFAULT_STRIP",
    "MAX_ICC_BYTES",
    "MAX_JPEG_UNREAD_BYTES",
    "STRIP_POLICIES",
    "StripPolicy",
    "scrub",
    "strip_all",
    "without_gps",
]
