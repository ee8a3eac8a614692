"""imgpro.fetching end to end: SSRF attempts refused before any connection, and real HTTP
against a loopback server for everything a hostile or broken origin can do.

No packet leaves the machine. Names resolve through fake resolvers. Every opener used here is
either a recording one that never connects, or `LoopbackGuard`, which hands a request to the
real urllib3 opener only for an explicit allow-list of (127.0.0.1, port) pairs and fails the
test for anything else. The SSRF catalog runs against a real loopback "trap" server that
records every request: after the catalog it must have recorded none, while a control request
through `allowed_networks` does reach it.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import urllib3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from imgpro.fetching import (
    USER_AGENT,
    Fetched,
    FetchError,
    FetchFailed,
    FetchPolicy,
    FetchRefused,
    FetchTimedOut,
    FetchTooLarge,
    Target,
    default_resolver,
    fetch,
    transport,
    urllib3_opener,
)

PUBLIC_V4 = "93.184.215.14"
PUBLIC_V4_B = "93.184.215.34"
PUBLIC_V6 = "2606:2800:21f:cb07:6820:80da:af6b:1ac1"
LOOPBACK = (IPv4Network("127.0.0.0/8"),)
NOT_PUBLIC = "The URL must point to a public internet address"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
MB = 1024 * 1024


class OffMachine(AssertionError):
    """An opener was asked to connect somewhere a test must never connect."""


# --- fakes -------------------------------------------------------------------------------


class FakeDNS:
    """A resolver from a table; unknown names fail as getaddrinfo would. Records lookups."""

    def __init__(self, table: Mapping[str, list[str]]) -> None:
        self.table = dict(table)
        self.lookups: list[str] = []

    def __call__(self, host: str) -> list[str]:
        self.lookups.append(host)
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(self.table[host])


def canned(status: int = 200, body: bytes = b"", headers: Mapping[str, str] | None = None):
    return urllib3.HTTPResponse(
        body=io.BytesIO(body),
        headers=dict(headers or {}),
        status=status,
        preload_content=False,
        decode_content=False,
    )


Respond = Callable[[Target], urllib3.BaseHTTPResponse]


class RecordingOpener:
    """Records every request and answers from `respond`; never opens a socket."""

    def __init__(self, respond: Respond | None = None) -> None:
        self.respond = respond or (lambda target: canned(200, PNG, {"Content-Type": "image/png"}))
        self.targets: list[Target] = []
        self.headers: list[dict[str, str]] = []
        self.timeouts: list[urllib3.Timeout] = []

    def __call__(self, target: Target, headers: Mapping[str, str], timeout: urllib3.Timeout):
        self.targets.append(target)
        self.headers.append(dict(headers))
        self.timeouts.append(timeout)
        return self.respond(target)


class LoopbackGuard:
    """The real urllib3 opener, for an explicit allow-list of loopback (ip, port) only.

    `scripted` answers for fake public addresses without connecting anywhere.
    """

    def __init__(
        self, *allowed: tuple[str, int], scripted: Mapping[str, Respond] | None = None
    ) -> None:
        for ip, _ in allowed:
            assert ip_address(ip).is_loopback
        self.allowed = set(allowed)
        self.scripted = dict(scripted or {})
        self.targets: list[Target] = []
        self.violations: list[Target] = []

    def __call__(self, target: Target, headers: Mapping[str, str], timeout: urllib3.Timeout):
        self.targets.append(target)
        if target.ip in self.scripted:
            return self.scripted[target.ip](target)
        if (target.ip, target.port) not in self.allowed:
            self.violations.append(target)
            raise OffMachine(f"asked to connect to {target.ip}:{target.port}")
        return urllib3_opener(target, headers, timeout)


# --- a loopback origin -------------------------------------------------------------------


class Origin(ThreadingHTTPServer):
    """A loopback HTTP server that records every request and misbehaves on demand."""

    daemon_threads = True

    def __init__(self, host: str = "127.0.0.1", family: int = socket.AF_INET) -> None:
        self.address_family = family
        super().__init__((host, 0), _Handler)
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.sent: dict[str, int] = {}
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]

    def __enter__(self) -> Origin:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: Origin

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.server.requests.append((self.path, dict(self.headers.items())))
        # OSError: the client hung up on purpose, at a cap or a deadline.
        with contextlib.suppress(OSError):
            self._route(urlsplit(self.path).path)

    def _raw(self, data: bytes) -> None:
        self.wfile.write(data)
        self.wfile.flush()

    def _send(self, status: int, body: bytes, headers: Mapping[str, str] | None = None) -> None:
        head = f"HTTP/1.0 {status} X\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self._raw(head.encode("latin-1") + b"\r\n" + body)

    def _until_stopped(self, seconds: float) -> Iterator[None]:
        end = time.monotonic() + seconds
        while time.monotonic() < end and not self.server.stopping.is_set():
            yield

    def _route(self, path: str) -> None:
        parts = path.strip("/").split("/")
        if path == "/image.png":
            self._send(
                200,
                PNG,
                {
                    "Content-Type": "image/png",
                    "Content-Disposition": 'attachment; filename="cat.png"',
                },
            )
        elif parts[0] == "status":
            self._send(int(parts[1]), b"nope", {"Content-Type": "text/plain"})
        elif parts[0] == "redirect":
            hops = int(parts[1])
            self._send(
                302, b"", {"Location": f"/redirect/{hops - 1}" if hops > 1 else "/image.png"}
            )
        elif parts[0] == "redirect-code":
            absolute = f"http://{self.headers['Host']}/image.png"
            self._send(int(parts[1]), b"", {"Location": absolute})
        elif path == "/no-location":
            self._send(302, b"")
        elif path == "/drip":
            self._raw(b"HTTP/1.0 200 OK\r\nContent-Type: image/png\r\n\r\n")
            for _ in self._until_stopped(10):
                self._raw(b"x")
                time.sleep(0.2)
        elif path == "/slow-headers":
            self._raw(b"HTTP/1.0 200 OK\r\nX-Slow: ")
            for _ in self._until_stopped(10):
                self._raw(b"x")
                time.sleep(0.2)
        elif path == "/endless":
            self._raw(b"HTTP/1.0 200 OK\r\nContent-Type: image/png\r\n\r\n")
            chunk = b"\0" * 65536
            for _ in self._until_stopped(10):
                self._raw(chunk)
                self.server.sent[path] = self.server.sent.get(path, 0) + len(chunk)
        elif path == "/chunked-lie":
            # Claims 10 bytes, but chunked framing wins (RFC 9112 6.3) and carries 2 MB.
            self._raw(
                b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n"
                b"Connection: close\r\n\r\n"
            )
            for _ in range(32):
                self._raw(b"10000\r\n" + b"\0" * 65536 + b"\r\n")
            self._raw(b"0\r\n\r\n")
        elif path == "/no-length":
            self._raw(b"HTTP/1.0 200 OK\r\nContent-Type: image/png\r\n\r\n" + PNG)
        elif path == "/short-body":
            self._raw(b"HTTP/1.0 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789")
        elif path == "/declared-huge":
            self._raw(b"HTTP/1.0 200 OK\r\nContent-Length: 5000000000\r\n\r\n")
            for _ in self._until_stopped(3):
                self._raw(b"\0" * 65536)
        elif path == "/gzip":
            self._send(
                200,
                gzip.compress(PNG),
                {"Content-Type": "image/png", "Content-Encoding": "gzip"},
            )
        else:
            self._send(200, b"reached " + path.encode(), {"Content-Type": "text/plain"})


@pytest.fixture(scope="module")
def origin() -> Iterator[Origin]:
    with Origin() as server:
        yield server


@pytest.fixture(scope="module")
def trap() -> Iterator[Origin]:
    """Only the SSRF catalog and its control case point here."""
    with Origin() as server:
        yield server


def images_policy(**overrides: object) -> FetchPolicy:
    return FetchPolicy(**{"deadline_seconds": 5.0, "allowed_networks": LOOPBACK, **overrides})


def at_origin(origin: Origin, **table: list[str]) -> tuple[FakeDNS, LoopbackGuard]:
    dns = FakeDNS({"images.test": ["127.0.0.1"], **table})
    return dns, LoopbackGuard(("127.0.0.1", origin.port))


# --- the SSRF catalog --------------------------------------------------------------------

CATALOG_DNS = {
    "localhost": ["127.0.0.1", "::1"],
    "internal.test": ["10.0.0.5"],
    "metadata.test": ["169.254.169.254"],
    "ecs.test": ["169.254.170.2"],
    "cgnat.test": ["100.64.0.7"],
    "v6-loopback.test": ["::1"],
    "mapped.test": ["::ffff:127.0.0.1"],
    "imds-v6.test": ["fd00:ec2::254"],
    "scoped.test": ["fe80::1%eth0"],
    "mixed.test": [PUBLIC_V4, "127.0.0.1"],
    "mixed-reversed.test": ["192.168.1.10", PUBLIC_V4],
    "garbage.test": ["not-an-address"],
    "public.test": [PUBLIC_V4],
    "redirector.test": [PUBLIC_V4_B],
}

# `{port}` is the trap's port, which the catalog policy allows, so that the address check and
# nothing else is what stands between these URLs and the trap.
DIRECT = [
    # loopback, every notation
    ("loopback", "http://127.0.0.1:{port}/"),
    ("loopback-https", "https://127.0.0.1:{port}/"),
    ("loopback-other", "http://127.254.1.2:{port}/"),
    ("decimal", "http://2130706433:{port}/"),
    ("hex-dotted", "http://0x7f.0.0.1:{port}/"),
    ("hex-whole", "http://0x7f000001:{port}/"),
    ("hex-upper", "http://0X7F.0X0.0X0.0X1:{port}/"),
    ("octal-dotted", "http://0177.0.0.1:{port}/"),
    ("octal-whole", "http://017700000001:{port}/"),
    ("octal-padded", "http://00000177.0.0.01:{port}/"),
    ("two-parts", "http://127.1:{port}/"),
    ("three-parts", "http://127.0.1:{port}/"),
    ("mixed-bases", "http://0x7f.0.0.01:{port}/"),
    ("zero", "http://0:{port}/"),
    ("zero-dotted", "http://0.0.0.0:{port}/"),
    ("trailing-dot", "http://127.0.0.1.:{port}/"),
    ("full-width-digits", "http://\uff11\uff12\uff17.\uff10.\uff10.\uff11:{port}/"),
    ("circled-digits", "http://\u2460\u2461\u2466.\u24ea.\u24ea.\u2460:{port}/"),
    ("ideographic-dots", "http://127\u30020\u30020\u30021:{port}/"),
    ("full-width-dots", "http://127\uff0e0\uff0e0\uff0e1:{port}/"),
    ("soft-hyphen-in-label", "http://1\u00ad27.0.0.1:{port}/"),
    ("percent-encoded-host", "http://%31%32%37.0.0.1:{port}/"),
    ("percent-encoded-dot", "http://127%2e0.0.1:{port}/"),
    ("localhost-name", "http://localhost:{port}/"),
    ("localhost-upper", "http://LOCALHOST.:{port}/"),
    # IPv6 loopback and IPv4 wrapped in IPv6
    ("ipv6-loopback", "http://[::1]:{port}/"),
    ("ipv6-unspecified", "http://[::]:{port}/"),
    ("ipv6-loopback-long", "http://[0:0:0:0:0:0:0:1]:{port}/"),
    ("mapped-dotted", "http://[::ffff:127.0.0.1]:{port}/"),
    ("mapped-hex", "http://[::ffff:7f00:1]:{port}/"),
    ("mapped-upper", "http://[::FFFF:7F00:1]:{port}/"),
    ("compatible", "http://[::127.0.0.1]:{port}/"),
    ("nat64", "http://[64:ff9b::7f00:1]:{port}/"),
    ("nat64-local-use", "http://[64:ff9b:1::8.8.8.8]:{port}/"),
    ("6to4", "http://[2002:7f00:1::]:{port}/"),
    ("teredo-client-loopback", "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]:{port}/"),
    ("teredo-server-loopback", "http://[2001:0:7f00:1::f7f7:f7f7]:{port}/"),
    ("zone-id", "http://[fe80::1%25eth0]:{port}/"),
    ("zone-id-mapped", "http://[::ffff:127.0.0.1%25lo]:{port}/"),
    ("link-local-v6", "http://[fe80::1]:{port}/"),
    ("site-local", "http://[fec0::1]:{port}/"),
    ("unique-local", "http://[fc00::1]:{port}/"),
    ("multicast-v6", "http://[ff02::1]:{port}/"),
    ("documentation-v6", "http://[2001:db8::1]:{port}/"),
    ("discard-v6", "http://[100::1]:{port}/"),
    ("ipvfuture", "http://[v1.fe80::1]:{port}/"),
    # cloud metadata and credentials
    ("metadata", "http://169.254.169.254/latest/meta-data/"),
    ("metadata-decimal", "http://2852039166/"),
    ("metadata-hex", "http://0xa9fea9fe/"),
    ("metadata-octal", "http://0251.0376.0251.0376/"),
    ("metadata-two-parts", "http://169.254.43518/"),
    ("metadata-mapped", "http://[::ffff:169.254.169.254]/"),
    ("metadata-nat64", "http://[64:ff9b::a9fe:a9fe]/"),
    ("ecs-credentials", "http://169.254.170.2/v2/credentials"),
    ("metadata-ipv6", "http://[fd00:ec2::254]/"),
    # private, shared, reserved IPv4
    ("ten", "http://10.0.0.1/"),
    ("ten-octal", "http://012.0.0.1/"),
    ("ten-decimal", "http://167772161/"),
    ("ten-6to4", "http://[2002:a00:1::]/"),
    ("172-16", "http://172.16.0.1/"),
    ("172-31", "http://172.31.255.255/"),
    ("192-168", "http://192.168.0.1/"),
    ("192-168-hex", "http://0xc0a80001/"),
    ("cgnat", "http://100.64.0.1/"),
    ("cgnat-top", "http://100.127.255.254/"),
    ("ietf-protocol", "http://192.0.0.170/"),
    ("test-net-1", "http://192.0.2.1/"),
    ("6to4-relay", "http://192.88.99.1/"),
    ("benchmarking", "http://198.18.0.1/"),
    ("test-net-3", "http://203.0.113.9/"),
    ("multicast", "http://224.0.0.1/"),
    ("reserved", "http://240.0.0.1/"),
    ("broadcast", "http://255.255.255.255/"),
    ("broadcast-decimal", "http://4294967295/"),
    # names that resolve to something private (fake resolver)
    ("name-to-private", "http://internal.test/"),
    ("name-to-metadata", "http://metadata.test/latest/meta-data/"),
    ("name-to-ecs", "http://ecs.test/v2/credentials"),
    ("name-to-cgnat", "http://cgnat.test/"),
    ("name-to-v6-loopback", "http://v6-loopback.test:{port}/"),
    ("name-to-mapped", "http://mapped.test:{port}/"),
    ("name-to-imds-v6", "http://imds-v6.test/"),
    ("name-to-scoped-link-local", "http://scoped.test/"),
    ("name-to-public-and-loopback", "http://mixed.test:{port}/"),
    ("name-to-private-and-public", "http://mixed-reversed.test/"),
    ("name-to-garbage", "http://garbage.test/"),
    # credentials and parser differentials
    ("userinfo", "http://user:pass@127.0.0.1:{port}/"),
    ("userinfo-public-host", "http://user:pass@public.test/"),
    ("at-sign-trick", "http://public.test@127.0.0.1:{port}/"),
    ("empty-userinfo", "http://@127.0.0.1:{port}/"),
    ("backslash-trick", "http://127.0.0.1:{port}\\@public.test/"),
    ("backslash-path", "http://public.test\\@127.0.0.1:{port}/"),
    ("tab-in-host", "http://127.0.0.1\t:{port}/"),
    ("newline-in-host", "http://public.test\n@127.0.0.1:{port}/"),
    ("space-in-host", "http://public.test @127.0.0.1:{port}/"),
    ("leading-space", " http://127.0.0.1:{port}/"),
    ("nul", "http://127.0.0.1:{port}/\x00"),
    ("full-width-at", "http://public.test\uff20127.0.0.1:{port}/"),
    ("full-width-colon", "http://127.0.0.1\uff1a{port}/"),
    ("zero-width-space", "http://127.0.0.1\u200b:{port}/"),
    ("right-to-left-override", "http://\u202e1.0.0.721:{port}/"),
    # schemes and ports
    ("file", "file:///etc/passwd"),
    ("file-host", "file://127.0.0.1/etc/passwd"),
    ("ftp", "ftp://127.0.0.1:{port}/"),
    ("gopher", "gopher://127.0.0.1:{port}/_GET%20/"),
    ("dict", "dict://127.0.0.1:{port}/info"),
    ("data", "data:image/png;base64,iVBORw0KGgo="),
    ("javascript", "javascript:alert(1)"),
    ("no-scheme", "//127.0.0.1:{port}/"),
    ("no-scheme-name", "public.test/image.png"),
    ("single-slash", "http:/127.0.0.1:{port}/"),
    ("no-host", "http:///image.png"),
    ("non-default-port", "http://public.test:8080/"),
    ("ssh-port", "http://public.test:22/"),
    ("port-zero", "http://public.test:0/"),
    ("port-overflow", "http://public.test:65616/"),
    ("empty-port", "http://public.test:/"),
    ("full-width-port", "http://public.test:\uff18\uff10/"),
]

# Where a public host's 302 points: each must be refused at the redirect.
REDIRECT_TARGETS = [
    ("loopback", "http://127.0.0.1:{port}/"),
    ("decimal", "http://2130706433:{port}/"),
    ("two-parts", "http://127.1:{port}/"),
    ("zero", "http://0:{port}/"),
    ("ipv6-loopback", "http://[::1]:{port}/"),
    ("mapped", "http://[::ffff:127.0.0.1]:{port}/"),
    ("6to4", "http://[2002:7f00:1::]:{port}/"),
    ("metadata", "http://169.254.169.254/latest/meta-data/"),
    ("metadata-decimal", "http://2852039166/"),
    ("ecs", "http://169.254.170.2/v2/credentials"),
    ("ten", "http://10.0.0.1/"),
    ("172-16", "http://172.16.0.1/"),
    ("192-168", "http://192.168.1.1/"),
    ("cgnat", "http://100.64.0.1/"),
    ("unique-local", "http://[fc00::1]/"),
    ("link-local-v6", "http://[fe80::1]/"),
    ("name-to-private", "http://internal.test/"),
    ("name-to-public-and-loopback", "http://mixed.test:{port}/"),
    ("protocol-relative", "//127.0.0.1:{port}/"),
    ("userinfo", "http://public.test@127.0.0.1:{port}/"),
    ("backslash", "http://127.0.0.1:{port}\\@public.test/"),
    ("file", "file:///etc/passwd"),
    ("gopher", "gopher://127.0.0.1:{port}/_x"),
    ("non-default-port", "http://public.test:8080/"),
]

CATALOG = [pytest.param(template, False, id=name) for name, template in DIRECT] + [
    pytest.param(template, True, id=f"redirect-to-{name}") for name, template in REDIRECT_TARGETS
]


def redirect_to_query(target: Target) -> urllib3.BaseHTTPResponse:
    """The fake public redirector: a 302 to whatever its `u` query parameter says."""
    location = parse_qs(urlsplit(target.path_and_query).query)["u"][0]
    return canned(302, b"", {"Location": location})


@pytest.mark.parametrize(("template", "via_redirect"), CATALOG)
def test_ssrf_attempt_is_refused_before_any_connection(
    trap: Origin, template: str, via_redirect: bool
) -> None:
    url = template.format(port=trap.port)
    if via_redirect:
        url = "http://redirector.test/go?u=" + quote(url, safe="")
    policy = FetchPolicy(deadline_seconds=5.0, allowed_ports=frozenset({80, 443, trap.port}))
    guard = LoopbackGuard(("127.0.0.1", trap.port), scripted={PUBLIC_V4_B: redirect_to_query})
    before = len(trap.requests)

    with pytest.raises(FetchRefused):
        fetch(url, policy, resolve=FakeDNS(CATALOG_DNS), opener=guard)

    assert guard.violations == []
    assert [t.ip for t in guard.targets] == ([PUBLIC_V4_B] if via_redirect else [])
    assert len(trap.requests) == before


def test_catalog_is_large_enough() -> None:
    assert len(CATALOG) >= 40


def test_the_trap_records_a_request_through_allowed_networks(trap: Origin) -> None:
    """The control case: the same trap is reached when loopback is explicitly allowed, so
    'recorded nothing' below is not the recorder failing."""
    guard = LoopbackGuard(("127.0.0.1", trap.port))
    policy = FetchPolicy(deadline_seconds=5.0, allowed_networks=LOOPBACK)

    fetched = fetch(f"http://127.0.0.1:{trap.port}/control", policy, opener=guard)

    assert fetched.data == b"reached /control"
    assert "/control" in trap.paths()


def test_the_trap_recorded_nothing_from_the_catalog(trap: Origin) -> None:
    # Runs after the catalog (file order); the control case is the only request allowed.
    assert set(trap.paths()) <= {"/control"}


def test_a_refused_name_and_a_refused_literal_read_the_same(trap: Origin) -> None:
    dns = FakeDNS(CATALOG_DNS)
    messages = set()
    for url in ("http://10.0.0.5/", "http://internal.test/", "http://mixed.test/"):
        with pytest.raises(FetchRefused) as refused:
            fetch(url, FetchPolicy(), resolve=dns, opener=RecordingOpener())
        messages.add(str(refused.value))
    assert messages == {NOT_PUBLIC}
    assert "10.0.0.5" not in NOT_PUBLIC


def test_a_non_default_port_is_refused_before_resolving() -> None:
    dns = FakeDNS(CATALOG_DNS)
    with pytest.raises(FetchRefused, match="port"):
        fetch("http://internal.test:8080/", FetchPolicy(), resolve=dns, opener=RecordingOpener())
    # Not resolved: a public and a private name get the same answer.
    assert dns.lookups == []


# --- resolve once, connect to what was checked ------------------------------------------


def test_a_dns_answer_that_changes_is_resolved_once_and_the_first_answer_is_connected() -> None:
    answers = iter([[PUBLIC_V4], ["127.0.0.1"], ["127.0.0.1"]])
    lookups: list[str] = []

    def flipping(host: str) -> list[str]:
        lookups.append(host)
        return next(answers)

    opener = RecordingOpener()
    fetched = fetch("http://flip.test/cat.png", FetchPolicy(), resolve=flipping, opener=opener)

    assert lookups == ["flip.test"]
    assert [(t.ip, t.port, t.host, t.host_header) for t in opener.targets] == [
        (PUBLIC_V4, 80, "flip.test", "flip.test")
    ]
    assert opener.headers[0]["Host"] == "flip.test"
    assert fetched.data == PNG


def test_each_redirect_hop_resolves_again_and_is_checked_again() -> None:
    answers = iter([[PUBLIC_V4], ["127.0.0.1"]])
    opener = RecordingOpener(lambda target: canned(302, b"", {"Location": "/next"}))

    with pytest.raises(FetchRefused, match="public internet"):
        fetch("http://flip.test/", FetchPolicy(), resolve=lambda h: next(answers), opener=opener)

    assert [t.ip for t in opener.targets] == [PUBLIC_V4]


def test_several_public_addresses_are_tried_in_order_until_one_connects() -> None:
    dns = FakeDNS({"multi.test": [PUBLIC_V4, PUBLIC_V6, PUBLIC_V4_B]})

    def respond(target: Target) -> urllib3.BaseHTTPResponse:
        if target.ip != PUBLIC_V4_B:
            raise NewConnectionError(None, "Connection refused")  # type: ignore[arg-type]
        return canned(200, PNG)

    opener = RecordingOpener(respond)
    fetched = fetch("https://multi.test/a.png", FetchPolicy(), resolve=dns, opener=opener)

    assert [t.ip for t in opener.targets] == [PUBLIC_V4, PUBLIC_V6, PUBLIC_V4_B]
    assert fetched.data == PNG
    # The connect budget is shared: no single address may take the whole deadline.
    assert opener.timeouts[0].connect_timeout <= 20.0 / 3 + 0.01


def test_no_address_connecting_is_a_failure() -> None:
    def refuse(target: Target) -> urllib3.BaseHTTPResponse:
        raise NewConnectionError(None, "Connection refused")  # type: ignore[arg-type]

    dns = FakeDNS({"down.test": [PUBLIC_V4, PUBLIC_V4_B]})
    with pytest.raises(FetchFailed, match=r"^Could not connect to down\.test$") as failed:
        fetch("http://down.test/", FetchPolicy(), resolve=dns, opener=RecordingOpener(refuse))
    assert failed.value.upstream_status is None


def test_what_the_opener_is_asked_for() -> None:
    opener = RecordingOpener()
    dns = FakeDNS({"xn--caf-dma.test": [PUBLIC_V6]})
    policy = FetchPolicy(allowed_ports=frozenset({443, 8443}))
    url = "https://CAF\u00c9.test:8443/a%20b/\u00e9.png?x=1#frag"
    fetch(url, policy, resolve=dns, opener=opener)

    (target,) = opener.targets
    assert target == Target(
        scheme="https",
        ip=PUBLIC_V6,
        port=8443,
        host="xn--caf-dma.test",
        host_header="xn--caf-dma.test:8443",
        path_and_query="/a%20b/%C3%A9.png?x=1",
    )
    assert opener.headers[0] == {
        "Host": "xn--caf-dma.test:8443",
        "User-Agent": USER_AGENT,
        "Accept": "image/*,*/*;q=0.8",
        "Accept-Encoding": "identity",
    }
    assert dns.lookups == ["xn--caf-dma.test"]


def test_allowed_networks_apply_to_addresses_not_names() -> None:
    policy = FetchPolicy(allowed_networks=LOOPBACK)
    dns = FakeDNS({"both.test": ["127.0.0.1", "10.0.0.1"], "lo.test": ["127.0.0.1"]})
    opener = RecordingOpener()

    with pytest.raises(FetchRefused):
        fetch("http://both.test:9000/", policy, resolve=dns, opener=opener)
    fetch("http://lo.test:9000/", policy, resolve=dns, opener=opener)

    assert [(t.ip, t.port) for t in opener.targets] == [("127.0.0.1", 9000)]


def test_other_ports_open_only_for_allowed_networks() -> None:
    policy = FetchPolicy(allowed_networks=(IPv6Network("::1/128"),))
    opener = RecordingOpener()
    with pytest.raises(FetchRefused, match="port"):
        fetch("http://public.test:8080/", policy, resolve=FakeDNS(CATALOG_DNS), opener=opener)
    fetch("http://[::1]:8080/", policy, opener=opener)
    assert [(t.ip, t.host_header) for t in opener.targets] == [("::1", "[::1]:8080")]


@pytest.mark.parametrize(
    ("url", "port"),
    [
        ("http://public.test/", 80),
        ("https://public.test/", 443),
        ("http://public.test:443/", 443),
        ("https://public.test:80/", 80),
        ("http://public.test:80/", 80),
    ],
)
def test_default_and_allowed_ports_pass(url: str, port: int) -> None:
    opener = RecordingOpener()
    fetch(url, FetchPolicy(), resolve=FakeDNS(CATALOG_DNS), opener=opener)
    assert opener.targets[0].port == port


@pytest.mark.parametrize(
    "address",
    [PUBLIC_V4, PUBLIC_V6, f"::ffff:{PUBLIC_V4}", "64:ff9b::5db8:d70e", "2002:5db8:d70e::1"],
    ids=["v4", "v6", "mapped", "nat64", "6to4"],
)
def test_public_addresses_pass_in_every_wrapping(address: str) -> None:
    opener = RecordingOpener()
    fetch("http://public.test/", FetchPolicy(), resolve=lambda h: [address], opener=opener)
    assert opener.targets[0].ip == str(ip_address(address))


def test_a_redirect_may_downgrade_to_http_and_leave_for_another_public_host() -> None:
    dns = FakeDNS({"secure.test": [PUBLIC_V4], "plain.test": [PUBLIC_V4_B]})

    def respond(target: Target) -> urllib3.BaseHTTPResponse:
        if target.host == "secure.test":
            return canned(301, b"", {"Location": "http://plain.test/cat.png"})
        return canned(200, PNG, {"Content-Type": "image/png"})

    opener = RecordingOpener(respond)
    fetched = fetch("https://secure.test/", FetchPolicy(), resolve=dns, opener=opener)

    assert [(t.scheme, t.ip, t.port) for t in opener.targets] == [
        ("https", PUBLIC_V4, 443),
        ("http", PUBLIC_V4_B, 80),
    ]
    assert fetched.url == "http://plain.test/cat.png"


def test_a_utf8_location_is_read_as_utf8() -> None:
    # http.client hands header values over decoded as Latin-1.
    location = "/caf\u00e9.png".encode().decode("latin-1")

    def respond(target: Target) -> urllib3.BaseHTTPResponse:
        if target.path_and_query == "/":
            return canned(302, b"", {"Location": location})
        return canned(200, PNG)

    fetched = fetch(
        "http://public.test/",
        FetchPolicy(),
        resolve=FakeDNS(CATALOG_DNS),
        opener=RecordingOpener(respond),
    )
    assert fetched.url == "http://public.test/caf%C3%A9.png"


def test_a_resolver_that_fails_is_a_failure_naming_the_host() -> None:
    with pytest.raises(FetchFailed, match=r"^Could not resolve the host name nowhere\.test$"):
        fetch("http://nowhere.test/", FetchPolicy(), resolve=FakeDNS({}), opener=RecordingOpener())
    with pytest.raises(FetchFailed, match="Could not resolve"):
        fetch("http://empty.test/", FetchPolicy(), resolve=lambda h: [], opener=RecordingOpener())


def test_a_resolver_that_hangs_hits_the_deadline() -> None:
    release = threading.Event()

    def hanging(host: str) -> list[str]:
        release.wait(5)
        return [PUBLIC_V4]

    started = time.monotonic()
    try:
        with pytest.raises(FetchTimedOut):
            fetch(
                "http://slow-dns.test/",
                FetchPolicy(deadline_seconds=0.3),
                resolve=hanging,
                opener=RecordingOpener(),
            )
    finally:
        release.set()
    assert time.monotonic() - started < 1.0


def test_default_resolver_deduplicates_both_families(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def fake_getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        calls.append((host, port, type))
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC_V4, 0)),
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (PUBLIC_V6, 0, 0, 0)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC_V4, 0)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    assert default_resolver("images.example.com") == [PUBLIC_V4, PUBLIC_V6]
    assert calls == [("images.example.com", None, socket.SOCK_STREAM)]


def test_default_resolver_on_localhost_gives_loopback() -> None:
    # The only real lookup in this file: localhost comes from /etc/hosts.
    assert {ip_address(a).is_loopback for a in default_resolver("localhost")} == {True}


def test_a_redirect_without_location_fails() -> None:
    opener = RecordingOpener(lambda target: canned(302))
    with pytest.raises(FetchFailed, match="redirected without saying where") as failed:
        fetch("http://public.test/", FetchPolicy(), resolve=FakeDNS(CATALOG_DNS), opener=opener)
    assert failed.value.upstream_status == 302


# --- real sockets against the loopback origin --------------------------------------------


def test_happy_path_over_a_real_socket(origin: Origin) -> None:
    dns, guard = at_origin(origin)
    fetched = fetch(
        f"http://images.test:{origin.port}/image.png", images_policy(), resolve=dns, opener=guard
    )

    assert fetched == Fetched(
        data=PNG,
        url=f"http://images.test:{origin.port}/image.png",
        content_type="image/png",
        content_disposition='attachment; filename="cat.png"',
    )
    path, headers = origin.requests[-1]
    assert path == "/image.png"
    assert headers["Host"] == f"images.test:{origin.port}"
    assert headers["User-Agent"] == USER_AGENT
    assert headers["Accept-Encoding"] == "identity"
    assert headers["Accept"] == "image/*,*/*;q=0.8"
    assert guard.violations == []


def test_the_default_opener_is_urllib3_to_the_checked_address(origin: Origin) -> None:
    dns = FakeDNS({"images.test": ["127.0.0.1"]})
    fetched = fetch(f"http://images.test:{origin.port}/image.png", images_policy(), resolve=dns)
    assert fetched.data == PNG


@pytest.mark.parametrize(
    ("status", "phrase"),
    [
        (404, "Not Found"),
        (500, "Internal Server Error"),
        (418, "I'm a Teapot"),
        (304, "Not Modified"),
    ],
)
def test_an_error_status_fails_with_it(origin: Origin, status: int, phrase: str) -> None:
    dns, guard = at_origin(origin)
    with pytest.raises(FetchFailed) as failed:
        fetch(
            f"http://images.test:{origin.port}/status/{status}",
            images_policy(),
            resolve=dns,
            opener=guard,
        )
    assert failed.value.upstream_status == status
    assert str(failed.value) == f"The remote server answered {status} {phrase}"


def test_a_redirect_chain_of_three_hops_is_followed(origin: Origin) -> None:
    dns, guard = at_origin(origin)
    fetched = fetch(
        f"http://images.test:{origin.port}/redirect/3", images_policy(), resolve=dns, opener=guard
    )
    assert fetched.data == PNG
    assert fetched.url == f"http://images.test:{origin.port}/image.png"
    assert [t.path_and_query for t in guard.targets] == [
        "/redirect/3",
        "/redirect/2",
        "/redirect/1",
        "/image.png",
    ]
    assert dns.lookups == ["images.test"] * 4


def test_five_redirects_pass_and_six_are_too_many(origin: Origin) -> None:
    dns, guard = at_origin(origin)
    url = f"http://images.test:{origin.port}/redirect/"
    assert fetch(url + "5", images_policy(), resolve=dns, opener=guard).data == PNG
    with pytest.raises(FetchFailed, match="too many redirects"):
        fetch(url + "6", images_policy(), resolve=dns, opener=guard)
    with pytest.raises(FetchFailed, match="too many redirects"):
        fetch(url + "1", images_policy(max_redirects=0), resolve=dns, opener=guard)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_every_redirect_status_is_followed(origin: Origin, status: int) -> None:
    dns, guard = at_origin(origin)
    fetched = fetch(
        f"http://images.test:{origin.port}/redirect-code/{status}",
        images_policy(),
        resolve=dns,
        opener=guard,
    )
    assert fetched.data == PNG


def test_a_real_redirect_without_location_fails(origin: Origin) -> None:
    dns, guard = at_origin(origin)
    with pytest.raises(FetchFailed, match="redirected"):
        fetch(
            f"http://images.test:{origin.port}/no-location",
            images_policy(),
            resolve=dns,
            opener=guard,
        )


def test_a_slow_drip_hits_the_deadline(origin: Origin) -> None:
    dns, guard = at_origin(origin)
    started = time.monotonic()
    with pytest.raises(FetchTimedOut):
        fetch(
            f"http://images.test:{origin.port}/drip",
            images_policy(deadline_seconds=1.0),
            resolve=dns,
            opener=guard,
        )
    assert 0.9 <= time.monotonic() - started < 1.5


def test_headers_that_drip_hit_the_deadline_too(origin: Origin) -> None:
    # Every header byte resets a plain socket timeout; only the deadline watchdog stops this.
    dns, guard = at_origin(origin)
    started = time.monotonic()
    with pytest.raises(FetchTimedOut):
        fetch(
            f"http://images.test:{origin.port}/slow-headers",
            images_policy(deadline_seconds=1.0),
            resolve=dns,
            opener=guard,
        )
    assert 0.9 <= time.monotonic() - started < 1.5


class CountingOpener(LoopbackGuard):
    """Counts the body bytes the fetcher actually read."""

    read = 0

    def __call__(self, target, headers, timeout):  # type: ignore[no-untyped-def]
        response = super().__call__(target, headers, timeout)
        original = response.read1

        def read1(amt=None, decode_content=None):  # type: ignore[no-untyped-def]
            data = original(amt, decode_content=decode_content)
            self.read += len(data)
            return data

        response.read1 = read1  # type: ignore[method-assign]
        return response


def test_an_endless_body_stops_at_the_cap(origin: Origin) -> None:
    dns = FakeDNS({"images.test": ["127.0.0.1"]})
    counting = CountingOpener(("127.0.0.1", origin.port))
    started = time.monotonic()
    with pytest.raises(FetchTooLarge, match=r"^The file at the URL is larger than 1 MB$"):
        fetch(
            f"http://images.test:{origin.port}/endless",
            images_policy(max_bytes=MB),
            resolve=dns,
            opener=counting,
        )
    assert counting.read == MB + 1
    assert time.monotonic() - started < 2


def test_content_length_is_not_trusted_when_it_lies_small(origin: Origin) -> None:
    dns, guard = at_origin(origin)
    with pytest.raises(FetchTooLarge):
        fetch(
            f"http://images.test:{origin.port}/chunked-lie",
            images_policy(max_bytes=MB),
            resolve=dns,
            opener=guard,
        )
    # Under a larger cap the same response is read whole, length taken from the framing.
    fetched = fetch(
        f"http://images.test:{origin.port}/chunked-lie",
        images_policy(max_bytes=4 * MB),
        resolve=dns,
        opener=guard,
    )
    assert len(fetched.data) == 32 * 65536


def test_a_declared_length_over_the_cap_is_refused_before_reading(origin: Origin) -> None:
    dns = FakeDNS({"images.test": ["127.0.0.1"]})
    counting = CountingOpener(("127.0.0.1", origin.port))
    with pytest.raises(FetchTooLarge, match="100 MB"):
        fetch(
            f"http://images.test:{origin.port}/declared-huge",
            images_policy(),
            resolve=dns,
            opener=counting,
        )
    assert counting.read == 0


def test_a_body_without_length_is_read_to_the_end(origin: Origin) -> None:
    dns, guard = at_origin(origin)
    fetched = fetch(
        f"http://images.test:{origin.port}/no-length", images_policy(), resolve=dns, opener=guard
    )
    assert fetched.data == PNG
    assert fetched.content_disposition is None


def test_a_body_shorter_than_declared_fails(origin: Origin) -> None:
    dns, guard = at_origin(origin)
    with pytest.raises(FetchFailed, match="interrupted"):
        fetch(
            f"http://images.test:{origin.port}/short-body",
            images_policy(),
            resolve=dns,
            opener=guard,
        )


def test_gzip_is_returned_as_sent_not_inflated(origin: Origin) -> None:
    dns, guard = at_origin(origin)
    fetched = fetch(
        f"http://images.test:{origin.port}/gzip", images_policy(), resolve=dns, opener=guard
    )
    assert fetched.data[:2] == b"\x1f\x8b"
    assert gzip.decompress(fetched.data) == PNG


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_refused_connection_fails() -> None:
    port = closed_port()
    dns = FakeDNS({"images.test": ["127.0.0.1"]})
    with pytest.raises(FetchFailed, match=r"^Could not connect to images\.test$"):
        fetch(
            f"http://images.test:{port}/",
            images_policy(),
            resolve=dns,
            opener=LoopbackGuard(("127.0.0.1", port)),
        )


def test_a_refused_address_falls_through_to_the_next(origin: Origin) -> None:
    # The origin listens on 127.0.0.1 only: 127.0.0.2 refuses on the same port.
    dns = FakeDNS({"images.test": ["127.0.0.2", "127.0.0.1"]})
    guard = LoopbackGuard(("127.0.0.2", origin.port), ("127.0.0.1", origin.port))
    fetched = fetch(
        f"http://images.test:{origin.port}/image.png", images_policy(), resolve=dns, opener=guard
    )
    assert fetched.data == PNG
    assert [t.ip for t in guard.targets] == ["127.0.0.2", "127.0.0.1"]


def test_ipv6_loopback_when_allowed() -> None:
    try:
        server = Origin("::1", socket.AF_INET6)
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with server:
        guard = LoopbackGuard(("::1", server.port))
        fetched = fetch(
            f"http://[::1]:{server.port}/image.png",
            FetchPolicy(allowed_networks=(IPv6Network("::1/128"),)),
            opener=guard,
        )
    assert fetched.data == PNG
    assert server.requests[0][1]["Host"] == f"[::1]:{server.port}"


@pytest.fixture(scope="module")
def tls_origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Origin, str]]:
    """The origin behind TLS, with a self-signed certificate for images.test only; yields it
    and the certificate's path (to trust it in the tests that mean to)."""
    import datetime
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "images.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("images.test")]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    directory = tmp_path_factory.mktemp("tls")
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    server = Origin()
    server.socket = context.wrap_socket(server.socket, server_side=True)
    with server:
        yield server, str(cert_path)


