r"""A URL read into what the fetcher needs: scheme, normalized host, port, request target.

Strict on purpose. SECURITY-NOTES ("Importing from a URL") lists the spellings that took plain
requests/urllib3 to a loopback listener on this machine; each is handled here:

- `example.com@127.0.0.1`: any userinfo is refused.
- `127.0.0.1:PORT\@example.com`: `urlsplit` reads host `example.com`, urllib3 connects to
  127.0.0.1. Backslashes, whitespace and control characters are refused anywhere (`urlsplit`
  silently deletes tabs and newlines, so it must never see them), and the URL is parsed
  again with urllib3's `parse_url`; any disagreement on scheme, credentials, host or port
  refuses it.
- `%31%32%37.0.0.1`: a percent sign in the host is refused (and so are IPv6 zone ids).
- Full-width digits (`\uff11\uff12\uff17.\uff10.\uff10.\uff11`), circled digits:
  `getaddrinfo` maps them to ASCII through IDNA, so the host is NFKC-normalized and
  IDNA-encoded first, ideographic dots included, and only then classified.
- `2130706433`, `0x7f.0.0.1`, `0177.0.0.1`, `127.1`, `0`: a host whose last label is a number
  is read with the `inet_aton` rules glibc uses (`addresses.parse_ipv4`) and becomes a
  literal address, never a name handed to a resolver. One that does not parse is refused.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from encodings import idna as stdlib_idna
from ipaddress import IPv6Address
from urllib.parse import SplitResult, urljoin, urlsplit

from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from .addresses import IPAddress, looks_numeric, parse_ipv4
from .errors import FetchRefused

MAX_URL_LENGTH = 8192
DEFAULT_PORTS = {"http": 80, "https": 443}

INVALID = "The URL is not valid"
BAD_CHARACTERS = "The URL contains spaces, backslashes or control characters"
BAD_SCHEME = "The URL must start with http:// or https://"
CREDENTIALS = "The URL must not contain a user name or password"
BAD_HOST = "The URL's host is not valid"
BAD_PORT = "The URL's port is not valid"

# Categories never legitimate in a URL we fetch: controls, format characters (zero-width
# joiners, soft hyphen, bidi marks that make a URL read differently from how it parses),
# surrogates, private use and every kind of space.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zs", "Zl", "Zp"})
# Characters that separate URL parts; in a host after NFKC they mean the text changed shape.
_HOST_DELIMITERS = frozenset("/?#@:[]%\\")
# The IDNA label separators (RFC 3490 3.1) besides the full stop.
_IDEOGRAPHIC_DOTS = {0x3002: ".", 0xFF0E: ".", 0xFF61: "."}
_LABEL = re.compile(r"[a-z0-9_-]{1,63}")
_IPV6_LITERAL = re.compile(r"[0-9A-Fa-f:.]+")
_PORT = re.compile(r"[0-9]{1,5}")
# RFC 3986 pchar without "%", plus "/" and "?": what may appear as-is in a request target.
_TARGET_SAFE = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/?"
)
_HEX = frozenset("0123456789abcdefABCDEF")


@dataclass(frozen=True)
class ParsedURL:
    scheme: str
    host: str
    """The normalized ASCII host: an IDNA name, or the canonical text of `address`."""
    address: IPAddress | None
    """Set when the host is a literal address (in whatever notation it was written)."""
    port: int
    path_and_query: str

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if isinstance(self.address, IPv6Address) else self.host
        if self.port != DEFAULT_PORTS[self.scheme]:
            return f"{host}:{self.port}"
        return host

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host_header}{self.path_and_query}"


def parse_target(url: str) -> ParsedURL:
    """`url` normalized, or `FetchRefused` saying what is wrong with it.

    Only syntax and host normalization happen here; whether the port and the addresses are
    allowed is the fetcher's decision, made on the addresses it will connect to.
    """
    if not isinstance(url, str) or not url:
        raise FetchRefused(INVALID)
    if len(url) > MAX_URL_LENGTH:
        raise FetchRefused("The URL is too long")
    if any(_forbidden_character(c) for c in url):
        raise FetchRefused(BAD_CHARACTERS)
    try:
        parts = urlsplit(url)
    except ValueError:
        raise FetchRefused(INVALID) from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise FetchRefused(BAD_SCHEME)
    if "@" in parts.netloc:
        raise FetchRefused(CREDENTIALS)
    raw_host, raw_port = _split_authority(parts.netloc)
    port = DEFAULT_PORTS[scheme] if raw_port is None else _parse_port(raw_port)
    host, address = _normalize_host(raw_host)
    _agree_with_urllib3(url)
    return ParsedURL(scheme, host, address, port, _request_target(parts))


def resolve_redirect(current: ParsedURL, location: str) -> ParsedURL:
    """The URL a `Location` header points to, from `current`, checked like a first URL."""
    # Checked before `urljoin`, which would silently drop tabs and newlines.
    if any(_forbidden_character(c) for c in location):
        raise FetchRefused(BAD_CHARACTERS)
    try:
        joined = urljoin(current.url, location)
    except ValueError:
        raise FetchRefused(INVALID) from None
    return parse_target(joined)


def _forbidden_character(c: str) -> bool:
    return c == "\\" or c.isspace() or unicodedata.category(c) in _FORBIDDEN_CATEGORIES


def _split_authority(netloc: str) -> tuple[str, str | None]:
    """Host (IPv6 with its brackets) and port text, or FetchRefused."""
    if not netloc:
        raise FetchRefused("The URL has no host")
    if netloc.startswith("["):
        close = netloc.find("]")
        if close < 0:
            raise FetchRefused(BAD_HOST)
        host, rest = netloc[: close + 1], netloc[close + 1 :]
        if rest and not rest.startswith(":"):
            raise FetchRefused(BAD_HOST)
        port = rest[1:] if rest else None
    else:
        host, colon, port_text = netloc.partition(":")
        port = port_text if colon else None
    if not host or "[" in host[1:] or "]" in host[:-1] or (port is not None and ":" in port):
        raise FetchRefused(BAD_HOST)
    return host, port


def _parse_port(text: str) -> int:
    # ASCII digits only: int() would also take other scripts' digits and surrounding spaces.
    if not _PORT.fullmatch(text) or not 0 < int(text) < 65536:
        raise FetchRefused(BAD_PORT)
    return int(text)


def _agree_with_urllib3(url: str) -> None:
    """Refuse `url` unless urllib3's parser splits its authority as `urlsplit` does.

    Both parsers see the same text with non-ASCII characters replaced by `x`: every URL
    delimiter is ASCII, so that keeps the structure while sparing urllib3 the optional
    `idna` package it needs for non-ASCII hosts. The host itself is normalized afterwards,
    by us, from the span both parsers agreed on.
    """
    skeleton = "".join(c if c.isascii() else "x" for c in url)
    try:
        theirs = parse_url(skeleton)
        ours = urlsplit(skeleton)
    except (LocationParseError, ValueError):
        raise FetchRefused(INVALID) from None
    host, port = _split_authority(ours.netloc)
    our_port = int(port) if port and _PORT.fullmatch(port) else None
    same = (
        (theirs.scheme or "") == ours.scheme.lower()
        and theirs.auth is None
        and (theirs.host or "").lower() == host.lower()
        and theirs.port == our_port
    )
    if not same:
        raise FetchRefused(INVALID)


def _normalize_host(raw: str) -> tuple[str, IPAddress | None]:
    if raw.startswith("["):
        literal = raw[1:-1]
        # No zone ids (`%25eth0`), no IPvFuture (`v1.x`): neither names a public host.
        if not _IPV6_LITERAL.fullmatch(literal):
            raise FetchRefused(BAD_HOST)
        try:
            address = IPv6Address(literal)
        except ValueError:
            raise FetchRefused(BAD_HOST) from None
        return str(address), address

    # What getaddrinfo would do through IDNA, done up front so that the host is classified
    # in the form it will be resolved or connected in.
    host = unicodedata.normalize("NFKC", raw).translate(_IDEOGRAPHIC_DOTS).lower()
    if any(c in _HOST_DELIMITERS or _forbidden_character(c) for c in host):
        raise FetchRefused(BAD_HOST)
    if host.endswith("."):
        host = host[:-1]
    labels = []
    for label in host.split("."):
        if not label.isascii():
            try:
                label = stdlib_idna.ToASCII(label).decode("ascii").lower()
            except UnicodeError:
                raise FetchRefused(BAD_HOST) from None
        if not _LABEL.fullmatch(label):
            raise FetchRefused(BAD_HOST)
        labels.append(label)
    host = ".".join(labels)
    if len(host) > 253:
        raise FetchRefused(BAD_HOST)
    if looks_numeric(host):
        ipv4 = parse_ipv4(host)
        if ipv4 is None:
            raise FetchRefused(BAD_HOST)
        return str(ipv4), ipv4
    return host, None


def _request_target(parts: SplitResult) -> str:
    """Path and query as an ASCII request target: the path as given, with what is not allowed
    in a request line percent-encoded (non-ASCII as UTF-8), and existing escapes kept."""
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    out = []
    for i, c in enumerate(target):
        escape = c == "%" and target[i + 1 : i + 2] in _HEX and target[i + 2 : i + 3] in _HEX
        if c in _TARGET_SAFE or escape:
            out.append(c)
        else:
            out.extend(f"%{byte:02X}" for byte in c.encode("utf-8", "surrogatepass"))
    return "".join(out)
