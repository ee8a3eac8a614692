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
  box `reduce` where the ratio is large), as libvips does, except bicubic where less
  than 2x is left after the decode (`_SHORT_RESAMPLE`).
- the image is resized in the mode it was decoded in, and converted (grey or CMYK to
  RGB) and turned upright afterwards, on the small image.
- an animation's frames are resized only where they changed (`_render_animation`),
  and WebP is encoded without forced key frames (`pixels.encode_animation`).

Variants are always upright (EXIF orientation applied) and carry no EXIF: WebP readers
do not all apply orientation, one rule for every output format keeps a variant's
dimensions the "as displayed" ones the API reports, and a variant leaks no camera data.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

from PIL import GifImagePlugin, Image, ImageChops, JpegImagePlugin, PngImagePlugin, WebPImagePlugin

from imgpro.imaging import budget, formats, pixels
from imgpro.imaging.containers import inspect_container
from imgpro.imaging.errors import DECODE_ERRORS, ImageRejected
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

_WEBP_REDUCING_GAP = 1.0
"""For WebP originals 2x-4x larger than the target (l and xl of 12 MP), where the usual
gap would leave a Lanczos over all of it: a box `reduce` by the whole ratio first, then
Lanczos over the last 1x-2x. Pillow decodes a WebP only whole, and at 12 MP that alone
takes about as long as libvips's whole variant, which has libwebp scale the picture
while decoding it (area averaging to about the target size: libvips's WebP variants
are the softer for it). The same trade, a little sharper: a Lanczos over 3x of 12 MP
took 240 ms, the reduce and the rest 75 ms; PSNR after encoding stays with libvips's
(bench/README.md)."""


_SHORT_RESAMPLE = Image.Resampling.BICUBIC
"""The resample after a JPEG decode that leaves less than 2x to go: after a 1/2-scale
decode (l-xl of most photos), or a full-scale one (xxl of a 12 MP photo, 4032 -> 2560);
and from a WebP original less than 2x larger than the target (xxl of 12 MP).
Lanczos there takes 35-40% longer, which put JPEG xl past 1.5x libvips's time and WebP
xxl of a 12 MP photo past 1.25x; bicubic keeps about a tenth less fine detail, and the
same PSNR after encoding (bench/README.md). `_RESAMPLE` here trades that back."""


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
    try:
        return _render(data, original, size, output)
    except ImageRejected:
        raise
    except DECODE_ERRORS as error:
        # Ingest decodes only what the placeholder needs (an animation's first frame), so
        # a later frame may first fail here: no variant, rather than a 500 every view.
        message = f"The stored {original.name} image does not decode ({error})."
        raise ImageRejected(message) from None


