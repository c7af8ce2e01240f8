"""The one way to build the HTTP client that talks to the upstream index: trust store, CA bundle and proxy.

It honours the environment the way pip and uv do: ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` add trusted CAs to the
system store (and certifi's bundle), ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``ALL_PROXY`` route requests through a
proxy (https through ``CONNECT``) and ``NO_PROXY`` exempts hosts. ``pypi.ca_bundle`` and ``pypi.proxy_url`` do the
same from the configuration; a configured proxy wins over the environment's, ``NO_PROXY`` applies to both.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
from collections.abc import Mapping
from pathlib import Path

import certifi
import httpx
import msgspec
import structlog

__all__ = ["EgressOptions", "build_http_client", "proxy_mounts", "tls_context"]

_log = structlog.get_logger(__name__)
USER_AGENT = "pyregistry-mirror"


class EgressOptions(msgspec.Struct, frozen=True, kw_only=True):
    """How upstream requests leave this host; ``timeout_seconds`` bounds connecting and every read."""

    timeout_seconds: float
    ca_bundle: str | None = None
    proxy_url: str | None = None


def _env(environ: Mapping[str, str], name: str) -> str:
    """A proxy variable, lower case first as curl and pip read them."""
    return (environ.get(name.lower()) or environ.get(name.upper()) or "").strip()


def _load(context: ssl.SSLContext, location: str, source: str) -> None:
    path = Path(location)
    if path.is_dir():
        context.load_verify_locations(capath=str(path))
    elif path.is_file():
        context.load_verify_locations(cafile=str(path))
    else:
        _log.warning("mirror.ca_location_missing", source=source, path=location)


def tls_context(ca_bundle: str | None, environ: Mapping[str, str]) -> ssl.SSLContext:
    """Certificate checks against the system store, certifi's bundle, ``SSL_CERT_FILE``/``SSL_CERT_DIR`` and
    ``ca_bundle`` (a PEM file or an OpenSSL hashed directory)."""
    context = ssl.create_default_context(cafile=certifi.where())
    context.load_default_certs()
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
        if environ.get(name):
            _load(context, environ[name], name)
    if ca_bundle:
        _load(context, ca_bundle, "pypi.ca_bundle")
    return context


def _no_proxy_pattern(entry: str) -> str | None:
    """The httpx mount pattern of one ``NO_PROXY`` entry (``None`` for CIDR ranges, which httpx cannot match)."""
    host = entry.strip().lower()
    if "://" in host:
        return host
    if not host or "/" in host:
        return None
    bare = host.strip("[]")
    try:
        address = ipaddress.ip_address(bare)
    except ValueError:
        return f"all://{host}" if host == "localhost" else f"all://*{host}"
    return f"all://[{address}]" if address.version == 6 else f"all://{address}"


def proxy_mounts(
    proxy_url: str | None, environ: Mapping[str, str], context: ssl.SSLContext
) -> dict[str, httpx.BaseTransport | None]:
    """httpx mounts sending requests through ``proxy_url`` (else the environment's proxies), ``NO_PROXY`` hosts
    direct (``None`` means the client's own transport)."""
    routes = (
        {"all": proxy_url}
        if proxy_url
        else {scheme: _env(environ, f"{scheme}_proxy") for scheme in ("all", "http", "https")}
    )
    mounts: dict[str, httpx.BaseTransport | None] = {
        f"{scheme}://": httpx.HTTPTransport(proxy=url if "://" in url else f"http://{url}", verify=context)
        for scheme, url in routes.items()
        if url
    }
    if not mounts:
        return {}
    exempt = [entry for entry in _env(environ, "no_proxy").split(",") if entry.strip()]
    if any(entry.strip() == "*" for entry in exempt):
        return {}
    for entry in exempt:
        pattern = _no_proxy_pattern(entry)
        if pattern is not None:
            mounts[pattern] = None
    return mounts


def build_http_client(options: EgressOptions, environ: Mapping[str, str] | None = None) -> httpx.Client:
    """A client for the upstream index: never follows redirects by itself (callers check each hop)."""
    environ = os.environ if environ is None else environ
    context = tls_context(options.ca_bundle, environ)
    return httpx.Client(
        timeout=httpx.Timeout(options.timeout_seconds),
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
        trust_env=False,
        verify=context,
        mounts=proxy_mounts(options.proxy_url, environ, context),
    )
