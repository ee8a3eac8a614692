"""Format detection from magic bytes only: never the filename or the Content-Type."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ImageFormat:
    name: str
    """Human name, used in messages."""
    pillow: str
    """Pillow's format id, for `Image.open(formats=[...])`."""
    ext: str
    content_type: str
    aliases: tuple[str, ...] = ()
    """Other file extensions people use for this format."""

    @property
    def extensions(self) -> tuple[str, ...]:
        return (self.ext, *self.aliases)


JPEG = ImageFormat("JPEG", "JPEG", "jpg", "image/jpeg", ("jpeg", "jpe", "jfif"))
PNG = ImageFormat("PNG", "PNG", "png", "image/png")
GIF = ImageFormat("GIF", "GIF", "gif", "image/gif")
WEBP = ImageFormat("WebP", "WEBP", "webp", "image/webp")
# Recognised so that a client hears what it sent, not "not an image".
HEIF = ImageFormat("HEIC/HEIF", "HEIF", "heic", "image/heic", ("heif",))
AVIF = ImageFormat("AVIF", "AVIF", "avif", "image/avif")
TIFF = ImageFormat("TIFF", "TIFF", "tiff", "image/tiff", ("tif",))
BMP = ImageFormat("BMP", "BMP", "bmp", "image/bmp")
SVG = ImageFormat("SVG", "SVG", "svg", "image/svg+xml")

STORED_AS_IS = (JPEG, PNG, GIF, WEBP)

_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}


def detect(head: bytes) -> ImageFormat | None:
    """The format of a file from its first bytes (64 are plenty), or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[4:8] == b"ftyp":
        brands = {head[8:12]} | {head[i : i + 4] for i in range(16, min(len(head), 64), 4)}
        if brands & _AVIF_BRANDS:
            return AVIF
        if brands & _HEIF_BRANDS:
            return HEIF
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return TIFF
    if head[:2] == b"BM" and len(head) >= 26:
        return BMP
    if _looks_like_svg(head):
        return SVG
    return None


def _looks_like_svg(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return text.startswith(b"<svg") or (
        text.startswith((b"<?xml", b"<!doctype svg", b"<!--")) and b"<svg" in text
    )
