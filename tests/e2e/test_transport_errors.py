"""What the local stack's HTTP layer refuses before any route runs, it refuses in the
seed's JSON error shape, like every other error."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.e2e


def _exchange(base_url: str, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(raw)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (h.split(":", 1) for h in header_lines)}
    return int(status_line.split()[1]), headers, body


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "uri_too_long"),
        (b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", 431, "headers_too_large"),
        (
            b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(120)) + b"\r\n",
            431,
            "headers_too_large",
        ),
        (b"GET / HTTP/2.0\r\n\r\n", 505, "http_version_not_supported"),
        (b"NOT A REQUEST LINE AT ALL\r\n\r\n", 400, "bad_request"),
    ],
    ids=["request-line-too-long", "header-line-too-long", "too-many-headers", "http2", "garbage"],
)
def test_refused_request_is_answered_in_json_and_the_connection_closed(
    local_stack, raw: bytes, status: int, code: str
) -> None:
    got_status, headers, body = _exchange(local_stack.base_url, raw)
    assert got_status == status
    assert headers["content-type"] == "application/json"
    assert headers["connection"] == "close"
    assert int(headers["content-length"]) == len(body)
    assert json.loads(body)["code"] == code


def test_a_method_no_route_takes_is_a_json_404_not_an_html_501(local_stack) -> None:
    got_status, headers, body = _exchange(
        local_stack.base_url, b"QUERY /v1/media HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert got_status == 404
    assert headers["content-type"].startswith("application/json")
    assert json.loads(body)["code"] == "not_found"
