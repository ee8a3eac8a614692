"""Peak memory of one `xxl` variant of a 24 MP JPEG: `variants.render` against libvips.

    .venv/bin/python bench/variant_memory.py [--rounds 3]

Each render runs in a fresh subprocess; its peak RSS (VmHWM) less that of a baseline
subprocess that imports the same modules (Pillow, pyvips, imgpro's imaging) and reads
the same bytes is what the render took. libvips runs single-threaded, as in
bench/variants.py (`VIPS_CONCURRENCY=1`), and with its operation cache off, so neither
side keeps what it does not need. Medians over `--rounds`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, os, sys
from pathlib import Path
os.environ["VIPS_CONCURRENCY"] = "1"
import pyvips
pyvips.cache_set_max(0)
from imgpro.imaging import formats, variants
data = Path(sys.argv[2]).read_bytes()
mode = sys.argv[1]
size = None
if mode == "imgpro":
    out = variants.render(data, formats.JPEG, "xxl", output=formats.WEBP)
    size = (out.width, out.height)
elif mode == "vips":
    image = pyvips.Image.thumbnail_buffer(data, 2560, height=2560, size="down")
    image.write_to_buffer(".webp", Q=80, effort=4)
    size = (image.width, image.height)
status = Path("/proc/self/status").read_text()
peak = int(next(l for l in status.splitlines() if l.startswith("VmHWM")).split()[1]) / 1024
print(json.dumps({"peak_mb": peak, "size": size}))
"""


def photo(width: int = 6000, height: int = 4000) -> bytes:
    """A photo-like 24 MP JPEG (noise upscaled, so it compresses like a photo)."""
    import io

    from PIL import Image

    seed = Image.frombytes(
        "RGB", (width // 10, height // 10), os.urandom(width * height * 3 // 100)
    )
    out = io.BytesIO()
    seed.resize((width, height), Image.Resampling.BICUBIC).save(out, "JPEG", quality=90)
    return out.getvalue()


def run(mode: str, path: str) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "layers" / "core" / "python")}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, mode, path],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"{mode} failed:\n{done.stderr}")
    result: dict[str, object] = json.loads(done.stdout)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    with tempfile.NamedTemporaryFile(suffix=".jpg") as file:
        file.write(photo())
        file.flush()
        peaks: dict[str, list[float]] = {"baseline": [], "imgpro": [], "vips": []}
        sizes: dict[str, object] = {}
        for _ in range(rounds):
            for mode in peaks:
                result = run(mode, file.name)
                peaks[mode].append(float(result["peak_mb"]))  # type: ignore[arg-type]
                sizes[mode] = result["size"]
    base = statistics.median(peaks["baseline"])
    ours = statistics.median(peaks["imgpro"]) - base
    theirs = statistics.median(peaks["vips"]) - base
    print(
        f"24 MP JPEG (6000x4000) -> xxl WebP, peak RSS over a baseline of {base:.0f} MB, "
        f"median of {rounds}\n"
    )
    print("| renderer | output | peak MB | vs libvips |")
    print("|---|---|---|---|")
    print(f"| imgpro (Pillow) | {sizes['imgpro']} | {ours:.0f} | {ours / theirs:.2f} |")
    print(f"| libvips thumbnail | {sizes['vips']} | {theirs:.0f} | 1.00 |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
