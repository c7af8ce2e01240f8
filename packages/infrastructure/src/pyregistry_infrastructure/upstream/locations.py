"""Which URLs the mirror may fetch, so a hostile upstream cannot make the registry reach internal addresses."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence

import structlog

from pyregistry_application.mirror_ports import UpstreamLocationRefused
from pyregistry_infrastructure.upstream.urls import Origin, origin_of, redact

__all__ = ["LOCATION_REFUSED", "LocationRefused", "UpstreamLocations", "default_file_hosts"]

_log = structlog.get_logger(__name__)
LOCATION_REFUSED = "upstream file location refused: it is neither the upstream's origin nor an allowed file host"
_DEFAULT_PORTS = frozenset({80, 443})
_PYPI_FILE_HOSTS = {"pypi.org": ["files.pythonhosted.org"], "test.pypi.org": ["test-files.pythonhosted.org"]}

Resolver = Callable[[str, int], list[str]]


class LocationRefused(UpstreamLocationRefused):
    """A URL the mirror will not fetch; the message is generic, the detail is logged."""


def default_file_hosts(index_url: str) -> list[str]:
    """The hosts public PyPI (or TestPyPI) serves files from, else none."""
    return list(_PYPI_FILE_HOSTS.get(origin_of(index_url)[1], []))


def resolve_addresses(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (empty when it does not resolve)."""
    try:
        return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]
    except (OSError, UnicodeError):
        return []


def _is_internal(address: str) -> bool:
    return not ipaddress.ip_address(address.split("%", 1)[0]).is_global


class UpstreamLocations:
    """The upstream's own origin, plus ``file_hosts`` (``host``, on ports 80/443, or ``host:port``; http or https).

    A file host must not resolve to an internal (private, loopback, link-local, ...) address, unless the upstream
    itself is on one (then its file hosts may be internal too); a name that does not resolve here is left to the
    proxy. Anything else (another port, another host, ``file://``) is refused.
    """

    def __init__(self, index_url: str, file_hosts: Sequence[str], resolve: Resolver = resolve_addresses) -> None:
        self.origin = origin_of(index_url)
        self._file_hosts = frozenset(_host_entry(entry) for entry in file_hosts)
        self._resolve = resolve
        self._upstream_internal: bool | None = None

    def check(self, url: str) -> Origin:
        """The origin of ``url`` when the mirror may fetch it; :class:`LocationRefused` otherwise."""
        try:
            origin = origin_of(url)
        except ValueError as exc:
            raise self.refuse(url, str(exc)) from None
        if origin == self.origin:
            return origin
        _, host, port = origin
        listed = (host, port) in self._file_hosts or (port in _DEFAULT_PORTS and (host, None) in self._file_hosts)
        if not listed:
            raise self.refuse(url, "not the upstream's origin and not in pypi.file_hosts")
        if not self._internal_allowed():
            addresses = self._resolve(host, port)
            if any(_is_internal(address) for address in addresses):
                raise self.refuse(url, f"file host resolves to {', '.join(addresses)}")
        return origin

    def _internal_allowed(self) -> bool:
        if self._upstream_internal is None:
            _, host, port = self.origin
            addresses = self._resolve(host, port)
            self._upstream_internal = bool(addresses) and any(_is_internal(address) for address in addresses)
        return self._upstream_internal

    @staticmethod
    def refuse(url: str, reason: str) -> LocationRefused:
        """Log why ``url`` is refused; the generic error to raise."""
        _log.warning("mirror.upstream_location_refused", url=redact(url), reason=reason)
        return LocationRefused(LOCATION_REFUSED)


def _host_entry(entry: str) -> tuple[str, int | None]:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port`` as (host, port or ``None``)."""
    text = entry.strip().lower()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":")
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:
        host, port = text, ""
    return host, int(port) if port.isdigit() else None
