"""What each hostile file costs: the upload, then the first xxl variant, against a 48 MP HEIC.

For every file of `tests.support.hostile.CORPUS`, and a legitimate 48 MP JPEG and HEIC
made in the same run, two steps are measured, each in a fresh subprocess:

- the upload: `pipeline.prepare(data)`, its time, peak memory and outcome (stored as
  what, or refused with what message);
- the first `xxl` variant of what was stored: `variants.render(stored, fmt, "xxl",
  output=WEBP)` (skipped when the upload was refused or stored SVG).

Peak memory is the subprocess's peak RSS (VmHWM) minus that of a baseline subprocess
that imports the same modules and reads the same bytes, as in `pipeline_memory.py`.
Each subprocess runs under a wall-clock timeout and an address-space limit
(RLIMIT_AS), so a runaway case is reported as "timeout" or "out of memory" instead of
taking the machine down. Cases run one at a time: the machine has 2 cores.

The yardstick is the legitimate HEIC's upload (SECURITY-NOTES: no hostile file may cost
more than a real 48 MP HEIC upload): a file is within it when each of its steps takes
no more time and no more memory than that upload did in the same run.

    .venv/bin/python bench/hostile.py [--only NAME ...] [--megapixels 48]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, sys.path[0] is bench/; the corpus lives in the repo's tests package.
sys.path.insert(0, str(ROOT))

from tests.support.hostile import CORPUS, legit_photo_heic, legit_photo_jpeg  # noqa: E402

CHILD = r"""
import json, sys, time
from pathlib import Path

mode, source = sys.argv[1], Path(sys.argv[2])
data = source.read_bytes()
# Imported in every mode, the baseline included, so that subtracting the baseline
# leaves only the image work (pillow-heif too: only HEIF registers it, all pay for it).
import pillow_heif  # noqa: F401
from PIL import Image  # noqa: F401
from imgpro.imaging import formats, pipeline, raster, variants  # noqa: F401
from imgpro.imaging.errors import ImageRejected

result, stored = {"outcome": "baseline"}, None
started = time.perf_counter()
try:
    if mode == "upload":
        stored = pipeline.prepare(data)
        result = {
            "outcome": "stored",
            "width": stored.width,
            "height": stored.height,
            "format": stored.format.ext,
        }
    elif mode == "xxl":
        known = {f.ext: f for f in vars(formats).values() if isinstance(f, formats.ImageFormat)}
        variant = variants.render(data, known[sys.argv[3]], "xxl", output=formats.WEBP)
        result = {"outcome": "made", "width": variant.width, "height": variant.height}
except ImageRejected as error:
    result = {"outcome": "refused", "message": str(error)}
except MemoryError:
    result = {"outcome": "out of memory"}
except Exception as error:
    result = {"outcome": "error", "message": f"{type(error).__name__}: {error}"}
result["seconds"] = time.perf_counter() - started
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent.
status = Path("/proc/self/status").read_text()
peak_kb = next(l for l in status.splitlines() if l.startswith("VmHWM")).split()[1]
result["peak_mb"] = int(peak_kb) / 1024
if stored is not None:
    Path(sys.argv[3]).write_bytes(stored.data)
