"""ASGI middleware that refuses requests by source network (403) and rate-limits API clients (429)."""

from __future__ import annotations

import enum
import ipaddress
import math
import time
from collections.abc import Callable, Iterable

import msgspec
import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from pyregistry_application.metrics_ports import Metrics, NoMetrics
from pyregistry_web.client_address import IPAddress, client_address
from pyregistry_web.token_bucket import TokenBucketLimiter

__all__ = [
    "AllowedNetworks",
    "NetworkGuard",
    "NetworkGuardOptions",
    "NetworkSourceOptions",
    "RateLimitOptions",
    "Zone",
    "parse_cidrs",
    "zone_for",
]

_log = structlog.get_logger("pyregistry_web.network_guard")
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class RateLimitOptions(msgspec.Struct, frozen=True, kw_only=True):
    """Token bucket per client on API routes."""

    requests_per_minute: int
    burst: int
    max_tracked_clients: int = 10_000
    trust_proxy_headers: bool = False
    count_successful_requests: bool = False
    """False: a request answered below 400 gives its token back, so only failing requests (bad or missing
    tokens, unknown projects, refused mints) are limited and installers are never slowed down."""


class NetworkSourceOptions(msgspec.Struct, frozen=True, kw_only=True):
    """Source networks allowed per zone; an empty list allows every source."""

    web_ui_allowed_cidrs: tuple[str, ...] = ()
    api_allowed_cidrs: tuple[str, ...] = ()
    trust_proxy_headers: bool = False


class NetworkGuardOptions(msgspec.Struct, frozen=True, kw_only=True):
    """What the guard enforces; ``rate_limit=None`` turns rate limiting off."""

    rate_limit: RateLimitOptions | None = None
    network_source: NetworkSourceOptions = msgspec.field(default_factory=NetworkSourceOptions)


class Zone(enum.Enum):
    """Which allow-list a path falls under."""

    WEB_UI = "web UI"
    API = "package API"


def zone_for(path: str) -> Zone | None:
    """``/``, ``/admin…`` and ``/static/…`` are the web UI; ``/t/…``, ``/_/…`` (OIDC, OSV, security, OpenAPI) and
    ``/metrics`` are the API; anything else (``/healthz``, ``/readyz``, unknown paths) is in no zone."""
    while "//" in path:
        path = path.replace("//", "/")
    if path.startswith(("/t/", "/_/")) or path == "/metrics":
        return Zone.API
    if path == "/" or path == "/admin" or path.startswith(("/admin/", "/static/")):
        return Zone.WEB_UI
    return None


def _network(text: str) -> IPNetwork:
    try:
        network = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise ValueError(f"{text!r} is not a CIDR range") from None
    mapped = network.network_address.ipv4_mapped if isinstance(network, ipaddress.IPv6Network) else None
    if mapped is not None and network.prefixlen >= 96:
        return ipaddress.IPv4Network((mapped, network.prefixlen - 96))
    return network


