"""Size variants: dimensions, formats, alpha, animation, colour and orientation.

Behaviour only; speed is measured against libvips in bench/variants.py, never asserted.
"""

from __future__ import annotations

import functools
import io
import math
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageCms, ImageStat

from imgpro.imaging import formats, variants
from imgpro.imaging.pixels import VARIANT
from imgpro.imaging.variants import SIZES, render, target_size
from tests.support.images import animated, encode, exif_bytes, gradient, photo

ROOT = Path(__file__).resolve().parents[2]
SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def psnr(a: Image.Image, b: Image.Image) -> float:
    mse = sum(rms**2 for rms in ImageStat.Stat(ImageChops.difference(a, b)).rms) / len(a.getbands())
    return 99.0 if mse == 0 else 10 * math.log10(255**2 / mse)


@functools.cache
def photo_jpeg(dims: tuple[int, int], quality: int = 90) -> bytes:
    return encode(photo(dims), "JPEG", quality=quality)


def fake_icc(space: bytes) -> bytes:
    """An ICC header declaring `space`: encoders embed profiles as opaque bytes."""
    header = bytearray(128)
    header[0:4] = (128).to_bytes(4, "big")
    header[12:16], header[16:20], header[20:24] = b"mntr", space, b"XYZ "
    header[36:40] = b"acsp"
    return bytes(header)


# --- dimensions -------------------------------------------------------------------------


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize(
    "dims",
    [(3000, 2000), (2000, 3000), (4001, 2999), (2600, 2600), (5000, 700)],
    ids=["landscape", "portrait", "odd", "square", "panorama"],
)
def test_longer_side_is_the_size_and_the_aspect_ratio_is_kept(dims, size) -> None:
    data = photo_jpeg(dims)
    variant = render(data, formats.JPEG, size, output=formats.WEBP)
    out = opened(variant.data)
    assert out.size == (variant.width, variant.height) == target_size(*dims, size)
    assert max(out.size) == min(SIZES[size], max(dims))
    assert abs(out.width / out.height - dims[0] / dims[1]) < 0.01 * dims[0] / dims[1] + 0.005


@pytest.mark.parametrize("size", list(SIZES))
def test_small_images_are_never_upscaled(size) -> None:
    data = encode(photo((300, 200)), "PNG")
    variant = render(data, formats.PNG, size, output=formats.WEBP)
    assert (variant.width, variant.height) == (300, 200)
    assert opened(variant.data).size == (300, 200)


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("dims", [(6000, 4000), (4032, 3024), (3000, 2000)])
def test_dct_scaled_decodes_still_look_like_the_original(dims, size) -> None:
    """Whatever DCT scale and resample a size takes, the variant is the image (not a
    shifted, cropped or blurred one): close to a Lanczos of the full decode."""
    data = photo_jpeg(dims, 95)
    variant = render(data, formats.JPEG, size, output=formats.PNG)  # lossless: pixels only
    reference = opened(data).resize(target_size(*dims, size), Image.Resampling.LANCZOS)
    assert psnr(opened(variant.data).convert("RGB"), reference) > 36


# --- formats ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("original", "fmt"),
    [(formats.JPEG, "JPEG"), (formats.PNG, "PNG"), (formats.GIF, "GIF"), (formats.WEBP, "WEBP")],
)
@pytest.mark.parametrize("accepts_webp", [True, False])
def test_webp_where_accepted_else_the_original_format(original, fmt, accepts_webp) -> None:
    data = encode(photo((900, 600)), fmt)
    output = variants.variant_format(original, accepts_webp=accepts_webp)
    variant = render(data, original, "s", output=output)
    assert variant.format is (formats.WEBP if accepts_webp else original)
    out = opened(variant.data)
    assert out.format == variant.format.pillow
    assert out.size == (320, 213)


def test_webp_and_jpeg_use_the_documented_encoder_settings() -> None:
    data = encode(photo((1200, 800)), "JPEG", quality=95)
    pixels = opened(render(data, formats.JPEG, "s", output=formats.PNG).data).convert("RGB")
    webp, jpeg = io.BytesIO(), io.BytesIO()
    pixels.save(webp, "WEBP", quality=VARIANT.webp, method=VARIANT.webp_method)
    pixels.save(jpeg, "JPEG", quality=VARIANT.jpeg)
    assert render(data, formats.JPEG, "s", output=formats.WEBP).data == webp.getvalue()
    assert render(data, formats.JPEG, "s", output=formats.JPEG).data == jpeg.getvalue()


