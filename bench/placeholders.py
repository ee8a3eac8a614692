"""Ingest CPU cost of placeholders on a 12 MP JPEG, as a ratio in one process.

    .venv/bin/python bench/placeholders.py [--rounds N]

Times `pipeline.prepare` (which now computes the placeholder from the 1/8 JPEG decode it
makes to verify the file) against the same call with `placeholder.from_image` replaced by
a no-op, interleaved, after a warm-up; process CPU time, medians over rounds.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layers" / "core" / "python"))

from PIL import Image, ImageFilter

from imgpro.imaging import placeholder, raster
from imgpro.imaging.pipeline import prepare


def _photo() -> bytes:
    noise = Image.effect_noise((1000, 750), 60).filter(ImageFilter.GaussianBlur(1))
    image = Image.merge("RGB", [noise, noise.rotate(90, expand=False), noise.transpose(0)])
    image = image.resize((4000, 3000), Image.Resampling.BICUBIC)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def _cpu(data: bytes) -> float:
    start = time.process_time()
    prepare(data)
    return time.process_time() - start


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=21)
    rounds = parser.parse_args().rounds
    data = _photo()
    real = placeholder.from_image
    _cpu(data)
    withs: list[float] = []
    withouts: list[float] = []
    ratios: list[float] = []
    for index in range(rounds):
        order = (True, False) if index % 2 else (False, True)
        times = {}
        for on in order:
            raster.placeholder.from_image = real if on else (lambda *_a, **_k: None)  # type: ignore[assignment]
            times[on] = _cpu(data)
        raster.placeholder.from_image = real
        withs.append(times[True])
        withouts.append(times[False])
        ratios.append((times[True] - times[False]) / times[False])
    print(f"12 MP JPEG, {len(data) / 1e6:.1f} MB, stored as sent; {rounds} rounds (CPU time)")
    print(f"upload without placeholder: {statistics.median(withouts) * 1000:7.1f} ms")
    print(f"upload with placeholder:    {statistics.median(withs) * 1000:7.1f} ms")
    print(f"placeholder cost: {statistics.median(ratios) * 100:+.1f} % (median per-round ratio)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
