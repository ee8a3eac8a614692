"""Cold start: what each function's handler module costs to import, in fresh interpreters.

Times are the child's CPU time (`time.process_time`), which a busy neighbour inflates
far less than wall time. Every figure is a ratio against `import boto3, pynamodb.models`
(what any function that touches the table or the bucket needs at the least) timed in
the same round, each round a new `python` process per handler, interleaved, so drift in
the shared machine's speed cancels out. `import boto3, pynamodb` alone is shown too
(the issue's wording; pynamodb's package is nearly empty without its models).

Columns: the median import time with `.pyc` (as Lambda runs a warm layer), the ratio to
the reference, the same without `.pyc` (`-B` and a fresh `PYTHONPYCACHEPREFIX`, i.e. what
a layer built without byte-code costs), and the `imgpro` modules the handler loaded.

    .venv/bin/python bench/cold_start.py [--runs 7] [--only get_media,...] [--modules]
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
LAYER = ROOT / "layers" / "core" / "python"
FUNCTIONS = ROOT / "functions"
API_TARGET = 1.2

CHILD = r"""
import json, sys, time
what = sys.argv[1]
before = set(sys.modules)
started = time.process_time()
if what == "@boto3+pynamodb.models":
    import boto3, pynamodb.models
elif what == "@boto3+pynamodb":
    import boto3, pynamodb
else:
    sys.path.insert(0, what)
    import handler
took = time.process_time() - started
loaded = sorted(set(sys.modules) - before)
print(json.dumps({"seconds": took, "modules": loaded}))
"""
REFERENCE = "@boto3+pynamodb.models"
BARE = "@boto3+pynamodb"


def environment(pycache: str | None) -> dict[str, str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(LAYER),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "POWERTOOLS_METRICS_NAMESPACE": "imgpro",
        "TABLE_NAME": "bench",
        "BUCKET_NAME": "bench",
    }
    if pycache is not None:
        env["PYTHONPYCACHEPREFIX"] = pycache
    return env


def run(what: str, *, pyc: bool) -> dict[str, object]:
    if pyc:
        command = [sys.executable, "-c", CHILD, what]
        env = environment(None)
    else:
        command = [sys.executable, "-B", "-c", CHILD, what]
        # An empty cache prefix that -B never writes to: nothing is read from .pyc.
        env = environment(tempfile.mkdtemp(prefix="imgpro-nopyc-"))
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"importing {what} failed:\n{done.stderr}")
    result: dict[str, object] = json.loads(done.stdout)
    return result


def api_functions() -> set[str]:
    sys.path.insert(0, str(LAYER))
    from imgpro.routes import ROUTES

    return {route.function for route in ROUTES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--nopyc-runs", type=int, help="rounds that also time the import without .pyc (all)"
    )
    parser.add_argument("--only", default="", help="comma-separated function names")
    parser.add_argument("--modules", action="store_true", help="list each handler's imgpro modules")
    args = parser.parse_args()
    names = sorted(p.name for p in FUNCTIONS.iterdir() if (p / "handler.py").is_file())
    if args.only:
        names = [n for n in names if n in args.only.split(",")]
    targets = [REFERENCE, BARE, *(str(FUNCTIONS / n) for n in names)]
    api = api_functions()
    for target in targets:  # warm the .pyc files and the page cache
        run(target, pyc=True)

    times: dict[str, list[float]] = {t: [] for t in targets}
    cold: dict[str, list[float]] = {t: [] for t in targets}
    modules: dict[str, list[str]] = {}
    for round_ in range(args.runs):
        order = targets if round_ % 2 == 0 else list(reversed(targets))
        for target in order:
            warm = run(target, pyc=True)
            times[target].append(float(warm["seconds"]))  # type: ignore[arg-type]
            modules[target] = list(warm["modules"])  # type: ignore[call-overload]
            if args.nopyc_runs is None or round_ < args.nopyc_runs:
                cold[target].append(float(run(target, pyc=False)["seconds"]))  # type: ignore[arg-type]

    def ratios(target: str, series: dict[str, list[float]]) -> float:
        # Per round, against the reference of the same round: the median of those.
        pairs = zip(series[target], series[REFERENCE], strict=True)  # rounds of the same length
        return statistics.median(a / b for a, b in pairs)

    reference_ms = statistics.median(times[REFERENCE]) * 1000
    bare_ms = statistics.median(times[BARE]) * 1000
    print(
        f"Reference `import boto3, pynamodb.models`: {reference_ms:.0f} ms with .pyc, "
        f"{statistics.median(cold[REFERENCE]) * 1000:.0f} ms without "
        f"(`import boto3, pynamodb`: {bare_ms:.0f} ms); {args.runs} rounds, medians.\n"
    )
    print(
        "| function | kind | ms | vs boto3+pynamodb.models | vs boto3+pynamodb | ms no .pyc "
        "| ratio no .pyc | imgpro modules | Pillow | target |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    missed = 0
    for name in names:
        target = str(FUNCTIONS / name)
        loaded = modules[target]
        own = [m for m in loaded if m == "imgpro" or m.startswith("imgpro.")]
        pillow = any(m == "PIL" for m in loaded)
        ratio = ratios(target, times)
        bare = statistics.median(a / b for a, b in zip(times[target], times[BARE], strict=True))
        kind = "API" if name in api else "worker"
        verdict = "info"
        if kind == "API":
            verdict = "OK" if ratio <= API_TARGET else f"missed by {ratio / API_TARGET:.2f}x"
            missed += verdict != "OK"
        print(
            f"| {name} | {kind} | {statistics.median(times[target]) * 1000:.0f} | {ratio:.2f} "
            f"| {bare:.2f} | {statistics.median(cold[target]) * 1000:.0f} "
            f"| {ratios(target, cold):.2f} | {len(own)} | {'yes' if pillow else 'no'} | {verdict} |"
        )
    if args.modules:
        print()
        for name in names:
            own = [m for m in modules[str(FUNCTIONS / name)] if m.startswith("imgpro")]
            print(f"- **{name}**: {', '.join(m.removeprefix('imgpro.') for m in own)}")
    sys.exit(1 if missed and os.environ.get("BENCH_STRICT") else 0)


if __name__ == "__main__":
    main()
