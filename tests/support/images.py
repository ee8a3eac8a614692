"""Small, real images made on the fly (no downloads, no binary fixtures)."""

from __future__ import annotations

import io
import struct

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


# --- the pipeline's corpus: each format, alpha, animation, EXIF, bombs -----------------


def noise(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """A photo-like image (random pixels), so encoders cannot shrink it to nothing."""
    import os

    channels = len(mode)
    return Image.frombytes(mode, size, os.urandom(size[0] * size[1] * channels))


def encode(image: Image.Image, fmt: str, **save: object) -> bytes:
    if fmt == "HEIF":
        from pillow_heif import register_heif_opener

        register_heif_opener()
    out = io.BytesIO()
    image.save(out, format=fmt, **save)
    return out.getvalue()


def exif_bytes(*, orientation: int | None = None, gps: bool = False) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make: a non-GPS tag that must survive
    if orientation is not None:
        exif[0x0112] = orientation
    if gps:
        gps_ifd = exif.get_ifd(0x8825)
        gps_ifd[1] = "N"
        gps_ifd[2] = (52.0, 22.0, 12.0)
        gps_ifd[3] = "E"
        gps_ifd[4] = (4.0, 53.0, 30.0)
    return exif.tobytes()


def exif_with_thumbnail(thumbnail: bytes, *, orientation: int = 1) -> bytes:
    """EXIF as cameras write it: IFD0 (orientation), then IFD1 pointing to a JPEG
    thumbnail stored after it. Pillow's `Exif.tobytes()` cannot: it drops IFD1."""
    ifd0 = 8
    ifd1 = ifd0 + 2 + 12 + 4
    stored_at = ifd1 + 2 + 2 * 12 + 4
    return (
        b"Exif\x00\x00II*\x00"
        + struct.pack("<I", ifd0)
        + struct.pack("<H", 1)
        + struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0)
        + struct.pack("<I", ifd1)
        + struct.pack("<H", 2)
        + struct.pack("<HHII", 0x0201, 4, 1, stored_at)
        + struct.pack("<HHII", 0x0202, 4, 1, len(thumbnail))
        + struct.pack("<I", 0)
        + thumbnail
    )


def jpeg_with_exif(
    size: tuple[int, int] = (64, 48), *, orientation: int | None = None, gps: bool = False
) -> bytes:
    return encode(
        Image.new("RGB", size, (10, 200, 10)),
        "JPEG",
        exif=exif_bytes(orientation=orientation, gps=gps),
    )


def animated(fmt: str, size: tuple[int, int] = (40, 30), frames: int = 3, **save: object) -> bytes:
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]
    images = [Image.new("RGB", size, colours[i % len(colours)]) for i in range(frames)]
    durations = [100 + 10 * i for i in range(frames)]
    return encode(
        images[0],
        fmt,
        save_all=True,
        append_images=images[1:],
        duration=durations,
        loop=0,
        **save,
    )


def _chunk(kind: bytes, payload: bytes) -> bytes:
    import struct
    import zlib

    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    )


def png_claiming(width: int, height: int) -> bytes:
    """A structurally valid PNG whose header claims width x height (its data is tiny):
    what a decompression bomb looks like before decoding."""
    import struct
    import zlib

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", data)
        + _chunk(b"IEND", b"")
    )


def gif_canvas(width: int, height: int, frames: int) -> bytes:
    """A GIF with a width x height canvas and `frames` 1x1 frames: tiny on disk, but a
    decoder composites every frame onto the full canvas."""
    import struct

    out = bytearray(b"GIF89a" + struct.pack("<HHBBB", width, height, 0, 0, 0))
    for _ in range(frames):
        out += b"\x21\xf9\x04\x00\x0a\x00\x00\x00"  # graphic control: 100 ms
        out += b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0x80)  # 1x1, local table of 2
        out += b"\x00\x00\x00\xff\xff\xff"
        out += b"\x02\x02\x44\x01\x00"  # LZW: min code size 2, one sub-block
    out += b"\x3b"
    return bytes(out)


def stored_key(body: dict) -> str:
    """The S3 key of a media object's original: private media lives under private/."""
    ext = body["src"].split("?")[0].rsplit(".", 1)[-1]
    return f"{'' if 'url' in body else 'private/'}o/{body['id']}.{ext}"


def photo(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """A photo-like image: small noise upscaled, so it compresses like a real photo
    (pure noise would make a 2,800 px PNG bigger than a direct upload may be)."""
    seed = noise((max(1, size[0] // 16), max(1, size[1] // 16)), mode)
    return seed.resize(size, Image.Resampling.BICUBIC)


def gradient(size: tuple[int, int], mode: str = "RGBA") -> Image.Image:
    """Smooth gradients in every channel (alpha too): tiny as PNG, at any size."""
    ramp = Image.linear_gradient("L").resize(size)
    across = ramp.transpose(Image.Transpose.ROTATE_90).resize(size)
    bands = (ramp, across, ramp, across)[: len(mode)]
    return Image.merge(mode, bands)
