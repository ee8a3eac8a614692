"""Latency of the local stack (`imgpro local`), as a ratio to its own `GET /`.

    .venv/bin/python bench/local_stack.py [--requests N] [--concurrency 1,8] [--media N]
    .venv/bin/python bench/local_stack.py --base http://127.0.0.1:8787 --token '1|...'

Starts `imgpro local` in a subprocess on free ports (or measures a running one given
`--base` and `--token`; it then needs `--rate-limit off` or a budget for the requests),
uploads `--media` small public images, then times, each over `--requests` requests:

- `GET /` (service info: a handler that calls neither S3 nor DynamoDB): the floor;
- `GET /v1/media/{id}` (one DynamoDB read);
- `GET /v1/media?limit=50` (a list page of 50);
- `POST /v1/upload` (a 64x64 PNG).

each at every concurrency, with keep-alive (one `http.client` connection per thread,
reused) and with a new connection per request (as curl does). Prints a markdown table:
requests per second, p50 and p99 in ms, and p50 as a multiple of the floor's p50 in the
same mode. The machine is shared: read the ratios, not the milliseconds.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
SECRET = "local-stack-bench-secret"
LIST_LIMIT = 50


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Result:
    name: str
    mode: str
    concurrency: int
    seconds: list[float]
    wall: float
    errors: int

    @property
    def rps(self) -> float:
        return len(self.seconds) / self.wall if self.wall else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.seconds)
        if not ordered:
            return float("nan")
        index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
        return ordered[index] * 1000


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 64), (uuid.uuid4().int % 256, 90, 120)).save(out, "PNG")
    return out.getvalue()


def _multipart(fields: dict[str, str], file: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        )
    head = "".join(parts).encode()
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="b.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()
    body = head + file + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def upload_request(token: str) -> Request:
    body, content_type = _multipart({"public": "1", "tags": "bench"}, _png())
    return Request(
        "POST",
        "/v1/upload",
        body,
        (("Authorization", f"Bearer {token}"), ("Content-Type", content_type)),
    )


class Client:
    """One thread's connection: kept alive, or new for every request."""

    def __init__(self, host: str, port: int, *, keep_alive: bool) -> None:
        self.host, self.port, self.keep_alive = host, port, keep_alive
        self._conn: http.client.HTTPConnection | None = None

    def send(self, request: Request) -> tuple[int, bytes]:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        headers = dict(request.headers)
        if not self.keep_alive:
            headers["Connection"] = "close"
        try:
            self._conn.request(request.method, request.path, request.body or None, headers)
            response = self._conn.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        if not self.keep_alive or response.will_close:
            self.close()
        return response.status, body

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def run(
    host: str,
    port: int,
    name: str,
    make: Callable[[], Request],
    *,
    count: int,
    concurrency: int,
    keep_alive: bool,
    expect: int = 200,
) -> Result:
    """`count` requests from `concurrency` threads, after one warm-up request per thread."""
    # Built beforehand so that making a request (an upload's PNG) is not timed.
    requests = [make() for _ in range(count)]
    lock = threading.Lock()
    seconds: list[float] = []
    errors = [0]
    barrier = threading.Barrier(concurrency + 1)

    def worker() -> None:
        client = Client(host, port, keep_alive=keep_alive)
        client.send(make())  # warm-up: the connection, the handler's cold start
        barrier.wait()
        while True:
            with lock:
                if not requests:
                    break
                request = requests.pop()
            start = time.perf_counter()
            try:
                status, _ = client.send(request)
            except (OSError, http.client.HTTPException):
                status = 0
            elapsed = time.perf_counter() - start
            with lock:
                seconds.append(elapsed)
                if status != expect:
                    errors[0] += 1
        client.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    mode = "keep-alive" if keep_alive else "new conn"
    return Result(name, mode, concurrency, seconds, wall, errors[0])


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_idle(pid: int | None, *, quiet: float = 0.05, window: float = 0.5) -> None:
    """Until the stack's process uses under `quiet` of a core over `window` seconds: the
    workers an upload starts (variants, placeholders) are done, and time nothing else.
    Without the process (`--base`), a fixed pause."""
    if pid is None or not Path(f"/proc/{pid}/stat").exists():
        time.sleep(3)
        return
    deadline = time.monotonic() + 120
    last = _cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(window)
        now = _cpu_seconds(pid)
        if now - last < quiet * window:
            return
        last = now