def parse_cidrs(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    """CIDR ranges (a bare address is a single-host range); ``ValueError`` names the first bad entry.

    IPv4-mapped IPv6 ranges (``::ffff:10.0.0.0/104``) become the IPv4 ranges they stand for, because
    peers are compared in their plain IPv4 form.
    """
    return tuple(_network(value) for value in values)


class AllowedNetworks:
    """A set of CIDR ranges; membership compares only addresses and ranges of the same IP version."""

    def __init__(self, networks: Iterable[IPNetwork]) -> None:
        self._v4 = tuple(n for n in networks if isinstance(n, ipaddress.IPv4Network))
        self._v6 = tuple(n for n in networks if isinstance(n, ipaddress.IPv6Network))

    def __bool__(self) -> bool:
        return bool(self._v4 or self._v6)

    def allows(self, address: IPAddress | None) -> bool:
        """True when ``address`` is inside one of the ranges (an unknown address never is)."""
        if address is None:
            return False
        if isinstance(address, ipaddress.IPv4Address):
            return any(address in network for network in self._v4)
        return any(address in network for network in self._v6)


def _describe(address: IPAddress | None) -> str:
    return str(address) if address is not None else "an unknown address"


class NetworkGuard:
    """Refuses web UI and API requests from sources outside the configured CIDR ranges (403), then spends one
    token of the client's bucket for each API request and answers 429 with ``Retry-After`` when it is empty.
    Paths in no zone (health checks) pass untouched."""

    def __init__(
        self,
        app: ASGIApp,
        options: NetworkGuardOptions,
        *,
        clock: Callable[[], int] = time.monotonic_ns,
        metrics: Metrics | None = None,
    ) -> None:
        self.app = app
        self._metrics: Metrics = metrics or NoMetrics()
        source = options.network_source
        self._allowed = {
            Zone.WEB_UI: AllowedNetworks(parse_cidrs(source.web_ui_allowed_cidrs)),
            Zone.API: AllowedNetworks(parse_cidrs(source.api_allowed_cidrs)),
        }
        self._source_trusts_proxy = source.trust_proxy_headers
        self._rate_limit = options.rate_limit
        self._limiter = (
            TokenBucketLimiter(
                options.rate_limit.requests_per_minute,
                options.rate_limit.burst,
                options.rate_limit.max_tracked_clients,
                clock=clock,
            )
            if options.rate_limit is not None
            else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        zone = zone_for(scope["path"])
        if zone is None:
            await self.app(scope, receive, send)
            return
        allowed = self._allowed[zone]
        source: IPAddress | None = None
        if allowed:
            source = client_address(scope, trust_proxy_headers=self._source_trusts_proxy)
            if not allowed.allows(source):
                _log.warning("request.refused", reason="source_network", zone=zone.name.lower(), client=str(source))
                self._metrics.request_refused("source_network")
                message = f"the {zone.value} does not accept requests from {_describe(source)}"
                await _refuse(scope, send, 403, message, ())
                return
        if zone is Zone.API and self._limiter is not None and self._rate_limit is not None:
            trusts_proxy = self._rate_limit.trust_proxy_headers
            same_view = allowed and trusts_proxy == self._source_trusts_proxy
            client = source if same_view else client_address(scope, trust_proxy_headers=trusts_proxy)
            decision = self._limiter.take(client if client is not None else "unknown")
            if not decision.allowed:
                retry_after = max(1, math.ceil(decision.retry_after_seconds))
                _log.warning("request.refused", reason="rate_limited", client=str(client), retry_after=retry_after)
                self._metrics.request_refused("rate_limited")
                message = (
                    f"too many requests from {_describe(client)}: the limit is "
                    f"{self._rate_limit.requests_per_minute} per minute with bursts of {self._rate_limit.burst}; "
                    f"retry after {retry_after} s"
                )
                await _refuse(scope, send, 429, message, ((b"retry-after", str(retry_after).encode()),))
                return
            if not self._rate_limit.count_successful_requests:
                await self._refund_on_success(scope, receive, send, client if client is not None else "unknown")
                return
        await self.app(scope, receive, send)

    async def _refund_on_success(self, scope: Scope, receive: Receive, send: Send, key: object) -> None:
        status = 500

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            if status < 400 and self._limiter is not None:
                self._limiter.give_back(key)


def _wants_json(scope: Scope) -> bool:
    if scope["path"].startswith("/_/"):
        return True
    accept = b",".join(value for name, value in scope.get("headers") or () if name == b"accept")
    return b"json" in accept


async def _refuse(
    scope: Scope, send: Send, status: int, message: str, extra_headers: tuple[tuple[bytes, bytes], ...]
) -> None:
    """A complete response in the same shapes the app's error handlers use (JSON for API clients, else text)."""
    if _wants_json(scope):
        body = msgspec.json.encode({"message": message, "status": status})
        content_type = b"application/json"
    else:
        body = f"{status} {message}\n".encode()
        content_type = b"text/plain; charset=utf-8"
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        *extra_headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