print(json.dumps(result))
"""

_OUT_OF_MEMORY_SIGNS = ("MemoryError", "std::bad_alloc", "Cannot allocate memory", "out of memory")


@dataclass(frozen=True)
class Step:
    """One measured subprocess: what happened, and (when it finished) what it cost."""

    outcome: str
    """"stored", "made", "refused", "error", "timeout", "out of memory" or "crashed"."""
    message: str = ""
    seconds: float | None = None
    mb: float | None = None
    """Peak RSS growth over the baseline subprocess."""
    width: int = 0
    height: int = 0
    format: str = ""

    @property
    def finished(self) -> bool:
        return self.seconds is not None and self.mb is not None

    def describe(self) -> str:
        if self.outcome == "stored":
            return f"stored {self.width}x{self.height} {self.format}"
        if self.outcome == "made":
            return f"{self.width}x{self.height}"
        return f"{self.outcome}: {self.message}" if self.message else self.outcome


@dataclass(frozen=True)
class Row:
    name: str
    size: int
    upload: Step
    xxl: Step | None
    """None when there was nothing to render (refused, failed, or SVG)."""


def _limit_address_space(limit: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _child(mode: str, args: list[str], *, timeout: float, limit: int) -> dict:
    """Run CHILD once; its JSON result, or the way it failed to produce one."""
    try:
        process = subprocess.run(
            [sys.executable, "-c", CHILD, mode, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
            preexec_fn=partial(_limit_address_space, limit),
        )
    except subprocess.TimeoutExpired:  # run() has killed the child by now
        return {"outcome": "timeout", "message": f"over {timeout:.0f} s"}
    lines = process.stdout.strip().splitlines()
    if process.returncode == 0 and lines:
        return json.loads(lines[-1])
    if any(sign in process.stderr for sign in _OUT_OF_MEMORY_SIGNS):
        return {"outcome": "out of memory", "message": f"over {limit / 2**30:.0f} GB of address"}
    if process.returncode < 0:
        return {"outcome": "crashed", "message": signal.Signals(-process.returncode).name}
    last = (process.stderr.strip().splitlines() or ["no output"])[-1]
    return {"outcome": "error", "message": f"exit {process.returncode}: {last}"}


def _measure(
    mode: str, source: Path, extra: list[str], baseline: float, *, timeout: float, limit: int
) -> Step:
    result = _child(mode, [str(source), *extra], timeout=timeout, limit=limit)
    peak = result.get("peak_mb")
    return Step(
        outcome=result["outcome"],
        message=result.get("message", ""),
        seconds=result.get("seconds"),
        mb=None if peak is None else peak - baseline,
        width=result.get("width", 0),
        height=result.get("height", 0),
        format=result.get("format", ""),
    )


def _baseline(source: Path, *, timeout: float, limit: int) -> float:
    result = _child("baseline", [str(source)], timeout=timeout, limit=limit)
    if "peak_mb" not in result:
        raise SystemExit(f"the baseline subprocess failed: {result}")
    return result["peak_mb"]


def measure_file(name: str, data: bytes, workdir: Path, *, timeout: float, limit: int) -> Row:
    """Upload `data`, then render xxl of what was stored; each in its own subprocess."""
    source, stored = workdir / "input", workdir / "stored"
    stored.unlink(missing_ok=True)
    source.write_bytes(data)
    upload = _measure(
        "upload",
        source,
        [str(stored)],
        _baseline(source, timeout=timeout, limit=limit),
        timeout=timeout,
        limit=limit,
    )
    xxl = None
    if upload.outcome == "stored" and upload.format != "svg":
        xxl = _measure(
            "xxl",
            stored,
            [upload.format],
            _baseline(stored, timeout=timeout, limit=limit),
            timeout=timeout,
            limit=limit,
        )
    return Row(name, len(data), upload, xxl)


def within(row: Row, yardstick: Step | None) -> str:
    """ "yes" when every step of `row` took no more time and memory than the yardstick."""
    if yardstick is None or not yardstick.finished:
        return "?"
    steps = [row.upload] if row.xxl is None else [row.upload, row.xxl]
    fits = all(
        step.finished and step.seconds <= yardstick.seconds and step.mb <= yardstick.mb
        for step in steps
    )
    return "yes" if fits else "**no**"


def _cell(text: str, limit: int = 140) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _seconds(step: Step | None) -> str:
    if step is None:
        return "-"
    if step.seconds is None:
        return _cell(step.describe())
    failed = step.outcome not in ("stored", "made", "refused")
    return f"{step.seconds:.2f} s" + (f" ({_cell(step.describe())})" if failed else "")


def _mb(step: Step | None) -> str:
    # A refusal from the header grows the heap by less than the baseline's own noise.
    return "-" if step is None or step.mb is None else f"{max(step.mb, 0.0):.0f}"


def table(rows: list[Row], yardstick_name: str) -> str:
    yardstick = next((row.upload for row in rows if row.name == yardstick_name), None)
    lines = [
        "| file | bytes | upload time | upload MB | outcome | xxl time | xxl MB | <= 48 MP HEIC? |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        verdict = "(yardstick)" if row.name == yardstick_name else within(row, yardstick)
        lines.append(
            f"| {row.name} | {row.size:,} | {_seconds(row.upload)} | {_mb(row.upload)} | "
            f"{_cell(row.upload.describe())} | {_seconds(row.xxl)} | {_mb(row.xxl)} | {verdict} |"
        )
    return "\n".join(lines)


def environment() -> str:
    import PIL
    import pillow_heif

    return (
        f"{date.today().isoformat()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"Pillow {PIL.__version__}, pillow-heif {pillow_heif.__version__} "
        f"(libheif {pillow_heif.libheif_version()})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    names = [entry.name for entry in CORPUS]
    parser.add_argument(
        "--only", nargs="+", metavar="NAME", choices=names, help="corpus entries to measure"
    )
    parser.add_argument(
        "--megapixels", type=int, default=48, help="size of the legitimate JPEG and HEIC"
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per subprocess")
    parser.add_argument(
        "--memory-limit-gb", type=float, default=6.0, help="address space per subprocess"
    )
    args = parser.parse_args()
    limit = int(args.memory_limit_gb * 2**30)
    entries = [entry for entry in CORPUS if args.only is None or entry.name in args.only]

    jpeg_name = f"legit-photo-{args.megapixels}mp-jpeg"
    heic_name = f"legit-photo-{args.megapixels}mp-heic"
    # The legitimate files first: the yardstick is known before the first hostile row.
    cases: list[tuple[str, Callable[[], bytes]]] = [
        (jpeg_name, partial(legit_photo_jpeg, args.megapixels)),
        (heic_name, partial(legit_photo_heic, args.megapixels)),
        *((entry.name, entry.build) for entry in entries),
    ]
    rows = []
    with tempfile.TemporaryDirectory(prefix="imgpro-hostile-") as tmp:
        for number, (name, build) in enumerate(cases, 1):
            started = time.perf_counter()
            data = build()
            made = time.perf_counter() - started
            row = measure_file(name, data, Path(tmp), timeout=args.timeout, limit=limit)
            rows.append(row)
            print(
                f"[{number}/{len(cases)}] {name}: {len(data):,} bytes (made in {made:.1f} s); "
                f"upload {_seconds(row.upload)}, {_mb(row.upload)} MB, "
                f"{_cell(row.upload.describe(), 80)}; xxl {_seconds(row.xxl)}, {_mb(row.xxl)} MB",
                file=sys.stderr,
                flush=True,
            )
    print(f"Measured {environment()}; timeout {args.timeout:.0f} s, {args.memory_limit_gb:g} GB.")
    print()
    print(table(rows, heic_name))
    yardstick = rows[1].upload
    if yardstick.finished:
        print()
        print(
            f"Yardstick: the {args.megapixels} MP HEIC's upload, {yardstick.seconds:.2f} s and "
            f"{yardstick.mb:.0f} MB; every step of a file must be within both."
        )


if __name__ == "__main__":
    main()
