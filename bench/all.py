"""Every benchmark, one after the other, with settings that fit `make bench` in under ten
minutes on the 2-core development machine; the tables go to stdout and to
bench/RESULTS.md, headed by the date and the machine they came from.

    .venv/bin/python bench/all.py [--only cold_start,request_cost,...] [--output PATH]

Each benchmark's own script takes more rounds for steadier figures (bench/README.md says
how to run each and what it measures); the settings here trade rounds for time.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# (name, title, arguments, timeout in seconds): the order is the issue's.
BENCHMARKS = (
    ("cold_start", "Cold start: each handler's imports", ["--runs", "5", "--nopyc-runs", "2"], 300),
    ("request_cost", "Request cost: AWS calls and capacity per request", [], 120),
    (
        "upload_path",
        "Upload path: `POST /v1/upload` against the S3 put of its bytes",
        ["--rounds", "7"],
        240,
    ),
    ("variants", "Variants against libvips", ["--rounds", "2"], 420),
    ("variant_memory", "Variants: peak memory of a 24 MP -> xxl render", ["--rounds", "3"], 120),
    ("hostile", "Hostile inputs", ["--timeout", "60"], 420),
    ("local_stack", "The local stack under load", ["--requests", "100", "--uploads", "20"], 240),
)


def machine() -> str:
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        total_kb = int(meminfo.read_text().split()[1])
        memory = f", {total_kb / 2**20:.0f} GiB"
    load = f", load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    return (
        f"{os.cpu_count()} cores ({cpu}){memory}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}{load} at the start"
    )


def versions() -> str:
    found = []
    for name in ("PIL", "pillow_heif", "pyvips", "boto3", "moto"):
        try:
            module = __import__(name)
        except ImportError:  # a missing package is left out, not fatal
            continue
        found.append(f"{name} {getattr(module, '__version__', '?')}")
    return ", ".join(found)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help="comma-separated benchmark names")
    parser.add_argument("--output", default=str(HERE / "RESULTS.md"))
    args = parser.parse_args()
    chosen = [b for b in BENCHMARKS if not args.only or b[0] in args.only.split(",")]
    started = time.monotonic()
    header = [
        "# Benchmark results",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `make bench` (bench/all.py) on "
        f"{machine()}; {versions()}.",
        "",
        "Every figure is a ratio against a reference measured in the same run; bench/README.md "
        "says what each benchmark measures, its targets, and where and why one is missed.",
    ]
    sections: list[str] = []
    failed = []
    for name, title, arguments, timeout in chosen:
        print(f"== {name} ({title})", flush=True)
        begun = time.monotonic()
        try:
            done = subprocess.run(
                [sys.executable, str(HERE / f"{name}.py"), *arguments],
                capture_output=True,
                text=True,
                timeout=timeout,
                cwd=ROOT,
                check=False,
            )
            output, status = done.stdout, f"exit {done.returncode}"
            # A benchmark exits 1 when a target is missed: its table says so. One that
            # printed no table crashed.
            if "|---" not in output:
                failed.append(name)
                output += f"\n```\n{done.stderr[-3000:]}\n```\n"
        except subprocess.TimeoutExpired as expired:
            failed.append(name)
            partial = expired.stdout or b""
            output = partial.decode() if isinstance(partial, bytes) else partial
            status = f"timed out after {timeout} s"
        took = time.monotonic() - begun
        print(output, flush=True)
        command = " ".join(["bench/" + name + ".py", *arguments])
        sections += [
            f"## {title}",
            "",
            f"`{command}`: {status}, {took:.0f} s",
            "",
            output.strip(),
            "",
        ]
    total = time.monotonic() - started
    header += ["", f"All of it took {total / 60:.1f} minutes.", ""]
    Path(args.output).write_text("\n".join(header + sections))
    print(f"== {len(chosen)} benchmarks in {total / 60:.1f} min; tables in {args.output}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