# --- alpha ------------------------------------------------------------------------------


def cut_out(size: tuple[int, int] = (1200, 900)) -> Image.Image:
    """Opaque red on the left half, fully transparent on the right."""
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    image.paste((220, 20, 20, 255), (0, 0, size[0] // 2, size[1]))
    return image


@pytest.mark.parametrize(
    ("original", "fmt", "output"),
    [
        (formats.PNG, "PNG", formats.WEBP),
        (formats.PNG, "PNG", formats.PNG),
        (formats.WEBP, "WEBP", formats.WEBP),
    ],
)
def test_alpha_is_kept(original, fmt, output) -> None:
    data = encode(cut_out(), fmt, **({"lossless": True} if fmt == "WEBP" else {}))
    out = opened(render(data, original, "s", output=output).data)
    assert out.mode == "RGBA"
    assert out.getpixel((10, 10))[3] == 255
    assert out.getpixel((out.width - 10, 10))[3] == 0
    # Resampled premultiplied: no dark fringe from the transparent pixels' black.
    edge = out.getpixel((out.width // 2 - 1, 10))
    if edge[3] > 0:
        assert edge[0] > 180


def test_a_gradient_alpha_survives_resampling() -> None:
    data = encode(gradient((1600, 1200)), "PNG")
    out = opened(render(data, formats.PNG, "s", output=formats.PNG).data)
    low, high = out.getchannel("A").getextrema()
    assert low < 10 and high > 245


def test_palette_png_with_transparency_keeps_it() -> None:
    image = cut_out().convert("P")
    image.info["transparency"] = image.getpixel((1199, 0))
    data = encode(image, "PNG", transparency=image.info["transparency"])
    out = opened(render(data, formats.PNG, "s", output=formats.WEBP).data)
    assert out.mode == "RGBA"
    assert out.getpixel((out.width - 5, 5))[3] == 0 and out.getpixel((5, 5))[3] == 255


def test_still_gif_with_transparency_stays_transparent() -> None:
    image = cut_out((640, 480)).convert("P")
    transparent = image.getpixel((639, 0))
    data = encode(image, "GIF", transparency=transparent)
    out = opened(render(data, formats.GIF, "s", output=formats.GIF).data)
    assert out.format == "GIF" and out.size == (320, 240)
    rgba = out.convert("RGBA")
    assert rgba.getpixel((310, 10))[3] == 0 and rgba.getpixel((10, 10))[3] == 255


def test_an_opaque_jpeg_gets_no_alpha() -> None:
    data = encode(photo((1200, 800)), "JPEG")
    assert opened(render(data, formats.JPEG, "s", output=formats.WEBP).data).mode == "RGB"


# --- animation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("original", "fmt", "output"),
    [
        (formats.GIF, "GIF", formats.WEBP),
        (formats.GIF, "GIF", formats.GIF),
        (formats.WEBP, "WEBP", formats.WEBP),
    ],
)
def test_animation_is_kept_with_its_frame_durations(original, fmt, output) -> None:
    data = animated(fmt, size=(800, 600), frames=3)  # durations 100, 110, 120 ms
    variant = render(data, original, "s", output=output)
    assert (variant.width, variant.height) == (320, 240)
    out = Image.open(io.BytesIO(variant.data))
    assert out.format == output.pillow
    assert out.n_frames == 3
    durations, colours = [], []
    for index in range(out.n_frames):
        out.seek(index)
        frame = out.convert("RGB")
        durations.append(out.info["duration"])
        colours.append(frame.getpixel((160, 120)))
    assert durations == [100, 110, 120]
    assert out.size == (320, 240)
    # Red, green, blue frames, in order (within lossy encoding).
    assert [max(range(3), key=colour.__getitem__) for colour in colours] == [0, 1, 2]


def moving_square(fmt: str, frames: int = 6, size=(900, 700), mode="RGB", **save) -> bytes:
    """A still photo-like scene with a square crossing it, the way most animations
    change: one part of the canvas from frame to frame (the last frame repeats)."""
    scene = photo(size, mode)
    sprite = photo((150, 150), mode).transpose(Image.Transpose.ROTATE_90)
    images = []
    for index in range(frames):
        frame = scene.copy()
        frame.paste(sprite, (40 + 110 * min(index, frames - 2), 200))
        images.append(frame)
    if fmt == "GIF":  # one palette for all: a frame changes where the square moved only
        palette = scene.quantize(256)
        images = [image.quantize(palette=palette, dither=Image.Dither.NONE) for image in images]
    return encode(images[0], fmt, save_all=True, append_images=images[1:], duration=90, **save)


def frames_of(data: bytes, mode: str = "RGB") -> list[Image.Image]:
    image = opened(data)
    out = []
    for index in range(image.n_frames):
        image.seek(index)
        out.append(image.convert(mode))
    return out


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
@pytest.mark.parametrize(
    ("dims", "size"),
    [((2000, 2000), "s"), ((1999, 1333), "m"), ((2600, 2000), "l"), ((801, 603), "m")],
)
@pytest.mark.parametrize(
    "changed", [(487, 1213 // 3, 766, 1280 // 3), (0, 0, 41, 90), (760, 550, 801, 603)]
)
def test_a_changed_region_is_resized_as_the_whole_frame_would_be(mode, dims, size, changed) -> None:
    box = (*changed[:2], min(changed[2], dims[0]), min(changed[3], dims[1]))
    after = photo(dims, mode)
    before = after.copy()  # differs from `after` only inside `box`
    before.paste(photo((box[2] - box[0], box[3] - box[1]), mode), box[:2])
    target = target_size(*dims, size)
    whole_before, _ = variants._resize_region(before, target, (0, 0, *dims))
    whole_after, _ = variants._resize_region(after, target, (0, 0, *dims))
    part, corner = variants._resize_region(after, target, box)
    patched = whole_before.copy()
    patched.paste(part, corner)
    premultiplied = {"RGBA": "RGBa"}.get(mode, mode)
    difference = ImageChops.difference(
        patched.convert(premultiplied), whole_after.convert(premultiplied)
    )
    # Pillow passes the box as 32-bit floats (and alpha adds a rounding each way).
    assert max(high for _, high in difference.getextrema()) <= (1 if mode == "RGB" else 2)
    # And the whole frame is what Pillow's own resize makes of it.
    expected = after.resize(target, Image.Resampling.LANCZOS, reducing_gap=2.0)
    assert psnr(whole_after.convert(premultiplied), expected.convert(premultiplied)) > 48


@pytest.mark.parametrize(
    ("fmt", "original", "save"),
    [
        ("GIF", formats.GIF, {}),
        ("GIF", formats.GIF, {"disposal": 2}),  # each frame's rectangle cleared after it
        ("GIF", formats.GIF, {"disposal": 3}),  # ... or restored to what was before it
        ("WEBP", formats.WEBP, {"lossless": True}),
    ],
)
def test_an_animation_is_every_frame_resized(fmt, original, save) -> None:
    data = moving_square(fmt, **save)
    sources = frames_of(data)
    variant = render(data, original, "s", output=formats.WEBP)
    out = frames_of(variant.data)
    assert len(out) == len(sources)  # the repeated last frame too, as its own frame
    references = [source.resize(out[0].size, Image.Resampling.LANCZOS) for source in sources]
    for index, frame in enumerate(out):
        scores = [psnr(frame, reference) for reference in references]
        assert scores[index] > 27  # lossy WebP at quality 80
        # Its own source frame, not a neighbour's (the last two are the same frame).
        assert scores[index] == max(scores) or references[index] == references[index - 1]


@pytest.mark.parametrize("save", [{}, {"disposal": 2}, {"disposal": 3}], ids=["0", "2", "3"])
@pytest.mark.parametrize("size", ["s", "l"])
def test_gif_frames_resized_by_their_rectangles_match_whole_frames(save, size, monkeypatch) -> None:
    """The frames handed to the encoder, before its loss: each is its source frame
    resized whole, to within one level (see _resize_region)."""
    data = moving_square("GIF", size=(1700, 900), **save)
    captured: list[Image.Image] = []

    def capture(frames, *args, **kwargs):
        captured.extend(frames)
        return b""

    monkeypatch.setattr(variants.pixels, "encode_animation", capture)
    render(data, formats.GIF, size, output=formats.WEBP)
    sources = frames_of(data)
    assert len(captured) == len(sources)
    for source, frame in zip(sources, captured, strict=True):
        whole, _ = variants._resize_region(source, frame.size, (0, 0, *source.size))
        difference = ImageChops.difference(frame.convert("RGB"), whole)
        assert max(high for _, high in difference.getextrema()) <= 1


def test_an_animation_turning_transparent_midway_keeps_both() -> None:
    opaque = photo((800, 600))
    hole = opaque.convert("RGBA")
    hole.paste((0, 0, 0, 0), (500, 100, 700, 300))
    data = encode(opaque, "WEBP", save_all=True, append_images=[hole, opaque], lossless=True)
    out = frames_of(render(data, formats.WEBP, "s", output=formats.WEBP).data, "RGBA")
    assert [frame.getpixel((240, 80))[3] for frame in out] == [255, 0, 255]
    assert [frame.getpixel((40, 40))[3] for frame in out] == [255, 255, 255]


def test_animated_webp_has_no_forced_key_frames() -> None:
    """A key frame re-encodes the whole canvas: Pillow's default inserts one at least
    every fifth frame (gif2webp's kmin=3, kmax=5); libvips and libwebp insert none."""
    data = moving_square("GIF", frames=16)
    ours = render(data, formats.GIF, "l", output=formats.WEBP).data
    frames = frames_of(data)
    frames = [
        frame.resize(target_size(*frame.size, "l"), Image.Resampling.LANCZOS) for frame in frames
    ]
    keyed = io.BytesIO()
    frames[0].save(
        keyed,
        "WEBP",
        save_all=True,
        append_images=frames[1:],
        duration=90,
        quality=VARIANT.webp,
        method=VARIANT.webp_method,
    )
    assert len(ours) < 0.75 * len(keyed.getvalue())  # 0.61 here


def test_animated_webp_keeps_its_icc_profile() -> None:
    data = animated("WEBP", size=(800, 600), frames=2, icc_profile=SRGB)
    out = Image.open(io.BytesIO(render(data, formats.WEBP, "s", output=formats.WEBP).data))
    assert out.n_frames == 2 and out.info.get("icc_profile") == SRGB


# --- colour -----------------------------------------------------------------------------


def test_grayscale_jpeg_stays_grey() -> None:
    data = encode(photo((1200, 800)).convert("L"), "JPEG", quality=90)
    as_jpeg = opened(render(data, formats.JPEG, "m", output=formats.JPEG).data)
    assert as_jpeg.mode == "L" and as_jpeg.size == (640, 427)
    as_webp = opened(render(data, formats.JPEG, "m", output=formats.WEBP).data)
    assert as_webp.mode == "RGB"  # WebP has no grey mode
    r, g, b = as_webp.split()
    assert max(ImageChops.difference(r, g).getextrema()[1], 0) <= 8
    assert ImageChops.difference(g, b).getextrema()[1] <= 8


def test_grey_png_stays_grey_and_16_bit_is_scaled_not_clipped() -> None:
    ramp = Image.linear_gradient("L").resize((1024, 768)).convert("I")
    grey16 = ramp.point(lambda v: v * 257).convert("I;16")  # 0..65535
    data = encode(grey16, "PNG")
    assert opened(data).mode.startswith("I")
    out = opened(render(data, formats.PNG, "s", output=formats.PNG).data)
    assert out.mode == "L"
    low, high = out.getextrema()
    assert low < 20 and high > 235  # the full range, not everything clipped to white


def test_cmyk_jpeg_becomes_rgb_with_the_right_colours() -> None:
    cmyk = Image.new("CMYK", (1200, 800), (0, 255, 255, 0))  # red in print terms
    cmyk.paste((255, 0, 255, 0), (600, 0, 1200, 800))  # green
    data = encode(cmyk, "JPEG", quality=95)
    assert opened(data).mode == "CMYK"
    for output in (formats.WEBP, formats.JPEG):
        out = opened(render(data, formats.JPEG, "s", output=output).data)
        assert out.mode == "RGB"
        red, green = out.getpixel((40, 100)), out.getpixel((280, 100))
        assert red[0] > 200 and red[1] < 60 and red[2] < 60
        assert green[1] > 200 and green[0] < 60 and green[2] < 60


@pytest.mark.parametrize("space", [b"CMYK", b"GRAY"])
def test_a_cmyk_jpeg_profile_never_ends_up_on_rgb_pixels(space) -> None:
    """No CMYK profile ships with Pillow, so the colour-managed conversion itself is not
    exercised here: an unusable CMYK profile falls back to Pillow's plain conversion,
    and neither it nor a mismatched one is attached to the RGB result."""
    cmyk = Image.new("CMYK", (640, 480), (0, 255, 255, 0))
    data = encode(cmyk, "JPEG", icc_profile=fake_icc(space))
    for output in (formats.WEBP, formats.JPEG):
        out = opened(render(data, formats.JPEG, "s", output=output).data)
        assert out.mode == "RGB" and not out.info.get("icc_profile")
        red = out.getpixel((100, 100))
        assert red[0] > 200 and red[1] < 60 and red[2] < 60


@pytest.mark.parametrize("output", [formats.WEBP, formats.JPEG])
def test_rgb_icc_profile_is_kept(output) -> None:
    data = encode(photo((1200, 800)), "JPEG", icc_profile=SRGB)
    out = opened(render(data, formats.JPEG, "s", output=output).data)
    assert out.info.get("icc_profile") == SRGB


def test_grey_profile_is_kept_on_grey_pixels_and_dropped_on_rgb() -> None:
    grey = fake_icc(b"GRAY")
    data = encode(photo((1200, 800)).convert("L"), "JPEG", icc_profile=grey)
    as_jpeg = opened(render(data, formats.JPEG, "s", output=formats.JPEG).data)
    assert as_jpeg.mode == "L" and as_jpeg.info.get("icc_profile") == grey
    as_webp = opened(render(data, formats.JPEG, "s", output=formats.WEBP).data)
    assert as_webp.mode == "RGB" and not as_webp.info.get("icc_profile")


# --- orientation ------------------------------------------------------------------------

# Decision: every variant comes out upright (EXIF orientation applied to the pixels) and
# carries no EXIF. Browsers apply EXIF orientation to a JPEG original, so a WebP variant
# (with no EXIF) must be turned upright to look the same; turning JPEG variants upright
# too keeps one rule, makes a variant's width and height the "as displayed" ones the API
# reports, and keeps camera data out of variants.


def marked(size: tuple[int, int]) -> Image.Image:
    """Grey, with a red block in the stored top-left corner."""
    image = Image.new("RGB", size, (128, 128, 128))
    image.paste((230, 10, 10), (0, 0, size[0] // 4, size[1] // 4))
    return image


@pytest.mark.parametrize("output", [formats.WEBP, formats.JPEG])
def test_exif_orientation_6_comes_out_upright_without_exif(output) -> None:
    # Stored 1200x800 with orientation 6: displayed rotated 90 degrees clockwise, as
    # 800x1200, with the stored top-left corner at the top right.
    data = encode(marked((1200, 800)), "JPEG", quality=95, exif=exif_bytes(orientation=6))
    variant = render(data, formats.JPEG, "s", output=output)
    out = opened(variant.data)
    assert out.size == (variant.width, variant.height) == (213, 320)
    assert out.convert("RGB").getpixel((200, 10))[0] > 180  # red: top right
    assert out.convert("RGB").getpixel((10, 10))[0] < 160  # grey: top left
    assert out.getexif().get(0x0112) in (None, 1)
    assert not out.info.get("exif")


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_matches_exif_transpose(orientation) -> None:
    from PIL import ImageOps

    source = marked((900, 600))
    data = encode(source, "PNG", exif=exif_bytes(orientation=orientation))
    expected = ImageOps.exif_transpose(opened(data))
    out = opened(render(data, formats.PNG, "xxl", output=formats.PNG).data).convert("RGB")
    assert out.size == expected.size
    assert ImageChops.difference(out, expected.convert("RGB")).getbbox() is None


# --- cold start -------------------------------------------------------------------------


def test_render_imports_neither_pillow_heif_nor_the_upload_pipeline() -> None:
    """The variant Lambda's cold start: no HEIF plugin, no upload pipeline, and no
    `Image.init()` (which would import every Pillow plugin, PSD among them)."""
    script = """
import io, sys
from PIL import Image
from imgpro.imaging import formats, variants
for fmt, original in (("JPEG", formats.JPEG), ("PNG", formats.PNG), ("WEBP", formats.WEBP),
                      ("GIF", formats.GIF)):
    out = io.BytesIO()
    Image.new("RGB", (700, 500), (10, 20, 30)).save(out, fmt)
    for output in (formats.WEBP, original):
        variants.render(out.getvalue(), original, "s", output=output)
loaded = sorted(sys.modules)
print("\\n".join(loaded))
"""
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    modules = set(result.stdout.split())
    assert "imgpro.imaging.variants" in modules
    assert not {m for m in modules if m.startswith("pillow_heif")}
    for name in ("imgpro.imaging.raster", "imgpro.imaging.pipeline", "imgpro.imaging.svg"):
        assert name not in modules
    assert "PIL.PsdImagePlugin" not in modules  # Image.init() never ran
