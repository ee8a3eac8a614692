"""The local stack, started once per session as `imgpro local` in a subprocess.

The tests drive it over HTTP like any client. Its stdout and stderr go to files:
a traceback in them during a test fails that test, because the stack answered
something with a logged bug (a 500 or 502) even if the test did not look.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

# The page tests' Chromium and the built playground, for every test of this tier.
from tests.support.browser import browser, built  # noqa: F401

REPO = Path(__file__).resolve().parents[2]
TOKENS = (
    "acme:*:acme-full-secret",
    "acme:read:acme-read-secret",
    "acme:write:acme-write-secret",
    "globex:*:globex-full-secret",
)
# The suite sends far more than 100 requests a minute with one token; test_rate_limits.py
# has a stack of its own with the default limits.
UNTHROTTLED = ("--rate-limit", "100000/1000000")
STACK_FLAGS = (
    "--port",
    "0",
    "--aws-port",
    "0",
    *UNTHROTTLED,
    *(flag for token in TOKENS for flag in ("--token", token)),
    "--team",
    "acme:growth",
    # Imports may reach the tests' own origin on loopback; the second stack below has no
    # such flag, and is as strict as production.
    "--allow-import-from",
    "127.0.0.1/32",
)
# A slow origin should not hold a test for the production deadline of 20 s.
STACK_ENV = {"IMGPRO_IMPORT_DEADLINE_SECONDS": "3"}
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 10
TRACEBACK = "Traceback (most recent call last)"

_BASE_URL = re.compile(r"^imgpro local stack: (\S+)$", re.MULTILINE)
_AWS_ENDPOINT = re.compile(r"^aws endpoint \(moto\): (\S+)$", re.MULTILINE)
_TOKEN = re.compile(r"^token team=(\S+) abilities=(\S+) : (\S+)$", re.MULTILINE)


@dataclass
class LocalStackProcess:
    process: subprocess.Popen[bytes]
    stdout_path: Path
    stderr_path: Path
    base_url: str = ""
    aws_endpoint: str = ""
    tokens: dict[str, str] = field(default_factory=dict)
    """`"team:abilities"` → its `id|secret` Bearer token: `"acme:*"` → `"1|acme-full-secret"`."""

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def output_mark(self) -> tuple[int, int]:
        return self.stdout_path.stat().st_size, self.stderr_path.stat().st_size

    def output_since(self, mark: tuple[int, int]) -> str:
        return _tail(self.stdout_path, mark[0]) + _tail(self.stderr_path, mark[1])


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackProcess]:
    yield from _running_stack(tmp_path_factory.mktemp("local-stack"), env=STACK_ENV)


@pytest.fixture(scope="module")
def short_lived_urls_stack(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LocalStackProcess]:
    """A second stack whose signed URLs expire after 2 seconds, to watch them expire."""
    logs = tmp_path_factory.mktemp("short-lived-urls")
    yield from _running_stack(
        logs, env={"IMGPRO_SIGNED_URL_TTL_SECONDS": "2"}, flags=STRICT_IMPORTS
    )


STRICT_IMPORTS = tuple(
    flag for flag in STACK_FLAGS if flag not in ("--allow-import-from", "127.0.0.1/32")
)


@pytest.fixture(scope="module")
def default_limits_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackProcess]:
    """A stack started without --rate-limit, as `make serve` starts it: 100/1000."""
    logs = tmp_path_factory.mktemp("default-limits")
    yield from _running_stack(
        logs, flags=tuple(flag for flag in STRICT_IMPORTS if flag not in UNTHROTTLED)
    )


def _running_stack(
    logs: Path, env: dict[str, str] | None = None, flags: tuple[str, ...] = STACK_FLAGS
) -> Iterator[LocalStackProcess]:
    stack = _start(logs, env or {}, flags)
    try:
        _wait_until_announced(stack)
        _wait_until_ready(stack)
        yield stack
    finally:
        returncode = _stop(stack.process)
    if returncode != 0:
        pytest.fail(
            f"imgpro local exited with status {returncode} on SIGTERM\n"
            f"--- stderr ({stack.stderr_path}) ---\n{stack.stderr()[-4000:]}"
        )


@pytest.fixture(autouse=True)
def _local_stack_logged_no_traceback(request: pytest.FixtureRequest) -> Iterator[None]:
    if "local_stack" not in request.fixturenames:
        yield
        return
    stack: LocalStackProcess = request.getfixturevalue("local_stack")
    mark = stack.output_mark()
    yield
    logged = stack.output_since(mark)
    if TRACEBACK in logged:
        pytest.fail(f"the local stack logged a traceback during this test:\n{logged[-8000:]}")


def _start(logs: Path, env: dict[str, str], flags: tuple[str, ...]) -> LocalStackProcess:
    stdout_path, stderr_path = logs / "stdout.log", logs / "stderr.log"
    # Files, not pipes: nobody reads a pipe once the stack is up, and a full pipe
    # would block the stack's logging mid-request.
    with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "imgpro.cli", "local", *flags],
            cwd=REPO,
            stdout=stdout,
            stderr=stderr,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
        )
    return LocalStackProcess(process=process, stdout_path=stdout_path, stderr_path=stderr_path)


def _wait_until_announced(stack: LocalStackProcess) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        printed = stack.stdout()
        base_url, aws_endpoint = _BASE_URL.search(printed), _AWS_ENDPOINT.search(printed)
        tokens = {
            f"{team}:{abilities}": token for team, abilities, token in _TOKEN.findall(printed)
        }
        if base_url and aws_endpoint and len(tokens) == len(TOKENS):
            stack.base_url, stack.aws_endpoint = base_url.group(1), aws_endpoint.group(1)
            stack.tokens = tokens
            return
        _fail_if_exited(stack)
        time.sleep(0.1)
    _fail_start(stack, f"did not print its URLs and tokens within {START_TIMEOUT_S} s")


def _wait_until_ready(stack: LocalStackProcess) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            response = requests.get(stack.base_url + "/", timeout=2)
            if response.status_code == 200:
                _wait_until_logged(stack, "GET / 200 ", deadline)
                return
            last = f"{response.status_code} {response.text[:200]}"
        except requests.ConnectionError as error:
            last = str(error)
        _fail_if_exited(stack)
        time.sleep(0.2)
    _fail_start(stack, f"GET / did not answer 200 within {START_TIMEOUT_S} s (last: {last})")


def _wait_until_logged(stack: LocalStackProcess, line: str, deadline: float) -> None:
    """Until the stack has logged `line`: it logs a request just after answering it, so a
    test that marks the output after start must not find the probe's line after its mark."""
    while line not in stack.stderr() and time.monotonic() < deadline:
        _fail_if_exited(stack)
        time.sleep(0.02)


def _fail_if_exited(stack: LocalStackProcess) -> None:
    if stack.process.poll() is not None:
        _fail_start(stack, f"exited with status {stack.process.returncode}")


def _fail_start(stack: LocalStackProcess, why: str) -> None:
    _stop(stack.process)
    pytest.fail(
        f"imgpro local {why}\n--- stdout ---\n{stack.stdout()[-4000:]}"
        f"\n--- stderr ---\n{stack.stderr()[-4000:]}"
    )


def _stop(process: subprocess.Popen[bytes]) -> int:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def _tail(path: Path, offset: int) -> str:
    with path.open("rb") as file:
        file.seek(offset)
        return file.read().decode(errors="replace")
