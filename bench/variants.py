"""Size variants: `imgpro.imaging.variants.render` against libvips `thumbnail`, side by side.

Both run in this one process, interleaved (imgpro then vips, vips then imgpro on
alternate rounds), for `--rounds` rounds after a warm-up round. A case's times are the
medians of its rounds, and its ratio is the median of the per-round imgpro/vips ratios,
so drift in the machine's speed cancels out. Exit status 1 if a ratio is over its limit.

The limits (from the issue, parts 1 and 3): WebP within 1.25x of libvips at every size
and JPEG within 1.5x at s-xxl, for JPEG photos (a 24 MP camera photo and a 12 MP phone
one); WebP within 1.25x for a 12 MP WebP original (what a HEIC upload is stored as) and
for an animated GIF (2000x2000, 30 frames; its output should also be at most 1.1x
libvips's, which the KB column shows). A 12 MP PNG with alpha is measured too, with no
limit. Pillow decodes PNG and WebP only whole (libvips has libwebp scale a WebP while
decoding it), so the decoder alone is printed for them: the floor of every size.

libvips runs single-threaded (VIPS_CONCURRENCY=1), like the Lambda's one vCPU.
Encoder settings are the same on both sides (WebP quality and method = effort; JPEG
quality, 4:2:0, no Huffman optimisation; ICC only), inputs carry no metadata, and
both make the same dimensions (checked). Quality is printed beside the times: PSNR
against a Lanczos resample of the full-resolution decode, of each encoded variant and
of a lossless (PNG) one, so that neither side wins by losing quality. An animation's
PSNR is the mean over its frames (libvips is given `n=-1`, all frames).

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python bench/variants.py [--rounds 11] [--only jpg|png|webp|gif] [--sizes s m ...]
"""

from __future__ import annotations

import argparse
import io
import math
import os
import statistics
import sys
import time
from dataclasses import dataclass, field

os.environ["VIPS_CONCURRENCY"] = "1"  # read when libvips starts, so before `import pyvips`

import pyvips
from PIL import Image, ImageChops, ImageFilter, ImageStat

from imgpro.imaging import formats, variants
from imgpro.imaging.formats import ImageFormat
from imgpro.imaging.pixels import VARIANT

pyvips.concurrency_set(1)
pyvips.cache_set_max(0)  # no operation cache: every round does all of its work

WEBP_LIMIT = 1.25
JPEG_LIMIT = 1.5
JPEG_SIZES = ("s", "m", "l", "xl", "xxl")


