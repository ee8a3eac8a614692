"""Size variants: one decode, one resample, one encode.

The CDN asks for `?size=s|m|l|xl|xxl`; a variant's longer side is at most 320, 640,
1280, 1920 or 2560 px and never larger than the original. Browsers that accept WebP
get WebP; others get the original's format. Animated GIF and WebP stay animated.
SVG has no variants: it is served as is at every size (it is vectors).

Variants are made on the first request for each one, in a Lambda with about one vCPU,
so this module is built for speed and cold start (bench/variants.py holds it to within
1.25x of libvips for WebP and 1.5x for JPEG):

- only the four Pillow plugins of stored originals are imported: opening or saving a
  format Pillow has not registered makes it import all ~50 of its plugins (`Image.init`).
  Nothing here imports pillow-heif, `raster`, `pipeline` or `svg`.
- JPEG is decoded with DCT scaling (`draft`, see `_dct_scale`), so a 24 MP photo is
  never decoded whole for a variant; one resample finishes the job: Lanczos (after a
  box `reduce` where the ratio is large), as libvips does, except bicubic after a
  1/2-scale decode (`_AFTER_HALF_SCALE`).
- the image is resized in the mode it was decoded in, and converted (grey or CMYK to
  RGB) and turned upright afterwards, on the small image.

Variants are always upright (EXIF orientation applied) and carry no EXIF: WebP readers
do not all apply orientation, one rule for every output format keeps a variant's
dimensions the "as displayed" ones the API reports, and a variant leaks no camera data.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import GifImagePlugin, Image, JpegImagePlugin, PngImagePlugin, WebPImagePlugin

from imgpro.imaging import budget, formats, pixels
from imgpro.imaging.containers import inspect_container
from imgpro.imaging.exif import orientation_of
from imgpro.imaging.formats import ImageFormat
from imgpro.imaging.limits import VARIANT_SIZES
from imgpro.imaging.pixels import VARIANT, upright

# Registered by importing them (above); `Image.open(formats=[...])` and `save` then
# never fall back to `Image.init()`, which imports every plugin Pillow has.
_PLUGINS = (GifImagePlugin, JpegImagePlugin, PngImagePlugin, WebPImagePlugin)

SIZES = VARIANT_SIZES

_RESAMPLE = Image.Resampling.LANCZOS
_REDUCING_GAP = 2.0
"""A box `reduce` by an integer factor first, then Lanczos over the last 2x or more: the
default of Pillow's `thumbnail` ("very close to fair resampling") and of libvips's
`resize`."""

_AFTER_HALF_SCALE = Image.Resampling.BICUBIC
"""The resample after a 1/2-scale JPEG decode (l-xxl of most photos), 1x-2x. Lanczos
there takes 35-40% longer, which put JPEG xl past 1.5x libvips's time; bicubic keeps
about a tenth less fine detail (bench/README.md). `_RESAMPLE` here trades that back."""


@dataclass(frozen=True)
class Variant:
    data: bytes
    format: ImageFormat
    width: int
    height: int


def variant_format(original: ImageFormat, *, accepts_webp: bool) -> ImageFormat:
    """The format a variant is served in: WebP where the browser takes it."""
    return formats.WEBP if accepts_webp else original


def target_size(width: int, height: int, size: str) -> tuple[int, int]:
    """The variant's dimensions: longer side at most SIZES[size], never upscaled."""
    longest = SIZES[size]
    scale = min(1.0, longest / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def render(data: bytes, original: ImageFormat, size: str, *, output: ImageFormat) -> Variant:
    """Make one variant of a stored original (already validated by the pipeline).

    The upload's work budget is checked again from the container first, so a variant never
    costs more than the upload did, whatever was stored before a limit changed. Raises
    ImageRejected when it would.
    """
    layout = inspect_container(original, data)
    budget.check(original, layout.width, layout.height, frames=layout.frames, scans=layout.scans)
    with Image.open(io.BytesIO(data), formats=[original.pillow]) as image:
        if getattr(image, "n_frames", 1) > 1:
            return _render_animation(image, size, output)
        # Sized before rotating: a quarter turn swaps width and height, and target_size
        # scales both sides by the same factor, so the upright variant has the upright size.
        target = target_size(image.width, image.height, size)
        box, resample = None, _RESAMPLE
        scale = _dct_scale(image.size, target) if original is formats.JPEG else 1
        if scale > 1:
            # Asking for exactly 1/scale of the size makes Pillow pick that scale. The
            # box is the exact source area: scaled sizes round up to whole pixels.
            drafted = image.draft(image.mode, (image.width // scale, image.height // scale))
            box = drafted[1] if drafted else None
            if box is not None and scale == 2:
                resample = _AFTER_HALF_SCALE
        resized = pixels.resizable(image)
        if resized.size != target or box is not None:
            resized = resized.resize(target, resample, box=box, reducing_gap=_REDUCING_GAP)
        image.load()  # a no-op when resized; a PNG's eXIf may follow its pixels
        info = image.info
        out, icc = pixels.output_mode(resized, output, info.get("icc_profile"))
        out = upright(out, orientation_of(info.get("exif")))
        return Variant(pixels.encode(out, output, VARIANT, icc=icc), output, out.width, out.height)


def _dct_scale(size: tuple[int, int], target: tuple[int, int]) -> int:
    """The JPEG DCT scaling to decode at: 8, 4 or 2 for 1/8, 1/4 or 1/2, 1 for none.

    libjpeg's scaled decodes (1/8 is the DC coefficient alone: 8x8 block averages) cost
    little more than the entropy decoding, but they are soft, and only a resample that
    still shrinks 2x or more afterwards makes the result as sharp as from a full decode.
    libvips's `thumbnail` always leaves that 2x, then shrinks a 1/2- or full-scale decode
    2x-4x with its SIMD resampler; Pillow's resampler is 3-4x slower at that (a 24 MP
    photo at xl: 2.6x libvips's time). So the 2x is left where the decode is 1/4 scale or
    smaller (cheap either way), and otherwise the decode is the smallest scale still at
    least the target (Pillow's own `draft` rule), leaving the resample 1x-2x: faster, and
    softer at l-xxl than libvips (bench/README.md has the numbers).
    """
    width, height = size
    roomy = min(width // (2 * target[0]), height // (2 * target[1]))
    fits = min(width // target[0], height // target[1])
    if roomy >= 8:
        return 8
    if roomy >= 4 or fits >= 4:
        return 4
    return 2 if fits >= 2 else 1


def _render_animation(image: Image.Image, size: str, output: ImageFormat) -> Variant:
    target = target_size(image.width, image.height, size)
    orientation = orientation_of(image.info.get("exif"))
    icc = image.info.get("icc_profile")
    frames: list[Image.Image] = []
    durations: list[int] = []
    # Pillow declares n_frames on no class; render() sends only images that have it (> 1).
    for index in range(image.n_frames):  # type: ignore[attr-defined]
        image.seek(index)
        frame = image.convert("RGBA")  # loads the frame; WebP sets its duration only then
        durations.append(pixels.frame_duration(image))
        if frame.size != target:
            frame = frame.resize(target, _RESAMPLE, reducing_gap=_REDUCING_GAP)
        frames.append(upright(frame, orientation))
    rgb_icc = icc if icc and icc[16:20] == b"RGB " else None
    data = pixels.encode_animation(
        frames, durations, output, VARIANT, loop=image.info.get("loop", 0), icc=rgb_icc
    )
    return Variant(data, output, frames[0].width, frames[0].height)