def _render(data: bytes, original: ImageFormat, size: str, output: ImageFormat) -> Variant:
    with Image.open(io.BytesIO(data), formats=[original.pillow]) as image:
        if getattr(image, "n_frames", 1) > 1:
            return _render_animation(image, size, output)
        # Sized before rotating: a quarter turn swaps width and height, and target_size
        # scales both sides by the same factor, so the upright variant has the upright size.
        target = target_size(image.width, image.height, size)
        box, resample, gap = None, _RESAMPLE, _REDUCING_GAP
        scale = _dct_scale(image.size, target) if original is formats.JPEG else 1
        if scale > 1:
            # Asking for exactly 1/scale of the size makes Pillow pick that scale. The
            # box is the exact source area: scaled sizes round up to whole pixels.
            drafted = image.draft(image.mode, (image.width // scale, image.height // scale))
            box = drafted[1] if drafted else None
            if box is not None and scale == 2:
                resample = _SHORT_RESAMPLE
        elif original is formats.JPEG:  # a full-scale decode, less than 2x from the target
            resample = _SHORT_RESAMPLE
        elif original is formats.WEBP:
            ratio = min(image.width / target[0], image.height / target[1])
            if ratio < 2:
                resample = _SHORT_RESAMPLE
            elif ratio < 2 * _REDUCING_GAP:  # where the usual gap leaves Lanczos all of it
                gap = _WEBP_REDUCING_GAP
        resized = pixels.resizable(image)
        if resized.size != target or box is not None:
            resized = resized.resize(target, resample, box=box, reducing_gap=gap)
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
    """Each frame resized in the mode it was decoded in, and only where it changed.

    Most animations redraw a part of the canvas from one frame to the next. A GIF frame
    is a rectangle, which is taken as it is; other frames are compared with the previous
    one at full size (~6 ms each at 4 MP). Only the output pixels whose filter reaches a
    changed source pixel are resampled again, from an aligned crop, onto a copy of the
    previous output frame: the pixels of resizing every frame whole (`_resize_region`,
    to within a level of rounding), at a fraction of the cost. A frame that changed
    nothing is the previous one again (the WebP encoder merges such frames). Opaque
    frames stay RGB: premultiplying RGBA for the resample cost more than the resample.
    """
    target = target_size(image.width, image.height, size)
    orientation = orientation_of(image.info.get("exif"))
    icc = image.info.get("icc_profile")
    frames: list[Image.Image] = []
    durations: list[int] = []
    gif = isinstance(image, GifImagePlugin.GifImageFile)
    previous: Image.Image | None = None  # the previous frame at full size (not GIF)
    shape: tuple[str, tuple[int, int]] | None = None  # the previous frame's mode and size
    extent: tuple[int, int, int, int] | None = None  # the previous GIF frame's rectangle
    # Pillow declares n_frames on no class; render() sends only images that have it (> 1).
    for index in range(image.n_frames):  # type: ignore[attr-defined]
        image.seek(index)
        image.load()  # WebP sets a frame's duration only then
        durations.append(pixels.frame_duration(image))
        full = pixels.resizable(image)
        changed: tuple[int, int, int, int] | None = (0, 0, *full.size)
        if gif:
            # A GIF frame changes the canvas only inside its own rectangle, and the
            # previous frame's (its disposal): no need to compare pixels.
            own = getattr(image, "dispose_extent", None)
            if shape == (full.mode, full.size) and own is not None and extent is not None:
                changed = _clip(_union(own, extent), full.size)
            extent = own
        else:
            if full is image:  # the decoder may reuse these pixels for the next frame
                full = image.copy()
            if previous is not None and shape == (full.mode, full.size):
                changed = ImageChops.difference(previous, full).getbbox(alpha_only=False)
            previous = full
        shape = (full.mode, full.size)
        if changed is None:
            frames.append(frames[-1])
        elif full.size == target:
            frames.append(full if full is not image else image.copy())
        else:
            part, corner = _resize_region(full, target, changed)
            if part.size == target:
                frames.append(part)
            else:
                frames.append(frames[-1].copy())
                frames[-1].paste(part, corner)
    if len({frame.mode for frame in frames}) > 1 or frames[0].mode not in ("RGB", "RGBA"):
        alpha = any(frame.mode in ("RGBA", "LA", "La", "RGBa") for frame in frames)
        frames = [frame.convert("RGBA" if alpha else "RGB") for frame in frames]
    frames = [upright(frame, orientation) for frame in frames]
    rgb_icc = icc if icc and icc[16:20] == b"RGB " else None
    data = pixels.encode_animation(
        frames, durations, output, VARIANT, loop=image.info.get("loop", 0), icc=rgb_icc
    )
    return Variant(data, output, frames[0].width, frames[0].height)


def _union(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def _clip(
    box: tuple[int, int, int, int], size: tuple[int, int]
) -> tuple[int, int, int, int] | None:
    x0, y0 = max(0, box[0]), max(0, box[1])
    x1, y1 = min(size[0], box[2]), min(size[1], box[3])
    return (x0, y0, x1, y1) if x0 < x1 and y0 < y1 else None


_LANCZOS_SUPPORT = 3.0


def _resize_region(
    frame: Image.Image, target: tuple[int, int], changed: tuple[int, int, int, int]
) -> tuple[Image.Image, tuple[int, int]]:
    """The part of `frame` resized to `target` that source pixels `changed` reach, and
    where it goes: every output pixel whose filter reads one of them, as resizing the
    whole frame computes it (the whole frame when `changed` is all of it).

    As Pillow's `resize(reducing_gap=2.0)` does: premultiplied alpha, a box `reduce` by
    the same factors over blocks on the same grid (the crop starts on a multiple of the
    factor), then Lanczos at the same scale over the same source pixels (the crop holds
    the filter's support around each output pixel). The two Lanczos passes are made one
    axis at a time, horizontal first, for every frame: Pillow picks the order by the
    region's shape, and the rounding between passes differs with it. What is left is
    Pillow's box, passed to C as 32-bit floats: a part's filter positions differ from the
    whole frame's in the 7th digit, and some of its pixels by one level (premultiplied).
    """
    width, height = frame.size
    factors = (
        int(width / target[0] / _REDUCING_GAP) or 1,
        int(height / target[1] / _REDUCING_GAP) or 1,
    )
    (x0, x1, i0, i1), (y0, y1, k0, k1) = (
        _span(changed[axis], changed[axis + 2], factors[axis], frame.size[axis], target[axis])
        for axis in (0, 1)
    )
    fx, fy = factors
    crop = (i0 * fx, k0 * fy, min(width, i1 * fx), min(height, k1 * fy))
    part = frame if crop == (0, 0, width, height) else frame.crop(crop)
    premultiplied = {"RGBA": "RGBa", "LA": "La"}.get(part.mode)
    if premultiplied:
        part = part.convert(premultiplied)
    if fx > 1 or fy > 1:
        part = part.reduce(factors)
    # Box edges as the whole frame's resize has them: output pixel j starts at j*W/(f*w).
    left, right = x0 * width / (fx * target[0]) - i0, x1 * width / (fx * target[0]) - i0
    top, bottom = y0 * height / (fy * target[1]) - k0, y1 * height / (fy * target[1]) - k0
    part = part.resize((x1 - x0, part.height), _RESAMPLE, box=(left, 0, right, part.height))
    part = part.resize((x1 - x0, y1 - y0), _RESAMPLE, box=(0, top, x1 - x0, bottom))
    if premultiplied:
        part = part.convert(frame.mode)
    return part, (x0, y0)


def _span(low: int, high: int, factor: int, size: int, out: int) -> tuple[int, int, int, int]:
    """Along one axis: the output pixels [j0, j1) whose Lanczos support (after a reduce
    by `factor`) reaches source pixels [low, high), and the reduced pixels [i0, i1) that
    those output pixels read, with a pixel to spare on each side."""
    reduced = -(-size // factor)
    scale = size / factor / out  # reduced pixels per output pixel
    support = _LANCZOS_SUPPORT * max(scale, 1.0)
    low_r, high_r = low // factor, -(-high // factor)
    j0 = max(0, math.floor((low_r - support) / scale - 0.5) - 1)
    j1 = min(out, math.ceil((high_r + support) / scale - 0.5) + 2)
    i0 = max(0, math.floor(j0 * scale - support) - 1)
    i1 = min(reduced, math.ceil(j1 * scale + support) + 1)
    return j0, j1, i0, i1
