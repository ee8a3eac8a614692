"""`fetch`: download what a URL points to, reaching only the public internet, within limits.

Each hop resolves the host once, checks every address it got (one private answer refuses
the whole name, which defeats round-robin rebinding), then connects to a checked address and
to nothing else; redirects go through the same steps. This is what imgproxy and go-camo do
in their dialers and Advocate did for requests (SECURITY-NOTES, "Importing from a URL").

Limits hold against a hostile server: one deadline covers resolving, connecting, every hop
and the body, including a body that drips a byte at a time; the byte cap is counted while
streaming, so a missing or lying Content-Length changes nothing.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from http.client import HTTPException
from typing import Any

from urllib3 import BaseHTTPResponse, Timeout
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.util.ssl_match_hostname import CertificateError as HostnameMismatch

from .addresses import IPAddress, IPNetwork, is_allowed_by, parse_resolved, refusal_reason
from .errors import FetchFailed, FetchRefused, FetchTimedOut, FetchTooLarge
from .targets import DEFAULT_PORTS, ParsedURL, parse_target, resolve_redirect
from .transport import (
    DeadlineWatchdog,
    Opener,
    Target,
    deadline_watch,
    request_headers,
    urllib3_opener,
)

logger = logging.getLogger(__name__)

Resolver = Callable[[str], Sequence[str]]
"""Host name to IP address strings. Only ever given a normalized ASCII name, never an IP."""

NOT_PUBLIC = "The URL must point to a public internet address"
TIMED_OUT = "The remote server did not send the file in time"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024
# A connection error is only one of these; anything else an opener raises is a bug.
_TRANSPORT_ERRORS = (HTTPError, HTTPException, OSError)


@dataclass(frozen=True)
class FetchPolicy:
    deadline_seconds: float = 20.0
    """The whole fetch: DNS, connect, every hop, the body."""
    max_bytes: int = 100 * 1024 * 1024
    """Hard cap, counted while streaming; Content-Length is not trusted."""
    max_redirects: int = 5
    allowed_ports: frozenset[int] = frozenset({80, 443})
    allowed_networks: tuple[IPNetwork, ...] = ()
    """Ranges that pass the address check on any port (the local stack's --allow-import-from).
    Matched against the address connected to, never against a name."""


@dataclass(frozen=True)
class Fetched:
    data: bytes
    url: str
    """The final URL, after redirects, normalized."""
    content_type: str | None
    content_disposition: str | None


def default_resolver(host: str) -> list[str]:
    """`getaddrinfo` for TCP, both families, duplicates removed, in the resolver's order."""
    addresses: list[str] = []
    for family, _, _, _, sockaddr in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM):
        # A link-local answer keeps its "%zone" suffix here, and is refused for it.
        if family in (socket.AF_INET, socket.AF_INET6) and sockaddr[0] not in addresses:
            addresses.append(str(sockaddr[0]))
    return addresses


def fetch(
    url: str,
    policy: FetchPolicy,
    *,
    resolve: Resolver | None = None,
    opener: Opener | None = None,
) -> Fetched:
    """The body at `url` and what describes it. Raises a `FetchError` subclass otherwise."""
    expires_at = time.monotonic() + policy.deadline_seconds
    resolve = resolve or default_resolver
    opener = opener or urllib3_opener
    current = parse_target(url)
    with deadline_watch(expires_at) as watchdog:
        hop = _Hop(policy, expires_at, watchdog)
        redirects = 0
        while True:
            addresses = hop.destinations(current, resolve)
            response = hop.open(current, addresses, opener)
            try:
                status = response.status
                if status in REDIRECT_STATUSES:
                    location = response.headers.get("Location")
                    if not location:
                        raise FetchFailed(
                            "The remote server redirected without saying where",
                            upstream_status=status,
                        )
                    if redirects >= policy.max_redirects:
                        raise FetchFailed(
                            "The URL led to too many redirects", upstream_status=status
                        )
                    redirects += 1
                    current = resolve_redirect(current, _header_text(location))
                    continue
                if not 200 <= status < 300:
                    raise FetchFailed(_status_message(status), upstream_status=status)
                data = hop.read_body(current, response)
                return Fetched(
                    data=data,
                    url=current.url,
                    content_type=response.headers.get("Content-Type"),
                    content_disposition=response.headers.get("Content-Disposition"),
                )
            finally:
                _close(response)
                watchdog.release()


