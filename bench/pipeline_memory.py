"""Peak memory of the upload pipeline on a 60 MP JPEG, against a naive Pillow baseline.

Each measurement runs in a fresh subprocess; its peak RSS (VmHWM) minus that of
a baseline subprocess that imports the same modules and reads the same bytes but does
no image work is the memory the image work took. Timing is a ratio within one run.

    .venv/bin/python bench/pipeline_memory.py [--megapixels 60]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import io, json, sys, time
from pathlib import Path
data = Path(sys.argv[2]).read_bytes()
mode = sys.argv[1]
from PIL import Image
from imgpro.imaging import pipeline, raster  # noqa: F401  imported in every mode
from imgpro.imaging.limits import fitted
started = time.perf_counter()
size = None
if mode == "pipeline":
    out = pipeline.prepare(data)
    size = (out.width, out.height)
elif mode == "naive":
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        resized = image.resize(fitted(*image.size), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        resized.save(buffer, "JPEG", quality=90)
        size = resized.size
elapsed = time.perf_counter() - started
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent, which
# made the input image and would mask every child's own peak.
status = Path("/proc/self/status").read_text()
peak_mb = int(next(l for l in status.splitlines() if l.startswith("VmHWM")).split()[1]) / 1024
print(json.dumps({"peak_mb": peak_mb, "seconds": elapsed, "size": size}))
"""


def photo_like(width: int, height: int) -> bytes:
    """A smooth, photo-like JPEG: noise upscaled, so it compresses like a real photo."""
    from PIL import Image

    seed = Image.frombytes(
        "RGB", (width // 10, height // 10), os.urandom(width * height * 3 // 100)
    )
    image = seed.resize((width, height), Image.Resampling.BICUBIC)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def measure(mode: str, path: Path) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megapixels", type=float, default=60.0)
    args = parser.parse_args()
    # A 4:3 photo is over the 48 MP limit by 1.25x: libjpeg's DCT scaling (1/2, 1/4, 1/8)
    # cannot help, so one full decode is the floor. A 20:3 panorama of the same pixel
    # count is over the 8,192 px side limit by 2.4x: DCT scaling decodes it at 1/2.
    for ratio in (4 / 3, 20 / 3):
        height = int((args.megapixels * 1e6 / ratio) ** 0.5)
        run(int(height * ratio), height)


def run(width: int, height: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input.jpg"
        started = time.perf_counter()
        path.write_bytes(photo_like(width, height))
        print(
            f"input: {width}x{height} JPEG ({width * height / 1e6:.1f} MP, "
            f"{path.stat().st_size / 1e6:.1f} MB), made in {time.perf_counter() - started:.1f} s"
        )
        baseline = measure("baseline", path)["peak_mb"]
        pipeline = measure("pipeline", path)
        naive = measure("naive", path)
        for row in (pipeline, naive):
            row["peak_mb"] -= baseline
    print(f"{'':<34}{'peak RSS growth':>16}{'time':>10}  output")
    for name, row in (
        ("imgpro pipeline.prepare", pipeline),
        ("naive open+load+resize+save", naive),
    ):
        print(
            f"{name:<34}{row['peak_mb']:>13.0f} MB{row['seconds']:>9.2f}s  "
            f"{row['size'][0]}x{row['size'][1]}"
        )
    print(
        f"ratio pipeline/naive: memory {pipeline['peak_mb'] / naive['peak_mb']:.2f}, "
        f"time {pipeline['seconds'] / naive['seconds']:.2f}"
    )


if __name__ == "__main__":
    main()
