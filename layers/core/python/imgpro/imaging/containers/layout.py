"""What a container walk finds, before any pixel is decoded."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Layout:
    end: int
    """Offset just past the image's last byte; data[end:] is trailing data."""
    frames: int
    """1 for a still image; the frame count of an animated GIF, APNG or WebP."""
    exif: bytes | None
    """Raw EXIF from the TIFF header on, without the "Exif\\0\\0" prefix, if present."""
    width: int
    """The canvas a decoder allocates, as stored (before EXIF orientation): for an
    animation, every frame is composited on the full canvas whatever its own size, so
    this is the logical screen (GIF), the VP8X canvas (WebP) or IHDR (APNG), grown to
    cover any frame that reaches past it."""
    height: int
    scans: int = 1
    """Entropy-coded passes over the whole image: the SOS count of a progressive JPEG
    (each one is another decoding pass over every block), 1 for everything else."""
