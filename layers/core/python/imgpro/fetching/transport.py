"""One HTTP request to an address the fetcher already checked, through urllib3.

The seam between policy and network. `Target` says exactly where a connection goes (an IP,
never a name, so nothing resolves again between the check and the connect: DNS rebinding
cannot switch it) and which host name to present in `Host` and TLS. Tests pass their own
`Opener` to see where a connection would be made without making it.

The default opener, `urllib3_opener`, does no redirects, no retries, no decompression
(`Accept-Encoding: identity` and `decode_content=False`: inflating a body is how a small
download becomes a decompression bomb) and verifies certificates against the original host.

Socket timeouts alone cannot bound a fetch: a server that sends one header byte every few
seconds resets them on every read. While `deadline_watch` is active, every socket the default
opener connects is also shut down when the deadline passes, which ends any blocked read.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass

from urllib3 import BaseHTTPResponse, HTTPConnectionPool, HTTPSConnectionPool, Timeout
from urllib3.connection import HTTPConnection, HTTPSConnection

USER_AGENT = "imgpro-import/1"


@dataclass(frozen=True)
class Target:
    """Where one request goes."""

    scheme: str
    ip: str
    """The checked address, canonical text (IPv6 without brackets)."""
    port: int
    host: str
    """The URL's host: for the `Host` header, TLS SNI and certificate verification."""
    host_header: str
    """`host`, bracketed if IPv6, with the port when it is not the scheme's default."""
    path_and_query: str


Opener = Callable[[Target, Mapping[str, str], Timeout], BaseHTTPResponse]
"""Sends a GET to `target` and returns the response with its body unread.

Must connect to `target.ip` and nothing else, send exactly the given headers, and raise
urllib3's exceptions on failure (`NewConnectionError` / `ConnectTimeoutError` before the
connection exists; `SSLError`, `ProtocolError`, `ReadTimeoutError` after).
"""


def request_headers(target: Target) -> dict[str, str]:
    return {
        "Host": target.host_header,
        "User-Agent": USER_AGENT,
        "Accept": "image/*,*/*;q=0.8",
        "Accept-Encoding": "identity",
    }


class DeadlineWatchdog:
    """Shuts down the sockets registered with it once the deadline passes."""

    def __init__(self, expires_at: float) -> None:
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.fired = False
        self._timer = threading.Timer(max(0.0, expires_at - time.monotonic()), self._fire)
        self._timer.daemon = True

    def watch(self, sock: socket.socket) -> None:
        # A duplicate descriptor: the TLS layer detaches the original socket object, and
        # shutdown() acts on the connection, whichever descriptor it is called on. Ours stays
        # open (so its number cannot be reused by someone else) until `release`.
        dup = sock.dup()
        with self._lock:
            self._sockets.append(dup)
            fired = self.fired
        if fired:
            _shutdown(dup)

    def start(self) -> None:
        self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shutdown(sock)

    def release(self) -> None:
        """Let go of the sockets watched so far, once their request is over."""
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            # Our duplicate would keep the connection open after urllib3 closes its socket.
            _shutdown(sock)
            sock.close()

    def close(self) -> None:
        self._timer.cancel()
        self.release()


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


_active_watchdog: ContextVar[DeadlineWatchdog | None] = ContextVar(
    "imgpro_fetch_watchdog", default=None
)


@contextlib.contextmanager
def deadline_watch(expires_at: float) -> Iterator[DeadlineWatchdog]:
    """Within this block, sockets opened by `urllib3_opener` in this context are shut down at
    `expires_at` (a `time.monotonic()` value)."""
    watchdog = DeadlineWatchdog(expires_at)
    token = _active_watchdog.set(watchdog)
    watchdog.start()
    try:
        yield watchdog
    finally:
        _active_watchdog.reset(token)
        watchdog.close()


def _register(sock: socket.socket) -> None:
    watchdog = _active_watchdog.get()
    if watchdog is not None:
        watchdog.watch(sock)


class _WatchedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _register(sock)
        return sock


class _WatchedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        # Registered before the TLS handshake, which a slow server could also drag out.
        sock = super()._new_conn()
        _register(sock)
        return sock


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


def _ca_certs() -> str | None:
    try:
        import certifi
    except ImportError:
        return None  # urllib3 then loads the system's default trust store
    return certifi.where()


def urllib3_opener(
    target: Target, headers: Mapping[str, str], timeout: Timeout
) -> BaseHTTPResponse:
    """The default `Opener`: a fresh single-connection pool to `target.ip`."""
    pool: HTTPConnectionPool
    if target.scheme == "https":
        pool = _HTTPSPool(
            target.ip,
            target.port,
            timeout=timeout,
            maxsize=1,
            retries=False,
            cert_reqs=ssl.CERT_REQUIRED,
            ca_certs=_ca_certs(),
            assert_hostname=target.host,
            server_hostname=target.host,
        )
    else:
        pool = _HTTPPool(target.ip, target.port, timeout=timeout, maxsize=1, retries=False)
    return pool.urlopen(
        "GET",
        target.path_and_query,
        headers=dict(headers),
        redirect=False,
        retries=False,
        timeout=timeout,
        assert_same_host=False,
        preload_content=False,
        decode_content=False,
        release_conn=False,
    )
