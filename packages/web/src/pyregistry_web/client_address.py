"""Who is asking: the TCP peer, or (only when told to trust a reverse proxy) the client its headers name."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Iterator

from litestar.types import Scope

__all__ = [
    "IPAddress",
    "client_address",
    "forwarded_https",
    "parse_address",
    "parse_forwarded",
    "parse_x_forwarded_for",
    "peer_address",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_FORWARDED = b"forwarded"
_X_FORWARDED_FOR = b"x-forwarded-for"
_X_REAL_IP = b"x-real-ip"
_X_FORWARDED_PROTO = b"x-forwarded-proto"
_MAX_HEADER_CHARS = 8192


def _plain(address: IPAddress) -> IPAddress:
    """IPv4-mapped IPv6 (``::ffff:10.0.0.1``) becomes the IPv4 address it carries."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _port_ok(port: str) -> bool:
    return port.isascii() and port.isdigit() and len(port) <= 5


def parse_address(text: str) -> IPAddress | None:
    """An IP from ``1.2.3.4``, ``1.2.3.4:80``, ``::1``, ``[::1]`` or ``[::1]:80``; ``None`` if it is none of these."""
    text = text.strip()
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not (rest.startswith(":") and _port_ok(rest[1:]))):
            return None
        return _ip(host, version=6)
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return _ip(host, version=4) if _port_ok(port) else None
    return _ip(text, version=None)


def _ip(host: str, *, version: int | None) -> IPAddress | None:
    if not host or not host.isascii() or "%" in host:
        return None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if version is not None and address.version != version:
        return None
    return _plain(address)


def parse_x_forwarded_for(value: str) -> IPAddress | None:
    """The left-most entry of an ``X-Forwarded-For`` list that is an IP address."""
    for entry in value[:_MAX_HEADER_CHARS].split(","):
        address = parse_address(entry)
        if address is not None:
            return address
    return None


def _split_unquoted(text: str, separator: str) -> list[str] | None:
    """``text`` split at ``separator`` outside RFC 7230 quoted-strings, or ``None`` for an unterminated quote."""
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    if quoted or escaped:
        return None
    parts.append("".join(current))
    return parts


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        inner, out, escaped = value[1:-1], [], False
        for char in inner:
            if escaped or char != "\\":
                out.append(char)
                escaped = False
            else:
                escaped = True
        return "".join(out)
    return value


def _forwarded_values(value: str, parameter: str) -> Iterator[str]:
    """Every ``parameter=`` value of an RFC 7239 ``Forwarded`` header, left to right, unquoted."""
    elements = _split_unquoted(value[:_MAX_HEADER_CHARS], ",")
    for element in elements or ():
        for pair in _split_unquoted(element, ";") or ():
            name, equals, raw = pair.partition("=")
            if equals and name.strip().lower() == parameter:
                yield _unquote(raw.strip())


def _forwarded_node(node: str) -> IPAddress | None:
    """An RFC 7239 node (``nodename [":" node-port]``) as an IP, ``None`` for ``unknown`` or obfuscated names."""
    if node.startswith("["):
        name, bracket, rest = node[1:].partition("]")
        if not bracket:
            return None
        version = 6
    else:
        name, colon, port = node.partition(":")
        rest = colon + port
        version = 4
    if rest and not (rest.startswith(":") and (_port_ok(rest[1:]) or _obfuscated(rest[1:]))):
        return None
    return _ip(name, version=version)


def _obfuscated(token: str) -> bool:
    return len(token) > 1 and token.startswith("_") and all(c.isascii() and (c.isalnum() or c in "._-") for c in token)


def parse_forwarded(value: str) -> IPAddress | None:
    """The left-most ``for=`` node of an RFC 7239 ``Forwarded`` header that is an IP address.

    IPv6 nodes must be bracketed (``for="[2001:db8::1]:4711"``); ``unknown`` and obfuscated identifiers
    (``for=_hidden``) are skipped.
    """
    for node in _forwarded_values(value, "for"):
        address = _forwarded_node(node)
        if address is not None:
            return address
    return None


def peer_address(scope: Scope) -> IPAddress | None:
    """The TCP peer the ASGI server reports (``None`` over a Unix socket or when it reports none)."""
    client = scope.get("client")
    if not client:
        return None
    return _peer(str(client[0]))


@functools.lru_cache(maxsize=1024)
def _peer(host: str) -> IPAddress | None:
    """Peers repeat and come from the socket, not the request, so a small cache of parsed ones is safe."""
    return _ip(host.split("%", 1)[0], version=None)


def _joined(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> str | None:
    values = [value.decode("latin-1") for key, value in headers if key == name]
    return ",".join(values) if values else None


def client_address(scope: Scope, *, trust_proxy_headers: bool) -> IPAddress | None:
    """The client of an HTTP request.

    Without ``trust_proxy_headers`` this is always the TCP peer. With it, the first of ``X-Forwarded-For``
    (left-most valid entry), ``X-Real-IP`` and ``Forwarded`` (``for=``) that names an IP address wins;
    headers that are missing or name no valid address fall back to the peer.
    """
    if trust_proxy_headers:
        headers = scope.get("headers") or ()
        parsers = (
            (_X_FORWARDED_FOR, parse_x_forwarded_for),
            (_X_REAL_IP, parse_address),
            (_FORWARDED, parse_forwarded),
        )
        for name, parse in parsers:
            value = _joined(headers, name)
            address = parse(value) if value is not None else None
            if address is not None:
                return address
    return peer_address(scope)


def forwarded_https(scope: Scope) -> bool:
    """True when a reverse proxy says the client spoke https to it: the left-most ``X-Forwarded-Proto`` entry,
    else the first ``proto=`` of RFC 7239 ``Forwarded``. Only meaningful behind a proxy that overwrites both."""
    headers = scope.get("headers") or ()
    proto = _joined(headers, _X_FORWARDED_PROTO)
    if proto is not None:
        return proto[:_MAX_HEADER_CHARS].split(",", 1)[0].strip().lower() == "https"
    forwarded = _joined(headers, _FORWARDED)
    if forwarded is None:
        return False
    return next(_forwarded_values(forwarded, "proto"), "").strip().lower() == "https"
