"""How the local server puts a response on the wire: headers and body in one write, on a
socket with TCP_NODELAY. Written as two, a kept-alive connection's body waited for the
client's delayed ACK of the headers (about 40 ms on Linux): every request took 40 ms.

Structural, never timed: a spy handler records each socket write and the socket option.
"""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from imgpro.local import server as local_server
from imgpro.local.events import HttpRequest, HttpResponse
from imgpro.local.server import LocalHttpServer


class _Gateway:
    def __init__(self) -> None:
        self.body = b'{"ok": true}'

    def dispatch(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(200, (("Content-Type", "application/json"),), self.body)


class _Writes:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.writes: list[bytes] = []
        self.nodelay: list[int] = []

    def take(self) -> list[bytes]:
        with self.lock:
            taken, self.writes = self.writes, []
            return taken


@pytest.fixture
def served() -> Iterator[tuple[LocalHttpServer, _Gateway, _Writes]]:
    gateway = _Gateway()
    seen = _Writes()

    class Spy(local_server._RequestHandler):
        def setup(self) -> None:
            super().setup()
            with seen.lock:
                seen.nodelay.append(
                    self.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
                )
            real = self.wfile.write

            def write(data: Any) -> int:
                with seen.lock:
                    seen.writes.append(bytes(data))
                return real(data)

            self.wfile.write = write  # type: ignore[method-assign]

    httpd = LocalHttpServer(("127.0.0.1", 0), gateway)  # type: ignore[arg-type]
    httpd.RequestHandlerClass = Spy
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield httpd, gateway, seen
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def _get(conn: http.client.HTTPConnection, method: str = "GET", target: str = "/") -> bytes:
    conn.request(method, target)
    response = conn.getresponse()
    return response.read()


def test_each_response_on_a_kept_alive_connection_is_one_write(served: Any) -> None:
    httpd, gateway, seen = served
    conn = http.client.HTTPConnection("127.0.0.1", httpd.port, timeout=10)
    try:
        for _ in range(3):
            assert _get(conn) == gateway.body
            (write,) = seen.take()
            head, _, body = write.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 ")
            assert body == gateway.body
    finally:
        conn.close()
    assert seen.nodelay == [1]  # one connection, reused, with Nagle off


def test_a_head_response_is_one_write_of_headers_only(served: Any) -> None:
    httpd, _, seen = served
    conn = http.client.HTTPConnection("127.0.0.1", httpd.port, timeout=10)
    try:
        assert _get(conn, "HEAD") == b""
    finally:
        conn.close()
    (write,) = seen.take()
    assert write.endswith(b"\r\n\r\n")
    assert write.count(b"\r\n\r\n") == 1


def test_a_large_body_follows_its_headers_on_a_nodelay_socket(served: Any) -> None:
    # Past the coalescing limit the body is not copied to join the headers; with Nagle
    # off the second write goes out at once all the same.
    httpd, gateway, seen = served
    gateway.body = b"x" * (local_server._COALESCE_LIMIT + 1)
    conn = http.client.HTTPConnection("127.0.0.1", httpd.port, timeout=10)
    try:
        assert _get(conn) == gateway.body
    finally:
        conn.close()
    head, body = seen.take()
    assert head.endswith(b"\r\n\r\n") and body == gateway.body
    assert seen.nodelay == [1]


def test_a_refused_request_line_is_answered_in_one_write(served: Any) -> None:
    httpd, _, seen = served
    with socket.create_connection(("127.0.0.1", httpd.port), timeout=10) as sock:
        sock.sendall(b"NOT A REQUEST LINE AT ALL\r\n\r\n")
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    (write,) = seen.take()
    assert write == received
    assert received.startswith(b"HTTP/1.1 400 ") and received.endswith(b'"bad_request"}')