class _Hop:
    """The steps of one request, sharing the fetch's policy and deadline."""

    def __init__(self, policy: FetchPolicy, expires_at: float, watchdog: DeadlineWatchdog) -> None:
        self.policy = policy
        self.expires_at = expires_at
        self.watchdog = watchdog

    def remaining(self) -> float:
        return self.expires_at - time.monotonic()

    def timed_out(self) -> bool:
        return self.watchdog.fired or self.remaining() <= 0

    def destinations(self, url: ParsedURL, resolve: Resolver) -> list[IPAddress]:
        """Every address `url` may lead to, all checked, or FetchRefused."""
        policy = self.policy
        port_allowed = url.port in policy.allowed_ports or url.port == DEFAULT_PORTS[url.scheme]
        port_refused = FetchRefused(
            "The URL's port is not allowed: use the default port of http or https"
        )
        # Decided before resolving, so that the answer does not depend on what a name
        # resolves to; only the operator's allowed networks can open other ports.
        if not port_allowed and not policy.allowed_networks:
            raise port_refused
        addresses = [url.address] if url.address is not None else self._resolve(url, resolve)
        for address in addresses:
            if is_allowed_by(address, policy.allowed_networks):
                continue
            if not port_allowed:
                raise port_refused
            reason = refusal_reason(address)
            if reason is not None:
                logger.info("import refused: %s is %s (%s)", url.host, address, reason)
                raise FetchRefused(NOT_PUBLIC)
        return addresses

    def _resolve(self, url: ParsedURL, resolve: Resolver) -> list[IPAddress]:
        # getaddrinfo has no timeout of its own: wait for it at most until the deadline. A
        # resolver stuck past that is left behind on its daemon thread.
        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                outcome["answer"] = list(resolve(url.host))
            except BaseException as error:
                outcome["error"] = error

        thread = threading.Thread(target=run, name="imgpro-fetch-resolve", daemon=True)
        thread.start()
        thread.join(max(0.0, self.remaining()))
        if thread.is_alive():
            raise FetchTimedOut(TIMED_OUT)
        error = outcome.get("error")
        if isinstance(error, OSError | UnicodeError):
            raise FetchFailed(f"Could not resolve the host name {url.host}") from error
        if error is not None:
            raise error
        answer = outcome["answer"]
        if not answer:
            raise FetchFailed(f"Could not resolve the host name {url.host}")
        addresses = [parse_resolved(text) if isinstance(text, str) else None for text in answer]
        if None in addresses:
            logger.info("import refused: %s resolved to non-addresses %r", url.host, answer)
            raise FetchRefused(NOT_PUBLIC)
        return [address for address in addresses if address is not None]

    def open(self, url: ParsedURL, addresses: list[IPAddress], opener: Opener) -> BaseHTTPResponse:
        """The response from the first address that accepts a connection."""
        for index, address in enumerate(addresses):
            remaining = self.remaining()
            if remaining <= 0:
                raise FetchTimedOut(TIMED_OUT)
            # Share the time left among the addresses still to try, so that one address that
            # drops packets cannot use it all; the last one gets whatever remains.
            connect = remaining / (len(addresses) - index)
            target = Target(
                scheme=url.scheme,
                ip=str(address),
                port=url.port,
                host=url.host,
                host_header=url.host_header,
                path_and_query=url.path_and_query,
            )
            try:
                return opener(target, request_headers(target), Timeout(connect, read=remaining))
            except _TRANSPORT_ERRORS as error:
                if self.timed_out():
                    raise FetchTimedOut(TIMED_OUT) from error
                # NewConnectionError is a ConnectTimeoutError: both mean nothing was sent.
                if isinstance(error, ConnectTimeoutError):
                    continue
                if isinstance(error, ReadTimeoutError):
                    raise FetchTimedOut(TIMED_OUT) from error
                if isinstance(error, SSLError):
                    raise FetchFailed(_tls_message(error, url.host)) from error
                raise FetchFailed(f"The connection to {url.host} was interrupted") from error
        if self.timed_out():
            raise FetchTimedOut(TIMED_OUT)
        raise FetchFailed(f"Could not connect to {url.host}")

    def read_body(self, url: ParsedURL, response: BaseHTTPResponse) -> bytes:
        cap = self.policy.max_bytes
        too_large = FetchTooLarge(f"The file at the URL is larger than {_size(cap)}")
        declared = (response.headers.get("Content-Length") or "").strip()
        if declared.isdigit() and int(declared) > cap:
            raise too_large
        chunks: list[bytes] = []
        total = 0
        while True:
            remaining = self.remaining()
            if remaining <= 0:
                raise FetchTimedOut(TIMED_OUT)
            _limit_socket_wait(response, remaining)
            try:
                # read1: at most one socket read, so the deadline is checked between reads.
                # One byte over the cap is enough to know it is over.
                chunk = response.read1(min(_CHUNK, cap + 1 - total), decode_content=False)
            except _TRANSPORT_ERRORS as error:
                if self.timed_out() or isinstance(error, ReadTimeoutError):
                    raise FetchTimedOut(TIMED_OUT) from error
                raise FetchFailed(
                    f"The connection to {url.host} was interrupted before the whole file arrived"
                ) from error
            if not chunk:
                break
            total += len(chunk)
            if total > cap:
                raise too_large
            chunks.append(chunk)
        # The watchdog shutting the socket down looks like the end of a body without a length.
        if self.watchdog.fired:
            raise FetchTimedOut(TIMED_OUT)
        return b"".join(chunks)


