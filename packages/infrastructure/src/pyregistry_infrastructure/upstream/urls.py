"""URL helpers for upstream requests: origins, credential-free URLs, IPv6 literals kept in brackets."""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit, urlunsplit

__all__ = ["Origin", "host_port", "origin_of", "redact", "without_credentials"]

Origin = tuple[str, str, int]
"""(scheme, lower-case host without brackets, port with the scheme's default filled in)."""

_DEFAULT_PORTS = {"http": 80, "https": 443}


def host_port(parts: SplitResult) -> str:
    """The authority of ``parts`` without userinfo: an IPv6 host stays in brackets, the port is kept."""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{parts.port}" if parts.port else host


def origin_of(url: str) -> Origin:
    """The origin of an http(s) URL; ``ValueError`` for another scheme, no host or a malformed port."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"{redact(url)!r} is not an http(s) URL")
    return scheme, parts.hostname.lower(), parts.port or _DEFAULT_PORTS[scheme]


def without_credentials(url: str) -> str:
    """``url`` without userinfo and fragment (the query is kept)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, host_port(parts), parts.path, parts.query, ""))


def redact(url: str) -> str:
    """``url`` for logs: no userinfo, query or fragment."""
    try:
        parts = urlsplit(url)
        return urlunsplit((parts.scheme, host_port(parts), parts.path, "", ""))
    except ValueError:
        return "<malformed URL>"
