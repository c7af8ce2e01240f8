"""Client addresses from the TCP peer or trusted proxy headers, and CIDR allow-lists; examples plus fuzzing."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyregistry_web.client_address import (
    IPAddress,
    client_address,
    forwarded_https,
    parse_address,
    parse_forwarded,
    parse_x_forwarded_for,
)
from pyregistry_web.network_and_rate_limits import AllowedNetworks, Zone, parse_cidrs, zone_for

FUZZ_EXAMPLES = 300


def ip(text: str) -> IPAddress:
    return ipaddress.ip_address(text)


def scope_with(peer: str | None, *headers: tuple[str, str]) -> dict[str, Any]:
    return {
        "type": "http",
        "path": "/t/acme/simple/",
        "client": (peer, 50000) if peer else None,
        "headers": [(name.lower().encode(), value.encode("latin-1")) for name, value in headers],
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("192.0.2.1", "192.0.2.1"),
        (" 192.0.2.1 ", "192.0.2.1"),
        ("192.0.2.1:8080", "192.0.2.1"),
        ("2001:db8::1", "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("::ffff:127.0.0.1", "127.0.0.1"),
        ("[::ffff:10.1.2.3]:80", "10.1.2.3"),
    ],
)
def test_parse_address_accepts(text: str, expected: str) -> None:
    assert parse_address(text) == ip(expected)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "unknown",
        "example.com",
        "192.0.2.1:http",
        "[192.0.2.1]",
        "[2001:db8::1",
        "[::1]x",
        "300.1.1.1",
        "fe80::1%eth0",
    ],
)
def test_parse_address_rejects(text: str) -> None:
    assert parse_address(text) is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("203.0.113.7, 10.0.0.1, 10.0.0.2", "203.0.113.7"),
        ("unknown, garbage, 198.51.100.4, 10.0.0.1", "198.51.100.4"),
        ("2001:db8::7, 10.0.0.1", "2001:db8::7"),
        ("[2001:db8::7]:1234", "2001:db8::7"),
    ],
)
def test_x_forwarded_for_takes_left_most_valid_entry(header: str, expected: str) -> None:
    assert parse_x_forwarded_for(header) == ip(expected)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("for=192.0.2.60;proto=http;by=203.0.113.43", "192.0.2.60"),
        ('For="[2001:db8:cafe::17]:4711"', "2001:db8:cafe::17"),
        ('for="[::1]:80"', "::1"),
        ("for=192.0.2.43, for=198.51.100.17", "192.0.2.43"),
        ("for=unknown, for=198.51.100.17", "198.51.100.17"),
        ("for=_hidden, for=_SEVKISEK;proto=https, for=198.51.100.17", "198.51.100.17"),
        ('for="192.0.2.60:_port"', "192.0.2.60"),
        ('by="a;b,c";for=192.0.2.9', "192.0.2.9"),
        ('for="[::ffff:10.9.8.7]"', "10.9.8.7"),
    ],
)
def test_forwarded_header(header: str, expected: str) -> None:
    assert parse_forwarded(header) == ip(expected)


@pytest.mark.parametrize(
    "header",
    ["for=2001:db8::1", "for=unknown", "for=_obfuscated", 'for="[2001:db8::1', "proto=https", "for=", "for=1.2.3.4:x"],
)
def test_forwarded_header_without_usable_node(header: str) -> None:
    assert parse_forwarded(header) is None


def test_untrusted_headers_never_change_the_client() -> None:
    scope = scope_with(
        "127.0.0.1", ("X-Forwarded-For", "6.6.6.6"), ("X-Real-IP", "6.6.6.7"), ("Forwarded", "for=6.6.6.8")
    )
    assert client_address(scope, trust_proxy_headers=False) == ip("127.0.0.1")


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ((("X-Forwarded-For", "198.51.100.1"), ("X-Real-IP", "198.51.100.2")), "198.51.100.1"),
        ((("X-Real-IP", "198.51.100.2"), ("Forwarded", "for=198.51.100.3")), "198.51.100.2"),
        ((("Forwarded", "for=198.51.100.3"),), "198.51.100.3"),
        ((("X-Forwarded-For", "nonsense"), ("X-Real-IP", "198.51.100.2")), "198.51.100.2"),
        ((("X-Forwarded-For", "nonsense"), ("Forwarded", "for=_x")), "127.0.0.1"),
        ((("X-Forwarded-For", "garbage"), ("X-Forwarded-For", "198.51.100.9")), "198.51.100.9"),
        ((), "127.0.0.1"),
    ],
)
def test_trusted_proxy_header_precedence_and_fallback(headers: tuple[tuple[str, str], ...], expected: str) -> None:
    assert client_address(scope_with("127.0.0.1", *headers), trust_proxy_headers=True) == ip(expected)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ((("X-Forwarded-Proto", "https"),), True),
        ((("X-Forwarded-Proto", "HTTPS, http"),), True),
        ((("X-Forwarded-Proto", "http, https"),), False),
        ((("X-Forwarded-Proto", "http"), ("Forwarded", "proto=https")), False),
        ((("Forwarded", "for=192.0.2.1;proto=https"),), True),
        ((("Forwarded", 'proto="https";for=192.0.2.1, proto=http'),), True),
        ((("Forwarded", "for=192.0.2.1, proto=https"),), True),
        ((("Forwarded", "for=192.0.2.1;proto=http"),), False),
        ((("Forwarded", 'proto="https'),), False),
        ((), False),
    ],
)
def test_forwarded_https_reads_x_forwarded_proto_then_forwarded(
    headers: tuple[tuple[str, str], ...], expected: bool
) -> None:
    assert forwarded_https(scope_with("127.0.0.1", *headers)) is expected


def test_peer_mapped_ipv6_is_plain_ipv4_and_missing_peer_is_none() -> None:
    assert client_address(scope_with("::ffff:127.0.0.1"), trust_proxy_headers=False) == ip("127.0.0.1")
    assert client_address(scope_with(None), trust_proxy_headers=False) is None


@pytest.mark.parametrize(
    ("path", "zone"),
    [
        ("/", Zone.WEB_UI),
        ("/admin", Zone.WEB_UI),
        ("/admin/t/acme/packages", Zone.WEB_UI),
        ("/static/admin.css", Zone.WEB_UI),
        ("/t/acme/simple/", Zone.API),
        ("/t/acme/files/demo/1.0/demo-1.0.tar.gz", Zone.API),
        ("//t/acme/simple/", Zone.API),
        ("/_/oidc/mint-token", Zone.API),
        ("/_/osv/v1/query", Zone.API),
        ("/healthz", None),
        ("/administrator", None),
        ("/favicon.ico", None),
    ],
)
def test_zones(path: str, zone: Zone | None) -> None:
    assert zone_for(path) is zone


def test_cidr_lists() -> None:
    allowed = AllowedNetworks(parse_cidrs(["10.0.0.0/8", "192.168.1.7", "2001:db8::/32", "::ffff:172.16.0.0/108"]))
    assert allowed.allows(ip("10.200.3.4"))
    assert allowed.allows(ip("192.168.1.7"))
    assert not allowed.allows(ip("192.168.1.8"))
    assert allowed.allows(ip("2001:db8:1::5"))
    assert allowed.allows(ip("172.16.9.9"))
    assert not allowed.allows(None)
    assert not AllowedNetworks(())


def test_ipv4_address_never_matches_an_ipv6_range_of_the_same_integer() -> None:
    assert not AllowedNetworks(parse_cidrs(["::/96"])).allows(ip("0.0.0.1"))
    assert not AllowedNetworks(parse_cidrs(["0.0.0.0/8"])).allows(ip("::1"))


@pytest.mark.parametrize("text", ["10.0.0.0/33", "intranet", "", "10.0.0.0/8/8", "::/129"])
def test_bad_cidr_is_named(text: str) -> None:
    with pytest.raises(ValueError, match="is not a CIDR range") as caught:
        parse_cidrs(["10.0.0.0/8", text])
    assert repr(text) in str(caught.value)


# ---- fuzzing -------------------------------------------------------------------------------------------------

addresses = st.ip_addresses()
header_text = st.one_of(
    st.text(alphabet=st.characters(codec="latin-1"), max_size=200),
    st.text(alphabet='0123456789abcdefABCDEF:.[]"\\,; =_forunkwn%/', max_size=80),
)
junk_entries = st.sampled_from(["unknown", "", " ", "garbage", "1.2.3", "[::1", "_hidden", "999.1.1.1", "a:b:c"])


def plain(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@pytest.mark.slow
@settings(max_examples=FUZZ_EXAMPLES)
@given(header_text)
def test_fuzz_parsers_never_raise(value: str) -> None:
    for parser in (parse_address, parse_x_forwarded_for, parse_forwarded):
        result = parser(value)
        assert result is None or isinstance(result, ipaddress.IPv4Address | ipaddress.IPv6Address)


@settings(max_examples=FUZZ_EXAMPLES)
@given(header_text, header_text, header_text, st.booleans())
def test_fuzz_client_address_is_peer_unless_trusted(xff: str, real: str, forwarded: str, trust: bool) -> None:
    scope = scope_with("192.0.2.250", ("X-Forwarded-For", xff), ("X-Real-IP", real), ("Forwarded", forwarded))
    result = client_address(scope, trust_proxy_headers=trust)
    if not trust:
        assert result == ip("192.0.2.250")
    else:
        candidates = [parse_x_forwarded_for(xff), parse_address(real), parse_forwarded(forwarded)]
        assert result == next((c for c in candidates if c is not None), ip("192.0.2.250"))


@pytest.mark.slow
@settings(max_examples=FUZZ_EXAMPLES)
@given(st.lists(junk_entries, max_size=4), addresses, st.lists(addresses, max_size=3), st.booleans())
def test_fuzz_x_forwarded_for_finds_first_address(
    junk: list[str], first: IPAddress, rest: list[IPAddress], with_port: bool
) -> None:
    def render(address: IPAddress) -> str:
        if not with_port:
            return str(address)
        return f"[{address}]:8080" if address.version == 6 else f"{address}:8080"

    header = ", ".join([*junk, render(first), *(render(a) for a in rest)])
    assert parse_x_forwarded_for(header) == plain(first)


@pytest.mark.slow
@settings(max_examples=FUZZ_EXAMPLES)
@given(
    st.lists(st.sampled_from(["for=unknown", "for=_hidden", 'for="_x:_y"', "proto=https", "by=10.0.0.1"]), max_size=3),
    addresses,
    st.sampled_from(["", ":4711", ":_port"]),
    st.sampled_from(["", ";proto=https", ";by=_proxy;host=example.com"]),
)
def test_fuzz_forwarded_finds_first_ip_node(junk: list[str], address: IPAddress, port: str, extra: str) -> None:
    node = f"[{address}]{port}" if address.version == 6 else f"{address}{port}"
    quoted = f'"{node}"' if address.version == 6 or port else node
    header = ", ".join([*junk, f"for={quoted}{extra}", "for=198.51.100.200"])
    assert parse_forwarded(header) == plain(address)


@pytest.mark.slow
@settings(max_examples=FUZZ_EXAMPLES)
@given(addresses, st.data())
def test_fuzz_cidr_contains_its_own_addresses(address: IPAddress, data: st.DataObject) -> None:
    prefix = data.draw(st.integers(min_value=0, max_value=address.max_prefixlen))
    network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    allowed = AllowedNetworks(parse_cidrs([str(network)]))
    assert allowed.allows(plain(address)) or (address.version == 6 and address.ipv4_mapped is not None and prefix < 96)


@settings(max_examples=FUZZ_EXAMPLES)
@given(st.lists(header_text, max_size=4))
def test_fuzz_cidr_parsing_fails_only_with_a_named_value_error(values: list[str]) -> None:
    try:
        networks = parse_cidrs(values)
    except ValueError as exc:
        assert "is not a CIDR range" in str(exc)
    else:
        assert len(networks) == len(values)