def _limit_socket_wait(response: BaseHTTPResponse, remaining: float) -> None:
    """Make the next socket read give up when the deadline passes, not a full timeout later."""
    sock = getattr(getattr(response, "connection", None), "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.settimeout(remaining)


def _close(response: BaseHTTPResponse) -> None:
    # Never reused: an unread or oversized body is abandoned with its connection.
    try:
        response.close()
    except Exception:
        logger.debug("closing an import response failed", exc_info=True)


def _header_text(value: str) -> str:
    """A header value as the server meant it: http.client decodes them as Latin-1, but a
    non-ASCII Location is almost always UTF-8."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


def _status_message(status: int) -> str:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    # The server's own reason phrase is not repeated: it is arbitrary remote text.
    return f"The remote server answered {status} {phrase}".rstrip()


def _tls_message(error: BaseException, host: str) -> str:
    # urllib3 matches the host name itself (we pass assert_hostname), with its own error class.
    if _caused_by(error, (ssl.SSLCertVerificationError, HostnameMismatch)):
        return f"The remote server's TLS certificate is not valid for {host}"
    return f"Could not establish a secure connection to {host}"


def _caused_by(
    error: BaseException, kind: type[BaseException] | tuple[type[BaseException], ...]
) -> bool:
    seen: set[int] = set()
    pending: list[Any] = [error]
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        if isinstance(current, kind):
            return True
        seen.add(id(current))
        pending.extend([current.__cause__, current.__context__, *current.args])
    return False


def _size(count: int) -> str:
    for unit, name in ((1024 * 1024, "MB"), (1024, "KB")):
        if count >= unit and count % unit == 0:
            return f"{count // unit} {name}"
    return f"{count} bytes"
