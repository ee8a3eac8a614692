"""Small, real images made on the fly (no downloads, no binary fixtures)."""

from __future__ import annotations

import io

from PIL import Image


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (64, 48), **save: object) -> bytes:
    mode = "RGBA" if fmt in ("PNG", "WEBP") else "RGB"
    image = Image.new(mode, size, (200, 30, 30, 255) if mode == "RGBA" else (200, 30, 30))
    out = io.BytesIO()
    image.save(out, format=fmt, **save)
    return out.getvalue()


def jpeg(size: tuple[int, int] = (64, 48)) -> bytes:
    return image_bytes("JPEG", size)


def png(size: tuple[int, int] = (64, 48)) -> bytes:
    return image_bytes("PNG", size)


def gif(size: tuple[int, int] = (64, 48)) -> bytes:
    return image_bytes("GIF", size)


def webp(size: tuple[int, int] = (64, 48)) -> bytes:
    return image_bytes("WEBP", size)
