"""Which IP addresses an import may connect to, and how numeric host spellings are read.

An explicit table of refused networks, not Python's `ipaddress` predicates: on 3.11
`100.64.0.1` (CGNAT) is neither private nor global, `is_global` is True for multicast
(`224.0.0.1`, `ff02::1`), NAT64 (`64:ff9b::7f00:1`), 6to4 (`2002:7f00:1::`), IPv4-compatible
`::127.0.0.1` and site-local `fec0::1`, and `::ffff:127.0.0.1` is not `is_loopback`
(SECURITY-NOTES, "Importing from a URL"). The table follows the IANA IPv4 and IPv6
special-purpose registries plus multicast and the reserved 240/4; IPv6 is further limited to
2000::/3, the only block IANA allocates for global unicast.

IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64, 6to4, Teredo) are unwrapped
and the IPv4 goes through the IPv4 table: a refused IPv4 stays refused whatever it is wrapped
in.

`parse_ipv4` reads a host the way glibc's `inet_aton` does (`2130706433`, `0x7f.1`,
`0177.0.0.1`, `127.1`, `0`), because `getaddrinfo` accepts all of these as addresses while
`ipaddress.ip_address` rejects them: a check that lets them through as "names" is bypassed.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

REFUSED_IPV4: tuple[tuple[IPv4Network, str], ...] = tuple(
    (IPv4Network(net), reason)
    for net, reason in (
        ("0.0.0.0/8", "this network"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "shared address space (CGNAT)"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local (cloud metadata, ECS credentials)"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "IETF protocol assignments"),
        ("192.0.2.0/24", "documentation (TEST-NET-1)"),
        ("192.88.99.0/24", "6to4 relay anycast"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation (TEST-NET-2)"),
        ("203.0.113.0/24", "documentation (TEST-NET-3)"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved, broadcast"),
    )
)

# Ranges that embed an IPv4 address and are judged by it are absent here on purpose:
# ::ffff:0:0/96 (mapped), 64:ff9b::/96 (NAT64) and 2002::/16 (6to4) are unwrapped first.
REFUSED_IPV6: tuple[tuple[IPv6Network, str], ...] = tuple(
    (IPv6Network(net), reason)
    for net, reason in (
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        # Deprecated by RFC 4291 and never routed; Linux's sit0 would still tunnel it to the
        # embedded IPv4, so it is refused even when that IPv4 is public.
        ("::/96", "IPv4-compatible (deprecated)"),
        # RFC 8215 local-use NAT64: the prefix length, hence where the IPv4 sits, is a local
        # choice, so nothing can be unwrapped reliably; the registry marks it not global.
        ("64:ff9b:1::/48", "local-use NAT64"),
        ("100::/64", "discard-only"),
        # Includes Teredo (2001::/32, unwrapped below for the reason), benchmarking
        # (2001:2::/48) and ORCHID; nothing in it serves images.
        ("2001::/23", "IETF protocol assignments"),
        ("2001:db8::/32", "documentation"),
        ("3fff::/20", "documentation"),
        ("5f00::/16", "segment routing (SRv6) SIDs"),
        ("fc00::/7", "unique local"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local (deprecated)"),
        ("ff00::/8", "multicast"),
    )
)

GLOBAL_UNICAST_V6 = IPv6Network("2000::/3")
_MAPPED = IPv6Network("::ffff:0:0/96")
_COMPATIBLE = IPv6Network("::/96")
_NAT64 = IPv6Network("64:ff9b::/96")
_SIXTOFOUR = IPv6Network("2002::/16")
_TEREDO = IPv6Network("2001::/32")


def embedded_ipv4(address: IPv6Address) -> tuple[tuple[str, IPv4Address], ...]:
    """Every IPv4 address `address` carries, each with the name of the wrapping.

    Teredo carries two: the server and the client (stored bit-inverted). Both must pass.
    """
    if address in _MAPPED:
        return (("IPv4-mapped", IPv4Address(int(address) & 0xFFFFFFFF)),)
    if address in _COMPATIBLE and int(address) > 1:
        return (("IPv4-compatible", IPv4Address(int(address) & 0xFFFFFFFF)),)
    if address in _NAT64:
        return (("NAT64", IPv4Address(int(address) & 0xFFFFFFFF)),)
    if address in _SIXTOFOUR:
        return (("6to4", IPv4Address((int(address) >> 80) & 0xFFFFFFFF)),)
    if address in _TEREDO:
        server = IPv4Address((int(address) >> 64) & 0xFFFFFFFF)
        client = IPv4Address(~int(address) & 0xFFFFFFFF)
        return (("Teredo server", server), ("Teredo client", client))
    return ()


def refusal_reason(address: IPAddress) -> str | None:
    """Why an import must not connect to `address`, or None when it is public.

    The reason is for logs only: clients get one message for every refusal, so that the
    answer does not reveal what an internal name resolves to.
    """
    if isinstance(address, IPv4Address):
        for network, reason in REFUSED_IPV4:
            if address in network:
                return reason
        return None
    if address.scope_id:
        return "scoped (zone id)"
    for wrapping, inner in embedded_ipv4(address):
        inner_reason = refusal_reason(inner)
        if inner_reason is not None:
            return f"{wrapping} {inner_reason}"
    for network6, reason in REFUSED_IPV6:
        if address in network6:
            return reason
    if address in _MAPPED or address in _NAT64:
        # Routed as the IPv4 they carry, which passed above.
        return None
    if address not in GLOBAL_UNICAST_V6:
        return "not in global unicast (2000::/3)"
    return None


def is_allowed_by(address: IPAddress, networks: tuple[IPNetwork, ...]) -> bool:
    """Whether `address` is inside one of `networks` (the operator's explicit exceptions).

    An IPv4-mapped IPv6 address counts as its IPv4: connecting to it reaches that IPv4.
    """
    candidates: list[IPAddress] = [address]
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        candidates.append(address.ipv4_mapped)
    return any(
        candidate.version == network.version and candidate in network
        for candidate in candidates
        for network in networks
    )


_IPV4_PART = re.compile(r"0[xX][0-9a-fA-F]*|0[0-7]*|[1-9][0-9]*")
# Limits of the last part by the number of parts before it: `a`, `a.b`, `a.b.c`, `a.b.c.d`.
_LAST_PART_MAX = (0xFFFFFFFF, 0xFFFFFF, 0xFFFF, 0xFF)


def parse_ipv4(text: str) -> IPv4Address | None:
    """`text` read as glibc's `inet_aton` reads it, or None if it would not accept it.

    One to four parts separated by dots, each decimal, octal (leading `0`) or hexadecimal
    (`0x`); the last part fills the remaining bytes. glibc >= 2.33 reads each part with
    `strtoul(..., 0)`, so `0x` alone is `0` followed by a stray `x` and is rejected, as are
    `08` and empty parts. ASCII only: `int()` would accept other scripts' digits.
    """
    if not text.isascii():
        return None
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values: list[int] = []
    for part in parts:
        if not _IPV4_PART.fullmatch(part):
            return None
        if part[:2] in ("0x", "0X"):
            if len(part) == 2:
                return None
            values.append(int(part[2:], 16))
        elif part.startswith("0"):
            values.append(int(part, 8))
        elif len(part) > 10:
            # Over 2**32 anyway; and int() refuses very long decimal strings with an error.
            return None
        else:
            values.append(int(part))
    *head, last = values
    if any(value > 0xFF for value in head) or last > _LAST_PART_MAX[len(head)]:
        return None
    number = 0
    for value in head:
        number = number << 8 | value
    number = number << (8 * (4 - len(head))) | last
    return IPv4Address(number)


def looks_numeric(host: str) -> bool:
    """Whether the last label of `host` is a number, which makes the host an IPv4 address.

    The WHATWG URL rule: such a host must parse as IPv4 or is invalid. Every string that
    `inet_aton` accepts ends in such a label, so none of them is ever sent to a resolver.
    """
    last = host.rsplit(".", 1)[-1]
    return bool(re.fullmatch(r"[0-9]+|0[xX][0-9a-fA-F]*", last))


def parse_resolved(text: str) -> IPAddress | None:
    """An address string as a resolver returns it, or None if it is not one."""
    try:
        return ip_address(text)
    except ValueError:
        return None
