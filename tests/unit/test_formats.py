"""Format detection by magic bytes, and header probing."""

from __future__ import annotations

import pytest

from imgpro.imaging import formats
from imgpro.imaging.probe import probe
from imgpro.validation import InvalidField
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
    ],
)
def test_detect_recognises_magic_bytes(data, expected) -> None:
    assert formats.detect(data[:64]) is expected


@pytest.mark.parametrize("data", [b"", b"hello", b"%PDF-1.7", b"<html><body>", b"\xff\xd8"])
def test_detect_returns_none_for_non_images(data) -> None:
    assert formats.detect(data) is None


def test_probe_reads_dimensions_without_decoding() -> None:
    info = probe(images.png((300, 7)))
    assert (info.format, info.width, info.height) == (formats.PNG, 300, 7)


def test_probe_refuses_a_jpeg_whose_header_is_cut() -> None:
    with pytest.raises(InvalidField, match="not a valid JPEG"):
        probe(images.jpeg()[:30])


def test_probe_refuses_an_empty_file() -> None:
    with pytest.raises(InvalidField, match="empty"):
        probe(b"")
