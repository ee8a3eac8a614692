"""imgpro.fetching's pure parts: the refused-network table, embedded IPv4 unwrapping, glibc's
IPv4 notations and URL/host normalization. No sockets (inet_aton is a local parse)."""

from __future__ import annotations

import socket
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imgpro.fetching import FetchRefused
from imgpro.fetching import targets as targets_module
from imgpro.fetching.addresses import (
    embedded_ipv4,
    is_allowed_by,
    looks_numeric,
    parse_ipv4,
    refusal_reason,
)
from imgpro.fetching.targets import parse_target, resolve_redirect

# Every range the brief and the IANA special-purpose registries call not global.
REFUSED_RANGES = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.88.99.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "::/128",
    "::1/128",
    "::ffff:0:0/104",  # mapped 0.0.0.0/8
    "::ffff:127.0.0.0/104",
    "::ffff:10.0.0.0/104",
    "::/96",
    "64:ff9b::7f00:0/104",
    "64:ff9b::a00:0/104",
    "64:ff9b:1::/48",
    "100::/64",
    "2001::/32",
    "2001:2::/48",
    "2001:db8::/32",
    "2002:7f00::/24",
    "2002:a00::/24",
    "2002:a9fe::/32",
    "3fff::/20",
    "5f00::/16",
    "fc00::/7",
    "fe80::/10",
    "fec0::/10",
    "ff00::/8",
]


@pytest.mark.parametrize("network", REFUSED_RANGES)
def test_every_address_of_a_refused_range_is_refused(network: str) -> None:
    net = ip_network(network)
    middle = net[min(net.num_addresses, 2**20) // 2]
    for address in (net.network_address, net.broadcast_address, middle):
        assert refusal_reason(address) is not None, address


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("100.64.0.1", "CGNAT is neither private nor global on 3.11"),
        ("224.0.0.1", "is_global is True for multicast"),
        ("ff02::1", "is_global is True for multicast"),
        ("64:ff9b::7f00:1", "is_global is True for NAT64"),
        ("2002:7f00:1::", "is_global is True for 6to4"),
        ("::127.0.0.1", "is_global is True for IPv4-compatible"),
        ("fec0::1", "is_global is True for site-local"),
        ("::ffff:127.0.0.1", "not is_loopback"),
        ("169.254.169.254", "metadata"),
        ("169.254.170.2", "ECS credentials"),
        ("fd00:ec2::254", "EC2 IMDS over IPv6"),
        ("255.255.255.255", "broadcast"),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "Teredo client 127.0.0.1"),
        ("2001:0:7f00:1::f7f7:f7f7", "Teredo server 127.0.0.1"),
        ("5f00::1", "SRv6"),
        ("400::1", "outside 2000::/3"),
        ("e000::1", "outside 2000::/3"),
    ],
)
def test_what_pythons_predicates_get_wrong_is_refused(address: str, why: str) -> None:
    assert refusal_reason(ip_address(address)) is not None, why


@pytest.mark.parametrize(
    "address",
    [
        "93.184.215.14",
        "8.8.8.8",
        "1.1.1.1",
        "100.63.255.255",
        "100.128.0.0",
        "172.15.255.255",
        "172.32.0.0",
        "192.0.1.255",
        "198.17.255.255",
        "198.20.0.0",
        "223.255.255.255",
        "2606:4700::1111",
        "2a00:1450:4001:80b::200e",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
        "2002:808:808::1",
    ],
)
def test_public_addresses_pass(address: str) -> None:
    assert refusal_reason(ip_address(address)) is None


def test_a_scoped_address_is_refused() -> None:
    assert refusal_reason(IPv6Address("2606:4700::1111%eth0")) is not None


def test_embedded_ipv4_is_unwrapped_from_every_wrapping() -> None:
    def unwrap(text: str) -> list[tuple[str, str]]:
        return [(kind, str(v4)) for kind, v4 in embedded_ipv4(IPv6Address(text))]

    assert unwrap("::ffff:7f00:1") == [("IPv4-mapped", "127.0.0.1")]
    assert unwrap("::7f00:1") == [("IPv4-compatible", "127.0.0.1")]
    assert unwrap("64:ff9b::a9fe:a9fe") == [("NAT64", "169.254.169.254")]
    assert unwrap("2002:a00:1::") == [("6to4", "10.0.0.1")]
    # RFC 4380's own example: server 65.54.227.120, client 192.0.2.45.
    assert unwrap("2001:0:4136:e378:8000:63bf:3fff:fdd2") == [
        ("Teredo server", "65.54.227.120"),
        ("Teredo client", "192.0.2.45"),
    ]
    assert unwrap("::1") == [] and unwrap("::") == [] and unwrap("2606:4700::1") == []


def test_allowed_networks_match_mapped_addresses_as_their_ipv4() -> None:
    loopback = (ip_network("127.0.0.0/8"),)
    assert is_allowed_by(ip_address("127.0.0.1"), loopback)
    assert is_allowed_by(ip_address("::ffff:127.0.0.1"), loopback)
    assert not is_allowed_by(ip_address("::1"), loopback)
    assert not is_allowed_by(ip_address("10.0.0.1"), loopback)
    assert not is_allowed_by(ip_address("127.0.0.1"), ())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0X7F000001", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0177.0.0.01", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("0", "0.0.0.0"),
        ("0x", None),
        ("08", None),
        ("0x7g", None),
        ("1.2.3.4.5", None),
        ("256.0.0.1", None),
        ("1.16777216", None),
        ("1.2.65536", None),
        ("4294967296", None),
        ("4294967295", "255.255.255.255"),
        ("1..1", None),
        ("1.", None),
        (".1", None),
        ("", None),
        ("+1", None),
        ("\uff11", None),
        ("1" * 5000, None),
    ],
)
def test_parse_ipv4_reads_what_glibc_reads(text: str, expected: str | None) -> None:
    parsed = parse_ipv4(text)
    assert (str(parsed) if parsed else None) == expected


