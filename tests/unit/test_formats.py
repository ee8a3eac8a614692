"""Format detection by magic bytes, and header probing."""

from __future__ import annotations

import pytest

from imgpro.imaging import formats
from tests.support import images


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (images.jpeg(), formats.JPEG),
        (images.png(), formats.PNG),
        (images.gif(), formats.GIF),
        (images.webp(), formats.WEBP),
        (images.image_bytes("TIFF"), formats.TIFF),
        (images.image_bytes("BMP"), formats.BMP),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf", formats.AVIF),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", formats.HEIF),
        (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg">', formats.SVG),
        (b"\xef\xbb\xbf  <svg>", formats.SVG),
        (images.image_bytes("ICO", (32, 32)), formats.ICO),
        (images.image_bytes("PPM"), formats.PNM),
        (images.image_bytes("QOI"), formats.QOI),
        (b"8BPS\x00\x01" + b"\x00" * 30, formats.PSD),
        (b"%PDF-1.7\n", formats.PDF),
        (b"%!PS-Adobe-3.0 EPSF-3.0", formats.EPS),
        (b"DDS |\x00\x00\x00", formats.DDS),
        (b"\x00\x00\x00\x0cjP  \r\n\x87\n", formats.JPEG2000),
        (b"SIMPLE  =                    T", formats.FITS),
    ],
)
def test_detect_recognises_magic_bytes(data, expected) -> None:
    assert formats.detect(data[:64]) is expected


@pytest.mark.parametrize("data", [b"", b"hello", b"<html><body>", b"\xff\xd8", b"P9 1 1"])
def test_detect_returns_none_for_non_images(data) -> None:
    assert formats.detect(data) is None