def test_an_untrusted_certificate_fails_naming_the_host(tls_origin: tuple[Origin, str]) -> None:
    server, _ = tls_origin
    dns = FakeDNS({"images.test": ["127.0.0.1"]})
    with pytest.raises(FetchFailed) as failed:
        fetch(
            f"https://images.test:{server.port}/image.png",
            images_policy(),
            resolve=dns,
            opener=LoopbackGuard(("127.0.0.1", server.port)),
        )
    assert str(failed.value) == "The remote server's TLS certificate is not valid for images.test"


def test_tls_is_verified_against_the_url_host_not_the_address(
    tls_origin: tuple[Origin, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, cert_path = tls_origin
    monkeypatch.setattr(transport, "_ca_certs", lambda: cert_path)
    dns = FakeDNS({"images.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
    guard = LoopbackGuard(("127.0.0.1", server.port))

    # Connected to 127.0.0.1, but SNI and verification use images.test: the certificate fits.
    fetched = fetch(
        f"https://images.test:{server.port}/image.png", images_policy(), resolve=dns, opener=guard
    )
    assert fetched.data == PNG
    assert fetched.url == f"https://images.test:{server.port}/image.png"

    # Same address and certificate, another name: refused by verification.
    with pytest.raises(FetchFailed, match=r"not valid for other\.test$"):
        fetch(
            f"https://other.test:{server.port}/image.png",
            images_policy(),
            resolve=dns,
            opener=guard,
        )


def test_a_connection_that_never_completes_hits_the_deadline() -> None:
    # A listener whose accept queue is full drops further SYNs: connect() just waits.
    listener = socket.create_server(("127.0.0.1", 0), backlog=0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    errors: list[BaseException] = []

    def watching(target: Target, headers: Mapping[str, str], timeout: urllib3.Timeout):
        assert (target.ip, target.port) == ("127.0.0.1", port)
        try:
            return urllib3_opener(target, headers, timeout)
        except Exception as error:
            errors.append(error)
            raise

    started = time.monotonic()
    try:
        with pytest.raises(FetchTimedOut):
            fetch(f"http://127.0.0.1:{port}/", images_policy(deadline_seconds=0.5), opener=watching)
    finally:
        for sock in [*fillers, listener]:
            sock.close()
    assert 0.45 <= time.monotonic() - started < 1.0
    assert [type(e) for e in errors] == [ConnectTimeoutError]


# --- arbitrary input ---------------------------------------------------------------------

FUZZ_PUBLIC = [PUBLIC_V4, PUBLIC_V4_B, PUBLIC_V6]
FUZZ_PRIVATE = [
    "127.0.0.1",
    "10.1.2.3",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "::1",
    "::ffff:127.0.0.1",
    "fd00:ec2::254",
    "fe80::1",
    "64:ff9b::a9fe:a9fe",
    "2002:a9fe:a9fe::",
]
FUZZ_POOL = FUZZ_PUBLIC + FUZZ_PRIVATE
FUZZ_HOSTS = [
    "public.test",
    "images.test",
    "localhost",
    "127.0.0.1",
    "2130706433",
    "0x7f.1",
    "0177.1",
    "0",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "[64:ff9b::7f00:1]",
    "[2002:7f00:1::]",
    "169.254.169.254",
    "\uff11\uff12\uff17.\uff10.\uff10.\uff11",
    "8.8.8.8",
    "[2606:4700::1111]",
    "[::ffff:8.8.8.8]",
    "[2002:808:808::]",
    "[64:ff9b::808:808]",
    "1.1",
    "user@8.8.8.8",
    "8.8.8.8\\@x.test",
    "%38.8.8.8",
    "[fe80::1%25lo]",
    "xn--caf-dma.test",
    "caf\u00e9.test",
    "a.test.",
]


def fuzz_resolver(host: str) -> list[str]:
    # Deterministic per name: one or two answers, public three times out of five.
    seed = sum(host.encode("utf-8", "surrogatepass"))
    pool = FUZZ_PUBLIC * 5 + FUZZ_PRIVATE
    first = pool[seed % len(pool)]
    return [first] if seed % 3 else [first, pool[(seed // 3) % len(pool)]]


def in_loopback(text: str) -> bool:
    """In the fuzzed policy's allowed network; a mapped IPv4 counts as that IPv4."""
    address = ip_address(text)
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address in LOOPBACK[0]


def independently_public(text: str) -> bool:
    """An oracle from Python's own `is_global`, corrected for what SECURITY-NOTES lists."""
    address = ip_address(text)
    if address.version == 6:
        for inner in (
            address.ipv4_mapped,
            address.sixtofour,
            ip_address(int(address) & 0xFFFFFFFF)
            if address in ip_network("64:ff9b::/96")
            else None,
        ):
            if inner is not None:
                return independently_public(str(inner))
        return (
            address.is_global
            and address in ip_network("2000::/3")
            and address not in ip_network("2001::/23")
        )
    return (
        address.is_global
        and not address.is_multicast
        and not address.is_reserved
        and address not in ip_network("100.64.0.0/10")
        and address not in ip_network("192.88.99.0/24")
    )


# Mostly URL-shaped text, so that many examples get past parsing to the address check, the
# opener and the redirects; plus anything at all.
_URL_ALPHABET = st.characters(
    codec="utf-8",
    exclude_categories=("Cs", "Cc", "Cf", "Zs", "Zl", "Zp"),
    include_characters="\uff11\uff0e\u3002\u2460@:%[]\\\t ",
)
_hosts = st.one_of(
    st.sampled_from(FUZZ_HOSTS),
    st.sampled_from(FUZZ_HOSTS),
    st.text(alphabet="abc019xX.-_\uff11\uff0e\u3002\u00e9", min_size=1, max_size=16),
    st.text(alphabet=_URL_ALPHABET, max_size=12),
)
_paths = st.one_of(
    st.sampled_from(["", "/", "/a.png", "/a?b=c", "/../x", "/%zz", "/caf\u00e9", "#frag"]),
    st.text(alphabet=_URL_ALPHABET, max_size=16).map(lambda text: "/" + text),
)
_url_shaped = st.builds(
    lambda scheme, host, port, path: f"{scheme}{host}{port}{path}",
    st.sampled_from(["http://"] * 4 + ["https://"] * 2 + ["HTTP://", "ftp://", "//", ""]),
    _hosts,
    st.sampled_from([""] * 6 + [":80", ":443", ":8080", ":0", ":99999", ":", ":\uff18\uff10"]),
    _paths,
)
urls = st.one_of(_url_shaped, _url_shaped, _url_shaped, st.text(max_size=60))
locations = st.one_of(urls, _paths, st.builds(lambda host: f"//{host}/", _hosts))


@settings(
    max_examples=1000, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(url=urls, redirects=st.lists(locations, max_size=3))
def test_arbitrary_urls_fail_cleanly_or_reach_only_allowed_addresses(
    url: str, redirects: list[str]
) -> None:
    hops = iter(redirects)

    def respond(target: Target) -> urllib3.BaseHTTPResponse:
        location = next(hops, None)
        if location is None:
            return canned(200, b"img")
        return canned(302, b"", {"Location": location})

    opener = RecordingOpener(respond)
    policy = FetchPolicy(deadline_seconds=5.0, allowed_networks=LOOPBACK)
    try:
        fetched = fetch(url, policy, resolve=fuzz_resolver, opener=opener)
    except FetchError as error:
        assert str(error)
    else:
        assert fetched.data == b"img"
        assert fetched.url.startswith(("http://", "https://"))
    for target in opener.targets:
        assert in_loopback(target.ip) or independently_public(target.ip), target
        assert str(ip_address(target.ip)) == target.ip
        assert target.port in (80, 443) or in_loopback(target.ip)
        assert target.host.isascii() and target.path_and_query.isascii()
        assert target.path_and_query.startswith("/")
