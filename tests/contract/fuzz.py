"""Fuzz the local stack against its own OpenAPI document with schemathesis.

Run inside a loopback-only network namespace (test_fuzz.py does it with `unshare -n`):
the fuzzer sends imports of made-up URLs, and no name it makes up may be looked up, nor
any packet leave the machine. Starts `imgpro local`, runs `schemathesis run` on
`/openapi.json` (tests/contract/schemathesis.toml says what is checked), and fails when
schemathesis does or when the stack logged a traceback. Exit status: schemathesis's, or 1.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
_BASE_URL = re.compile(r"^imgpro local stack: (\S+)$", re.MULTILINE)
_TOKEN = re.compile(r"^token team=\S+ abilities=\S+ : (\S+)$", re.MULTILINE)
START_TIMEOUT_S = 60
SEED = os.environ.get("IMGPRO_FUZZ_SEED", "20261206")
"""Fixed so that a red run reproduces; set IMGPRO_FUZZ_SEED to explore other inputs."""


def main() -> int:
    if os.environ.get("IMGPRO_FUZZ_IN_NAMESPACE") != "1":
        print("fuzz.py runs in a loopback-only namespace: use test_fuzz.py", file=sys.stderr)
        return 2
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    logs = Path(tempfile.mkdtemp(prefix="imgpro-fuzz-"))
    secret = secrets.token_urlsafe(24)
    stdout_path, stderr_path = logs / "stdout.log", logs / "stderr.log"
    with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
        stack = subprocess.Popen(
            [sys.executable, "-m", "imgpro.cli", "local", "--port", "0", "--aws-port", "0",
             "--token", f"fuzz:*:{secret}", "--rate-limit", "100000/1000000"],
            cwd=REPO,
            stdout=stdout,
            stderr=stderr,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "IMGPRO_IMPORT_DEADLINE_SECONDS": "2"},
        )  # fmt: skip
    try:
        base_url, token = _announced(stack, stdout_path)
        _wait_until_ready(base_url)
        command = [
            str(Path(sys.executable).with_name("schemathesis")),
            "--config-file", str(HERE / "schemathesis.toml"),
            "--no-color",
            "run", f"{base_url}/openapi.json",
            "--header", f"Authorization: Bearer {token}",
            "--seed", SEED,
        ]  # fmt: skip
        print("$", " ".join(command).replace(token, "[token]"), flush=True)
        status = subprocess.run(command, cwd=REPO).returncode
    finally:
        stack.terminate()
        try:
            stack.wait(timeout=15)
        except subprocess.TimeoutExpired:
            stack.kill()
    logged = stderr_path.read_text(errors="replace") + stdout_path.read_text(errors="replace")
    if "Traceback (most recent call last)" in logged:
        print("the local stack logged a traceback:\n" + logged[-8000:], flush=True)
        return status or 1
    return status


def _announced(stack: subprocess.Popen[bytes], stdout_path: Path) -> tuple[str, str]:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        printed = stdout_path.read_text(errors="replace")
        base_url, token = _BASE_URL.search(printed), _TOKEN.search(printed)
        if base_url and token:
            return base_url.group(1), token.group(1)
        if stack.poll() is not None:
            break
        time.sleep(0.1)
    raise SystemExit(f"imgpro local did not start:\n{stdout_path.read_text(errors='replace')}")


def _wait_until_ready(base_url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base_url + "/", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"GET {base_url}/ did not answer within {START_TIMEOUT_S} s")


if __name__ == "__main__":
    sys.exit(main())