def photo_like(width: int, height: int, mode: str = "RGB") -> Image.Image:
    """Photo-like pixels: random noise at four scales, each upscaled (bicubic) and blended,
    so there is detail at every size from broad shapes to single pixels (like a photo,
    whose detail falls off with frequency) and JPEG/WebP compress it about as they do one."""
    image = None
    for divisor, weight in ((200, 1.0), (50, 0.45), (12, 0.35), (3, 0.25)):
        w, h = max(2, width // divisor), max(2, height // divisor)
        noise = Image.frombytes("RGB", (w, h), os.urandom(w * h * 3))
        layer = noise.resize((width, height), Image.Resampling.BICUBIC)
        image = layer if image is None else Image.blend(image, layer, weight)
    assert image is not None
    if mode == "RGBA":
        # A cut-out: opaque subject, soft edge, fully transparent background.
        mask = Image.radial_gradient("L").resize((width, height), Image.Resampling.BICUBIC)
        image.putalpha(mask.point(lambda v: 0 if v > 200 else 255 if v < 120 else 3 * (200 - v)))
    return image


def animated_gif(width: int, height: int, frames: int) -> bytes:
    """An animated GIF as most are made: a still, photo-like scene (quantized to 256
    colours) with a part of it moving, here a photo-like sprite a quarter of the canvas
    wide crossing it; Pillow stores each frame as the rectangle that changed."""
    scene = photo_like(width, height).quantize(256)
    sprite = photo_like(width // 4, height // 4)
    images = []
    for index in range(frames):
        frame = scene.convert("RGB")
        frame.paste(sprite, ((index * width // 40) % (width - width // 4), height // 3))
        images.append(frame.quantize(palette=scene))
    out = io.BytesIO()
    images[0].save(out, "GIF", save_all=True, append_images=images[1:], duration=80, loop=0)
    return out.getvalue()


def frames_of(data: bytes, mode: str = "RGB") -> list[Image.Image]:
    with Image.open(io.BytesIO(data)) as image:
        frames = []
        for index in range(getattr(image, "n_frames", 1)):
            image.seek(index)
            frames.append(image.convert(mode))
        return frames


def encoded(image: Image.Image, fmt: ImageFormat) -> bytes:
    out = io.BytesIO()
    if fmt is formats.JPEG:
        image.save(out, "JPEG", quality=90)
    elif fmt is formats.WEBP:
        image.save(out, "WEBP", quality=90)
    else:
        image.save(out, "PNG", compress_level=6)
    return out.getvalue()


def vips_suffix(output: ImageFormat) -> str:
    if output is formats.WEBP:
        return f".webp[Q={VARIANT.webp},effort={VARIANT.webp_method},keep=icc]"
    if output is formats.PNG:
        return ".png[compression=6,keep=icc]"
    return f".jpg[Q={VARIANT.jpeg},optimize_coding=false,keep=icc]"


@dataclass
class Source:
    name: str
    data: bytes
    format: ImageFormat
    decoded: Image.Image
    """The full-resolution decode, which both sides start from: the quality reference."""
    limited: bool
    """Whether the ratio limits apply (see the module docstring)."""
    frames: list[Image.Image] = field(default_factory=list)
    """An animation's frames (RGB), each compared with the variant's frame."""
    decode_times: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class Case:
    source: Source
    size: str
    output: ImageFormat
    limit: float | None
    ours: list[float] = field(default_factory=list)
    theirs: list[float] = field(default_factory=list)
    ratios: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def imgpro(self, output: ImageFormat | None = None) -> bytes:
        source, output = self.source, output or self.output
        return variants.render(source.data, source.format, self.size, output=output).data

    def vips(self, output: ImageFormat | None = None) -> bytes:
        longest = variants.SIZES[self.size]
        thumb = pyvips.Image.thumbnail_buffer(
            self.source.data,
            longest,
            height=longest,
            size="down",
            option_string="n=-1" if self.source.frames else "",
        )
        return thumb.write_to_buffer(vips_suffix(output or self.output))


def timed(run) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def psnr(data: bytes | Image.Image, reference: Image.Image) -> float:
    """PSNR over all bands; images with alpha are compared premultiplied, so that the
    colour of fully transparent pixels (which WebP encoders rewrite) does not count."""
    if isinstance(data, Image.Image):
        pixels = data.convert(reference.mode)
    else:
        with Image.open(io.BytesIO(data)) as image:
            pixels = image.convert(reference.mode)
    if reference.mode == "RGBA":
        pixels, reference = pixels.convert("RGBa"), reference.convert("RGBa")
    diff = ImageChops.difference(pixels, reference)
    mse = statistics.fmean(rms**2 for rms in ImageStat.Stat(diff).rms)
    return 99.0 if mse == 0 else 10 * math.log10(255**2 / mse)


_LAPLACIAN = ImageFilter.Kernel((3, 3), [0, -1, 0, -1, 4, -1, 0, -1, 0], scale=1, offset=128)


def detail(image: Image.Image) -> float:
    """Fine detail: the spread of the luma's Laplacian (alpha images over black)."""
    if image.mode == "RGBA":
        image = Image.alpha_composite(Image.new("RGBA", image.size, (0, 0, 0, 255)), image)
    return ImageStat.Stat(image.convert("L").filter(_LAPLACIAN)).stddev[0]


def lossless(data: bytes, mode: str) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert(mode)


def check(case: Case) -> dict:
    """Both sides make the same dimensions, format and mode; their quality against a
    Lanczos resample of the full-resolution decode, after encoding and (a lossless PNG
    of the same variant) before it."""
    ours, theirs = case.imgpro(), case.vips()
    with Image.open(io.BytesIO(ours)) as a, Image.open(io.BytesIO(theirs)) as b:
        assert a.size == b.size, f"{case.source.name} {case.size}: {a.size} != {b.size}"
        assert a.format == b.format == case.output.pillow, (a.format, b.format)
        frames = getattr(a, "n_frames", 1), getattr(b, "n_frames", 1)
        assert frames[0] == frames[1], f"{case.source.name} {case.size}: {frames}"
        if frames[0] == 1:  # an animated WebP's frames read as RGBA, whatever they hold
            assert a.mode == b.mode, f"{case.source.name} {case.size}: {a.mode} != {b.mode}"
        dims = f"{a.width}x{a.height}"
    full = case.source.decoded
    target = variants.target_size(*full.size, case.size)
    if case.source.frames:  # mean PSNR over the frames; no lossless variant of these
        references = [f.resize(target, Image.Resampling.LANCZOS) for f in case.source.frames]

        def mean_psnr(data: bytes) -> float:
            pairs = zip(frames_of(data), references, strict=True)
            return statistics.fmean(psnr(frame, ref) for frame, ref in pairs)

        return {
            "dims": f"{dims}x{frames[0]}",
            "psnr": (mean_psnr(ours), mean_psnr(theirs)),
            "kb": (len(ours) / 1e3, len(theirs) / 1e3),
        }
    reference = full.resize(target, Image.Resampling.LANCZOS)
    return {
        "dims": dims,
        "psnr": (psnr(ours, reference), psnr(theirs, reference)),
        "kb": (len(ours) / 1e3, len(theirs) / 1e3),
        "resample": (
            psnr(case.imgpro(formats.PNG), reference),
            psnr(case.vips(formats.PNG), reference),
        ),
        "detail": (
            detail(lossless(case.imgpro(formats.PNG), full.mode)) / detail(reference),
            detail(lossless(case.vips(formats.PNG), full.mode)) / detail(reference),
        ),
    }


def make_sources(only: str | None) -> list[Source]:
    specs = [
        ("24 MP JPEG 6000x4000", 6000, 4000, "RGB", formats.JPEG, True),
        ("12 MP JPEG 4032x3024", 4032, 3024, "RGB", formats.JPEG, True),
        ("12 MP PNG+alpha 4000x3000", 4000, 3000, "RGBA", formats.PNG, False),
        ("12 MP WebP 4032x3024", 4032, 3024, "RGB", formats.WEBP, True),
        ("GIF 2000x2000, 30 frames", 2000, 2000, "RGB", formats.GIF, True),
    ]
    sources = []
    for name, width, height, mode, fmt, limited in specs:
        if only and fmt.ext != only:
            continue
        if fmt is formats.GIF:
            data = animated_gif(width, height, 30)
            frames = frames_of(data)
            sources.append(Source(name, data, fmt, frames[0], limited, frames))
            print(f"input: {name}, {len(data) / 1e6:.1f} MB")
            continue
        data = encoded(photo_like(width, height, mode), fmt)
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            sources.append(Source(name, data, fmt, image, limited))
        print(f"input: {name}, {len(data) / 1e6:.1f} MB")
    return sources


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--only", choices=("jpg", "png", "webp", "gif"))
    parser.add_argument("--sizes", nargs="+", choices=variants.SIZES, help="only these sizes")
    args = parser.parse_args()

    started = time.perf_counter()
    sources = make_sources(args.only)
    cases: list[Case] = []
    for source in sources:
        sizes = args.sizes or variants.SIZES
        for size in sizes:
            limit = WEBP_LIMIT if source.limited else None
            cases.append(Case(source, size, formats.WEBP, limit))
        if source.format is formats.JPEG:
            jpeg = [size for size in JPEG_SIZES if size in sizes]
            cases += [Case(source, size, formats.JPEG, JPEG_LIMIT) for size in jpeg]
    print(
        f"inputs made in {time.perf_counter() - started:.1f} s; Python {sys.version.split()[0]}, "
        f"Pillow {Image.__version__}, libvips {pyvips.version(0)}.{pyvips.version(1)}."
        f"{pyvips.version(2)} (concurrency {pyvips.concurrency_get()}), {args.rounds} rounds"
    )

    quality = {id(case): check(case) for case in cases}  # also the warm-up round
    for index in range(args.rounds):
        for case in cases:
            pair = [("imgpro", case.imgpro), ("vips", case.vips)]
            if index % 2:
                pair.reverse()
            times = {name: timed(run) for name, run in pair}
            case.ours.append(times["imgpro"][0])
            case.theirs.append(times["vips"][0])
            case.ratios.append(times["imgpro"][0] / times["vips"][0])
            case.cpu.append(times["vips"][1] / times["vips"][0])
        for source in sources:
            if source.format in (formats.PNG, formats.WEBP):  # the decoder alone: a floor
                data = source.data
                pillow = timed(lambda data=data: Image.open(io.BytesIO(data)).load())[0]
                vips = timed(
                    lambda data=data: pyvips.Image.new_from_buffer(
                        data, "", access="sequential"
                    ).avg()
                )[0]
                source.decode_times.append((pillow, vips))
        print(f"round {index + 1}/{args.rounds}", end="\r", file=sys.stderr, flush=True)
    print(file=sys.stderr)

    print(
        "\n| source | size | out | dims | imgpro ms | vips ms | ratio | limit | result "
        "| PSNR imgpro / vips | KB imgpro / vips |"
    )
    print("|---" * 11 + "|")
    failed = False
    for case in cases:
        q = quality[id(case)]
        ratio = statistics.median(case.ratios)
        if case.limit is None:
            limit, result = "-", "info"
        else:
            ok = ratio <= case.limit
            failed |= not ok
            limit, result = f"{case.limit:.2f}", "OK" if ok else "FAIL"
        print(
            f"| {case.source.name} | {case.size} | {case.output.ext} | {q['dims']} "
            f"| {statistics.median(case.ours) * 1e3:.0f} "
            f"| {statistics.median(case.theirs) * 1e3:.0f} | {ratio:.2f} | {limit} | {result} "
            f"| {q['psnr'][0]:.2f} / {q['psnr'][1]:.2f} | {q['kb'][0]:.0f} / {q['kb'][1]:.0f} |"
        )

    print(
        "\nBefore encoding (a lossless PNG variant) against a Lanczos resample of the "
        "full-resolution decode:\nPSNR (99 = identical), then detail: the Laplacian's spread "
        "relative to the reference's (1.00 = as sharp)\n"
    )
    print("| source (imgpro / vips) | " + " | ".join(variants.SIZES) + " |")
    print("|---" * (len(variants.SIZES) + 1) + "|")
    for source in sources:
        if source.frames:
            continue
        webp = [c for c in cases if c.source is source and c.output is formats.WEBP]
        cells = [
            "{:.1f} / {:.1f} dB".format(*quality[id(c)]["resample"])
            + ", {:.2f} / {:.2f}".format(*quality[id(c)]["detail"])
            for c in webp
        ]
        print(f"| {source.name} | " + " | ".join(cells) + " |")

    for source in sources:
        if source.decode_times:
            pillow = statistics.median(p for p, _ in source.decode_times)
            vips = statistics.median(v for _, v in source.decode_times)
            print(
                f"\n{source.name}: the decode alone takes Pillow {pillow * 1e3:.0f} ms, "
                f"libvips {vips * 1e3:.0f} ms (median)"
            )
    vips_cpu = statistics.median(c for case in cases for c in case.cpu)
    print(f"libvips CPU time / wall time (median): {vips_cpu:.2f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
