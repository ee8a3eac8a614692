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

ICO = ImageFormat("ICO", "ICO", "ico", "image/vnd.microsoft.icon", ("cur",))
PNM = ImageFormat("PNM", "PPM", "ppm", "image/x-portable-anymap", ("pgm", "pbm", "pnm"))
QOI = ImageFormat("QOI", "QOI", "qoi", "image/qoi")
# Refused by name: decoders with a long record of memory-safety CVEs (SECURITY-NOTES),
# and document formats that are not images.
PSD = ImageFormat("PSD", "PSD", "psd", "image/vnd.adobe.photoshop")
PDF = ImageFormat("PDF", "PDF", "pdf", "application/pdf")
EPS = ImageFormat("EPS", "EPS", "eps", "application/postscript", ("ps",))
DDS = ImageFormat("DDS", "DDS", "dds", "image/vnd-ms.dds")
JPEG2000 = ImageFormat("JPEG 2000", "JPEG2000", "jp2", "image/jp2", ("j2k", "jpf", "jpx"))
FITS = ImageFormat("FITS", "FITS", "fits", "image/fits", ("fit",))

STORED_AS_IS = (JPEG, PNG, GIF, WEBP)

# Served on every image (vital on SVG, harmless on rasters): even a payload the
# sanitizer missed cannot run script, load anything or navigate.
IMAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"
CONVERTED_TO_WEBP = (HEIF, AVIF, TIFF, BMP, ICO, PNM, QOI)
REFUSED = (PSD, PDF, EPS, DDS, JPEG2000, FITS)

_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}


HEAD_BYTES = 4096
"""How much of a file `detect` needs: SVG from design tools opens with an XML
declaration, a generator comment and a DOCTYPE before its `<svg`."""


def detect(head: bytes) -> ImageFormat | None:
    """The format of a file from its first bytes (`HEAD_BYTES` of them), or None."""
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
    if head[:4] in (b"\x00\x00\x01\x00", b"\x00\x00\x02\x00") and len(head) >= 22:
        return ICO
    if len(head) >= 3 and head[0:1] == b"P" and head[1:2] in b"1234567" and head[2:3].isspace():
        return PNM
    if head[:4] == b"qoif":
        return QOI
    if head[:4] == b"8BPS":
        return PSD
    if head[:5] == b"%PDF-":
        return PDF
    if head[:4] in (b"%!PS", b"\xc5\xd0\xd3\xc6"):
        return EPS
    if head[:4] == b"DDS ":
        return DDS
    if head.startswith((b"\x00\x00\x00\x0cjP  \r\n\x87\n", b"\xff\x4f\xff\x51")):
        return JPEG2000
    if head[:9] == b"SIMPLE  =":
        return FITS
    if _looks_like_svg(head):
        return SVG
    return None


def _looks_like_svg(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return text.startswith(b"<svg") or (
        text.startswith((b"<?xml", b"<!doctype svg", b"<!--")) and b"<svg" in text
    )
