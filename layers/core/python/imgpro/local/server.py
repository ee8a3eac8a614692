"""The HTTP transport: sockets in, `Gateway.dispatch`, sockets out.

HTTP/1.1 with keep-alive, so every response carries an exact Content-Length. The
body is read by Content-Length and refused before it is read when it is over API
Gateway's limit, so no handler ever sees a request the deployed API would refuse.
"""

from __future__ import annotations

import json
import logging
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from typing import Any

from imgpro import observability
from imgpro.local.events import HttpRequest, HttpResponse
from imgpro.local.gateway import (
    MAX_BODY_BYTES,
    Gateway,
    bad_request,
    length_required,
    too_large,
)
from imgpro.routes import BODY_TOO_LARGE

# A refused body is read and thrown away up to this size, so the client can finish
# sending and read the 413 instead of a reset connection; beyond it the server hangs up.
_DISCARD_LIMIT = 128 * 1024 * 1024
_CHUNK = 1024 * 1024
# Set by the transport itself, whatever a handler or the CDN says.
_TRANSPORT_HEADERS = frozenset({"content-length", "connection", "keep-alive", "transfer-encoding"})
_NO_BODY_STATUSES = frozenset({204, 304})
# A body up to this size goes out in the same write as the headers (copied once to join
# them); a larger one follows them in a write of its own, with TCP_NODELAY set.
_COALESCE_LIMIT = 1024 * 1024

logger = logging.getLogger("imgpro.local")

_TRANSPORT_ERRORS: dict[int, tuple[str, str]] = {
    400: ("The request line or a header is malformed", "bad_request"),
    414: ("The request line is too long (at most 64 KiB)", "uri_too_long"),
    431: ("A header line is too long, or there are too many headers", "headers_too_large"),
    505: ("Only HTTP/1.0 and HTTP/1.1 are supported", "http_version_not_supported"),
}


class LocalHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 resets connections when a client opens
    # twenty at once (a browser page of thumbnails does); the kernel caps it anyway.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], gateway: Gateway) -> None:
        host = address[0]
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.gateway = gateway
        self.stopping = threading.Event()
        """Set as the stack stops: connections close after their request, errors go unlogged."""
        self._in_progress = 0
        self._idle = threading.Condition()
        super().__init__(address, _RequestHandler)

    def server_bind(self) -> None:
        if self.address_family == socket.AF_INET6 and self.server_address[0] == "::":
            # Accept IPv4 too on the IPv6 wildcard, like `python -m http.server`.
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        # HTTPServer.server_bind resolves the host's FQDN, which can stall for
        # seconds on a laptop without DNS; the name is never used here.
        TCPServer.server_bind(self)
        self.server_name = str(self.server_address[0])
        self.server_port = int(self.server_address[1])

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-response is not a server error worth a traceback,
        # nor is a request cut short by the stack stopping under it.
        if self.stopping.is_set() or isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)

    @contextmanager
    def serving_request(self) -> Iterator[None]:
        """Count the request as in progress while the block runs (`wait_idle`)."""
        with self._idle:
            self._in_progress += 1
        try:
            yield
        finally:
            with self._idle:
                self._in_progress -= 1
                self._idle.notify_all()

    def wait_idle(self, timeout: float) -> int:
        """Wait up to `timeout` seconds for requests in progress to end; how many have not.

        Idle keep-alive connections do not count: their threads are daemons, and wait
        for a request that will not come."""
        with self._idle:
            self._idle.wait_for(lambda: self._in_progress == 0, timeout=max(0.0, timeout))
            return self._in_progress


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "imgpro-local"
    # TCP_NODELAY on every connection (StreamRequestHandler.setup). A response is one
    # write (`_end_headers_and_write`), but http.server's own (100 Continue) and a body
    # over `_COALESCE_LIMIT` are two, and neither should wait on the client's delayed ACK.
    disable_nagle_algorithm = True
    # Idle keep-alive connections are closed after this, so they do not hold threads.
    timeout = 120
    server: LocalHttpServer
    _headers_buffer: list[bytes]  # http.server's, which typeshed leaves out

    def do_GET(self) -> None:
        self._serve()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, QUERY, PROPFIND…) reaches the gateway too, which answers
        # one no route takes as API Gateway does (JSON 404), not http.server's HTML 501.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (a request line or header over 64 KiB, too many
        headers, bad syntax) in the seed's JSON error shape instead of an HTML page; the
        connection is closed, as the request could not be read to its end."""
        error, error_code = _TRANSPORT_ERRORS.get(code, (message or "Bad request", "bad_request"))
        body = json.dumps({"error": error, "code": error_code}).encode()
        self.close_connection = True
        if not getattr(self, "request_version", None) or self.request_version == "HTTP/0.9":
            self.request_version = "HTTP/1.1"  # answer in HTTP/1.1 even to a line we refused
        self.send_response(code, message)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self._end_headers_and_write(body if self.command != "HEAD" else b"")

    def version_string(self) -> str:
        return self.server_version

    def handle_expect_100(self) -> bool:
        # Refuse an oversized body before the client sends it, instead of inviting it.
        length = self.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > MAX_BODY_BYTES:
            self._send(too_large(BODY_TOO_LARGE), close=True)
            return False
        return super().handle_expect_100()

    def log_message(self, format: str, *args: Any) -> None:
        logger.info("%s %s", self.address_string(), format % args)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # `_serve` logs its own line once the response is sent; a response http.server
        # sends itself (a refused request line, an early 413) is logged here, in the same
        # form: never the query, which can hold a signed URL's signature.
        if not self._serving:
            line = request_line(getattr(self, "command", None), getattr(self, "path", ""), code)
            logger.info("%s", line)

    _serving = False

    def _serve(self) -> None:
        started = time.perf_counter()
        self._serving = True
        try:
            with self.server.serving_request():
                with observability.watching() as seen:
                    response, close = self._respond()
                # A stopping stack answers what it was asked, then lets the connection go.
                self._send(response, close=close or self.server.stopping.is_set())
        finally:
            self._serving = False
        duration_ms = (time.perf_counter() - started) * 1000
        line = request_line(self.command, self.path, response.status, duration_ms, seen.team_id)
        logger.info("%s", line)

    def _respond(self) -> tuple[HttpResponse, bool]:
        """The response, and whether to close the connection after it."""
        body = self._read_body()
        if isinstance(body, HttpResponse):
            return body, True
        request = HttpRequest(
            method=self.command,
            target=self.path,
            headers=tuple(self.headers.items()),
            body=body,
            source_ip=_client_ip(str(self.client_address[0])),
            protocol=self.request_version,
            server_port=self.server.port,
        )
        return self.server.gateway.dispatch(request), False

    def _read_body(self) -> bytes | HttpResponse:
        """The request body, or the response that refuses it."""
        if self.headers.get("Transfer-Encoding"):
            # API Gateway needs the length up front to apply its limit; so do we.
            return length_required()
        raw_length = self.headers.get("Content-Length")
        if raw_length is None:
            return b""
        if not raw_length.strip().isdigit():
            return bad_request(f"Content-Length {raw_length!r} is not a byte count")
        length = int(raw_length)
        if length > MAX_BODY_BYTES:
            self._discard(length)
            return too_large(BODY_TOO_LARGE)
        body = self.rfile.read(length)
        if len(body) < length:
            raise ConnectionResetError("client closed the connection mid-body")
        return body

    def _discard(self, length: int) -> None:
        if length > _DISCARD_LIMIT:
            return
        remaining = length
        while remaining > 0:
            chunk = self.rfile.read(min(_CHUNK, remaining))
            if not chunk:
                return
            remaining -= len(chunk)

    def _send(self, response: HttpResponse, *, close: bool = False) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() not in _TRANSPORT_HEADERS:
                self.send_header(name, value)
        has_body = response.status not in _NO_BODY_STATUSES and response.status >= 200
        if has_body:
            self.send_header("Content-Length", str(len(response.body)))
        if close:
            self.send_header("Connection", "close")
        self._end_headers_and_write(response.body if has_body and self.command != "HEAD" else b"")

    def _end_headers_and_write(self, body: bytes) -> None:
        """End the headers and send them with `body` in one write.

        Headers and body in two writes on a kept-alive connection meet Nagle's algorithm
        on this side and the client's delayed ACK on the other: the body waits for the ACK
        of the headers, which the client holds back for up to 40 ms (Linux). One write,
        and TCP_NODELAY (`disable_nagle_algorithm`) for a body too big to copy, avoid it."""
        head = b""
        if self.request_version != "HTTP/0.9":  # as `end_headers`: 0.9 has no headers
            self._headers_buffer.append(b"\r\n")
            head = b"".join(self._headers_buffer)
            self._headers_buffer = []
        if len(body) <= _COALESCE_LIMIT:
            self.wfile.write(head + body)
        else:
            self.wfile.write(head)
            self.wfile.write(body)


MAX_LOGGED_PATH = 200


def request_line(
    method: str | None,
    target: str,
    status: int | str,
    duration_ms: float | None = None,
    team_id: str | None = None,
) -> str:
    """The local stack's line for one request, e.g. `GET /v1/media/abc 200 12.3ms team=t_1`:
    the path without its query (a signed URL's is a credential), the team when a token
    authenticated."""
    path = target.split("?", 1)[0].split("#", 1)[0] or "/"
    if len(path) > MAX_LOGGED_PATH:
        path = path[:MAX_LOGGED_PATH] + "..."
    parts = [method or "-", path, str(int(status)) if isinstance(status, int) else status]
    if duration_ms is not None:
        parts.append(f"{duration_ms:.1f}ms")
    if team_id:
        parts.append(f"team={team_id}")
    return " ".join(parts)


def _client_ip(address: str) -> str:
    # On a dual-stack socket an IPv4 client shows as ::ffff:a.b.c.d; API Gateway says a.b.c.d.
    return address.removeprefix("::ffff:") if "." in address else address
