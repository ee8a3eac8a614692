"""What Powertools' Logger, Metrics and Tracer add to a cold start, on top of boto3 and
pynamodb (what every API handler imports anyway): medians over fresh interpreters.

Each run is a new `python` process that imports boto3 and pynamodb, then times one
step: constructing a Logger, a Metrics, a Tracer (which imports aws-xray-sdk, when it is
installed), or all three. imgpro.observability chose Logger and Metrics from this.

    .venv/bin/python bench/observability_imports.py [--runs 21]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

CHILD = r"""
import json, sys, time
started = time.perf_counter()
import boto3, pynamodb.models
base = time.perf_counter() - started
step = sys.argv[1]
started = time.perf_counter()
if step in ("logger", "all"):
    from aws_lambda_powertools import Logger
    Logger(service="imgpro")
if step in ("metrics", "all"):
    from aws_lambda_powertools import Metrics
    Metrics(namespace="imgpro", service="imgpro")
if step in ("tracer", "all"):
    from aws_lambda_powertools import Tracer
    Tracer(service="imgpro")
print(json.dumps({"base": base, "step": time.perf_counter() - started}))
"""
STEPS = ("logger", "metrics", "tracer", "all")
# As in Lambda: Tracer does nothing (and imports nothing) outside it.
ENVIRONMENT = {
    "PATH": "/usr/bin:/bin",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_LAMBDA_FUNCTION_NAME": "bench",
    "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=21)
    runs = parser.parse_args().runs
    base: list[float] = []
    steps: dict[str, list[float]] = {step: [] for step in STEPS}
    for _ in range(runs):
        for step in STEPS:
            done = subprocess.run(
                [sys.executable, "-c", CHILD, step],
                capture_output=True,
                text=True,
                check=True,
                env=ENVIRONMENT,
            )
            timing = json.loads(done.stdout)
            base.append(timing["base"])
            steps[step].append(timing["step"])
    baseline = statistics.median(base)
    print(f"import boto3, pynamodb: median {baseline * 1000:.1f} ms ({len(base)} processes)")
    for step, times in steps.items():
        cost = statistics.median(times)
        print(f"+ {step:8s} median {cost * 1000:6.1f} ms  (x{(baseline + cost) / baseline:.2f})")


if __name__ == "__main__":
    main()