@contextmanager
def local_stack() -> Iterator[tuple[str, str, int | None]]:
    """`imgpro local` on free ports in a subprocess: (base URL, token)."""
    command = [
        str(ROOT / ".venv" / "bin" / "imgpro"),
        "local",
        "--port",
        "0",
        "--rate-limit",
        "off",
        "--token",
        f"bench:*:{SECRET}",
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    try:
        base = token = None
        assert process.stdout is not None
        for line in process.stdout:
            if match := re.match(r"imgpro local stack: (\S+)", line):
                base = match.group(1)
            if match := re.match(r"token team=bench abilities=\S+ : (\S+)", line):
                token = match.group(1)
            if base and token:
                break
        if not (base and token):
            raise RuntimeError(f"imgpro local did not start (exit {process.poll()})")
        # Drain its request log, so a full pipe never blocks the server.
        threading.Thread(target=process.stdout.read, daemon=True).start()
        yield base, token, process.pid
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def seed(host: str, port: int, token: str, count: int) -> str:
    """Upload `count` public images; the id of the last."""
    client = Client(host, port, keep_alive=True)
    last = ""
    for _ in range(count):
        status, body = client.send(upload_request(token))
        if status != 201:
            raise RuntimeError(f"upload answered {status}: {body[:200]!r}")
        last = json.loads(body)["id"]
    client.close()
    return last


def table(results: list[Result]) -> str:
    floors = {(r.mode, r.concurrency): r.percentile(50) for r in results if r.name == "GET /"}
    lines = [
        "| request | connection | concurrency | req/s | p50 ms | p99 ms | p50 / floor | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        floor = floors.get((r.mode, r.concurrency))
        ratio = f"{r.percentile(50) / floor:.2f}" if floor else "-"
        lines.append(
            f"| {r.name} | {r.mode} | {r.concurrency} | {r.rps:.1f} | {r.percentile(50):.1f} "
            f"| {r.percentile(99):.1f} | {ratio} | {r.errors} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per row")
    parser.add_argument("--uploads", type=int, default=50, help="requests per upload row")
    parser.add_argument("--concurrency", default="1,8", help="comma-separated thread counts")
    parser.add_argument("--media", type=int, default=LIST_LIMIT, help="images to seed")
    parser.add_argument("--modes", default="keep-alive,new", help="keep-alive, new, or both")
    parser.add_argument("--base", help="a running stack's base URL (default: start one)")
    parser.add_argument("--token", help="with --base: a token with read and write")
    parser.add_argument("--only", help="comma-separated row names: root,get,list,upload")
    args = parser.parse_args()

    stack = local_stack() if args.base is None else _given(args.base, args.token)
    with stack as (base, token, pid):
        parts = urlsplit(base)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        media_id = seed(host, port, token, args.media)
        wait_idle(pid)
        auth = (("Authorization", f"Bearer {token}"),)
        rows: list[tuple[str, str, Callable[[], Request], int, int]] = [
            ("root", "GET /", lambda: Request("GET", "/"), 200, args.requests),
            (
                "get",
                "GET /v1/media/{id}",
                lambda: Request("GET", f"/v1/media/{media_id}"),
                200,
                args.requests,
            ),
            (
                "list",
                f"GET /v1/media?limit={LIST_LIMIT}",
                lambda: Request("GET", f"/v1/media?limit={LIST_LIMIT}", headers=auth),
                200,
                args.requests,
            ),
            ("upload", "POST /v1/upload", lambda: upload_request(token), 201, args.uploads),
        ]
        only = set(args.only.split(",")) if args.only else None
        results = []
        for mode in args.modes.split(","):
            for concurrency in (int(c) for c in args.concurrency.split(",")):
                for key, name, make, expect, count in rows:
                    if only is not None and key not in only and key != "root":
                        continue
                    result = run(
                        host,
                        port,
                        name,
                        make,
                        count=count,
                        concurrency=concurrency,
                        keep_alive=mode == "keep-alive",
                        expect=expect,
                    )
                    results.append(result)
                    if key == "upload":
                        wait_idle(pid)
                    print(
                        f"{name} {result.mode} c={concurrency}: p50 {result.percentile(50):.1f} ms",
                        file=sys.stderr,
                    )
    print(
        f"\n{time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, {os.cpu_count()} cores, "
        f"Python {sys.version.split()[0]}, {args.requests} requests a row "
        f"({args.uploads} uploads)\n"
    )
    print(table(results))
    if any(r.errors for r in results):
        sys.exit(1)


@contextmanager
def _given(base: str, token: str | None) -> Iterator[tuple[str, str, int | None]]:
    if not token:
        raise SystemExit("--base needs --token")
    yield base, token, None


if __name__ == "__main__":
    main()