def _inet_aton(text: str) -> IPv4Address | None:
    try:
        return IPv4Address(socket.inet_aton(text))
    except (OSError, ValueError):
        return None


@settings(max_examples=500, database=None)
@given(st.text(alphabet="0123456789xXabcdefABCDEF.", max_size=24))
def test_parse_ipv4_agrees_with_the_c_library(text: str) -> None:
    # socket.inet_aton is glibc's inet_aton: a local parse, no lookup.
    assert parse_ipv4(text) == _inet_aton(text)


@pytest.mark.parametrize(
    ("host", "numeric"),
    [("1.2.3.4", True), ("0x7f", True), ("a.0x", True), ("1.2.3.a", False), ("0x7f.com", False)],
)
def test_a_host_ending_in_a_number_is_numeric(host: str, numeric: bool) -> None:
    assert looks_numeric(host) is numeric


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://Example.COM/", "http://example.com/"),
        ("http://example.com./", "http://example.com/"),
        ("http://example.com", "http://example.com/"),
        ("HTTPS://example.com:443/a?b=c#frag", "https://example.com/a?b=c"),
        ("http://example.com:80/", "http://example.com/"),
        ("https://example.com:80/", "https://example.com:80/"),
        ("http://b\u00fccher.example/", "http://xn--bcher-kva.example/"),
        ("http://\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com/", "http://example.com/"),
        ("http://ex_ample.com/", "http://ex_ample.com/"),
        ("http://example.com/caf\u00e9", "http://example.com/caf%C3%A9"),
        ("http://example.com/a%2Fb%zz/<>", "http://example.com/a%2Fb%25zz/%3C%3E"),
        ("http://example.com?q", "http://example.com/?q"),
        ("http://[2606:4700:0::1111]:8443/", "http://[2606:4700::1111]:8443/"),
        ("http://0x5db8d70e/", "http://93.184.215.14/"),
    ],
)
def test_urls_are_normalized(url: str, expected: str) -> None:
    assert parse_target(url).url == expected


def test_a_literal_address_is_kept_apart_from_names() -> None:
    parsed = parse_target("http://0x7f.1:8080/x")
    assert parsed.address == IPv4Address("127.0.0.1")
    assert (parsed.host, parsed.port, parsed.host_header) == ("127.0.0.1", 8080, "127.0.0.1:8080")
    assert parse_target("http://images.example.com/").address is None


@pytest.mark.parametrize(
    "host",
    [
        "a..b",
        ".a",
        "a" * 64 + ".com",
        ("a" * 60 + ".") * 5 + "com",
        "exa mple.com",
        "1.2.3.4.5",
        "0x",
        "08.1.1.1",
        "\u2488.com",  # ⒈ becomes "1." under NFKC: an empty label
        "a\u3002\u3002b",
        "[1.2.3.4]",
        "[::1",
        "::1",
        "[::1]x",
        "a]b",
        "exam\u00adple.com",
    ],
)
def test_bad_hosts_are_refused(host: str) -> None:
    with pytest.raises(FetchRefused):
        parse_target(f"http://{host}/")


def test_urllib3_and_urlsplit_must_agree_on_the_authority(monkeypatch: pytest.MonkeyPatch) -> None:
    agree = targets_module._agree_with_urllib3
    agree("http://example.com:8080/a")
    agree("http://b\u00fccher.example/")
    # The trick from SECURITY-NOTES, past the character filter: urllib3 stops the authority at
    # the backslash (127.0.0.1:80), urlsplit at the slash (host example.com).
    with pytest.raises(FetchRefused):
        agree("http://127.0.0.1:80\\@example.com/")

    real = targets_module.parse_url

    def disagreeing(url: str):  # type: ignore[no-untyped-def]
        return real(url)._replace(host="127.0.0.1")

    monkeypatch.setattr(targets_module, "parse_url", disagreeing)
    with pytest.raises(FetchRefused):
        parse_target("http://example.com/")


def test_a_redirect_location_is_resolved_against_the_current_url() -> None:
    current = parse_target("https://images.example.com/a/b/c.png?x=1")
    assert resolve_redirect(current, "d.png").url == "https://images.example.com/a/b/d.png"
    assert resolve_redirect(current, "/e.png").url == "https://images.example.com/e.png"
    assert resolve_redirect(current, "//cdn.example.net/f").url == "https://cdn.example.net/f"
    assert resolve_redirect(current, "http://x.example/").url == "http://x.example/"
    assert resolve_redirect(current, "?y=2").url == "https://images.example.com/a/b/c.png?y=2"


@pytest.mark.parametrize(
    "location",
    ["/a\tb", "//127.0.0.1\n/", "\\\\127.0.0.1/", "file:///etc/passwd", "http://u@x.example/"],
)
def test_a_bad_redirect_location_is_refused(location: str) -> None:
    current = parse_target("https://images.example.com/")
    with pytest.raises(FetchRefused):
        resolve_redirect(current, location)


@pytest.mark.parametrize("value", [None, 42, b"http://example.com/", "", "x" * 9000])
def test_non_urls_are_refused(value: object) -> None:
    with pytest.raises(FetchRefused):
        parse_target(value)  # type: ignore[arg-type]
