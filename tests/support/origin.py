"""A remote server to import from, on loopback: what `POST /v1/import` fetches in tests.

Real HTTP over a real socket (http.server), so the fetcher's streaming, deadlines and
redirects are exercised for real. It records every request, so a test can prove that a
refused import never reached it. Paths:

- `/photo.jpg`, `/pic.png`: an image; `/named`: an image with a Content-Disposition name
- `/missing`: 404; `/broken`: 500; `/text`: a text/plain body that is not an image
- `/hop/N`: a redirect chain of N hops ending at `/photo.jpg`
- `/slow`: starts an image, then drips a byte every 0.2 s for a minute
- `/endless`: a body that never ends (until the client hangs up)
- `/huge`: declares and sends 150 MB
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support import images

PHOTO = images.encode(images.photo((600, 400)), "JPEG", quality=85)
PNG = images.png((64, 48))
_CHUNK = b"\0" * 65536


@dataclass
class Origin:
    base_url: str
    requests: list[str] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.server.origin.requests.append(self.path)
        path = self.path.split("?")[0]
        # The client hanging up is on purpose here: a cap or a deadline.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._route(path)

    def _route(self, path: str) -> None:
        if path == "/photo.jpg":
            self._send(200, PHOTO, "image/jpeg")
        elif path == "/pic.png":
            self._send(200, PNG, "image/png")
        elif path == "/named":
            self._send(
                200, PHOTO, "image/jpeg", {"Content-Disposition": 'inline; filename="Holiday.jpg"'}
            )
        elif path == "/missing":
            self._send(404, b"not here", "text/plain")
        elif path == "/broken":
            self._send(500, b"oops", "text/plain")
        elif path == "/text":
            self._send(200, b"hello, not an image", "text/plain")
        elif path.startswith("/hop/"):
            left = int(path.rsplit("/", 1)[1])
            target = "/photo.jpg" if left <= 1 else f"/hop/{left - 1}"
            self._send(302, b"", "text/plain", {"Location": target})
        elif path == "/slow":
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.end_headers()
            self.wfile.write(PHOTO[:100])
            for byte in PHOTO[100:400]:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.2)
        elif path in ("/endless", "/huge"):
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            if path == "/huge":
                self.send_header("Content-Length", str(2 + 2_400 * len(_CHUNK)))
            self.end_headers()
            self.wfile.write(PHOTO[:2])
            for _ in range(2_400 if path == "/huge" else 1_000_000):
                self.wfile.write(_CHUNK)
        else:
            self._send(404, b"no such path", "text/plain")

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    origin: Origin


@contextmanager
def serving() -> Iterator[Origin]:
    """An origin on 127.0.0.1 and a free port, for the duration of the block."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.origin = Origin(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.origin
    finally:
        server.shutdown()
        server.server_close()
