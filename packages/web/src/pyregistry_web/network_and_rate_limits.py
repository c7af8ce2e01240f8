"""The network guard: ASGI middleware that refuses requests by source network (403) and rate-limits clients (429)."""

from __future__ import annotations

import enum
import ipaddress
import math
import time
from collections.abc import Callable, Iterable
from typing import TypeVar

import anyio.to_thread
import msgspec
import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from pyregistry_application.limit_counters import BucketDecision, BucketLimits, LimitCounters, LimitCountersUnavailable
from pyregistry_application.metrics_ports import Metrics, NoMetrics
from pyregistry_web.authorized_requests import release_tracking, track_authorization
from pyregistry_web.client_address import IPAddress, client_address

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

_log = structlog.get_logger("pyregistry_web.network_and_rate_limits")
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_REFUSED_AUTH = frozenset({401, 403})
_T = TypeVar("_T")
_STORE_RETRY_SECONDS = 5.0
"""After the counters' store failed, requests pass without asking it for this long (no timeout per request)."""


class RateLimitOptions(msgspec.Struct, frozen=True, kw_only=True):
    """Token bucket per client on API routes."""

    requests_per_minute: int
    burst: int
    trust_proxy_headers: bool = False
    count_successful_requests: bool = False
    """False: a request answered below 400, or answered to a token authorized on the tenant (a 404 for a public
    dependency asked of the private index), gives its token back, so only requests without valid credentials and
    refused authentication (bad or missing tokens, another tenant's token, refused mints) are limited."""


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
        counters: LimitCounters | None = None,
        *,
        blocking_counters: bool = False,
        unavailable_log_interval_seconds: float = 60,
        monotonic: Callable[[], float] = time.monotonic,
        metrics: Metrics | None = None,
    ) -> None:
        """``counters`` hold the buckets (required with a rate limit); ``blocking_counters`` runs their calls in a
        worker thread (a network store). When they are unavailable requests pass (fail open), the store is left
        alone for a few seconds, and an error line is logged at most once per ``unavailable_log_interval_seconds``."""
        self.app = app
        self._metrics: Metrics = metrics or NoMetrics()
        source = options.network_source
        self._allowed = {
            Zone.WEB_UI: AllowedNetworks(parse_cidrs(source.web_ui_allowed_cidrs)),
            Zone.API: AllowedNetworks(parse_cidrs(source.api_allowed_cidrs)),
        }
        self._source_trusts_proxy = source.trust_proxy_headers
        self._rate_limit = options.rate_limit
        if options.rate_limit is not None and counters is None:
            raise ValueError("a rate limit needs limit counters")
        self._counters = counters
        self._limits = (
            BucketLimits(options.rate_limit.requests_per_minute, options.rate_limit.burst)
            if options.rate_limit is not None
            else None
        )
        self._blocking = blocking_counters
        self._log_interval = unavailable_log_interval_seconds
        self._monotonic = monotonic
        self._next_unavailable_log = -math.inf
        self._store_down_until = -math.inf

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
        if zone is Zone.API and self._rate_limit is not None:
            trusts_proxy = self._rate_limit.trust_proxy_headers
            same_view = allowed and trusts_proxy == self._source_trusts_proxy
            client = source if same_view else client_address(scope, trust_proxy_headers=trusts_proxy)
            key = str(client) if client is not None else "unknown"
            decision = await self._take(key)
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
                await self._refund_on_success(scope, receive, send, key)
                return
        await self.app(scope, receive, send)

    async def _take(self, key: str) -> BucketDecision:
        """Spend a token of ``key``'s bucket; when the counters are unavailable the request passes (fail open)."""
        if self._monotonic() < self._store_down_until:
            return BucketDecision(allowed=True)
        try:
            return await self._call(lambda counters, limits: counters.take_token(key, limits))
        except LimitCountersUnavailable as exc:
            self._unavailable(exc)
            return BucketDecision(allowed=True)

    async def _give_back(self, key: str) -> None:
        if self._monotonic() < self._store_down_until:
            return
        try:
            await self._call(lambda counters, limits: counters.give_back_token(key, limits))
        except LimitCountersUnavailable as exc:
            self._unavailable(exc)

    async def _call(self, operation: Callable[[LimitCounters, BucketLimits], _T]) -> _T:
        counters, limits = self._counters, self._limits
        if counters is None or limits is None:
            raise LimitCountersUnavailable("no limit counters")
        if self._blocking:
            return await anyio.to_thread.run_sync(operation, counters, limits)
        return operation(counters, limits)

    def _unavailable(self, exc: LimitCountersUnavailable) -> None:
        """Log (at most once per interval) and stop asking the store for a few seconds."""
        now = self._monotonic()
        self._store_down_until = now + _STORE_RETRY_SECONDS
        if now >= self._next_unavailable_log:
            self._next_unavailable_log = now + self._log_interval
            _log.error("rate_limit.unavailable", reason=str(exc), behaviour="requests pass unlimited (fail open)")

    async def _refund_on_success(self, scope: Scope, receive: Receive, send: Send, key: str) -> None:
        """Give the token back for an answer below 400, or any answer to an authorized token but 401/403."""
        status = 500

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        mark, tracking = track_authorization()
        try:
            await self.app(scope, receive, watch)
        finally:
            release_tracking(tracking)
            normal_answer = status < 400 or (mark.authorized and status not in _REFUSED_AUTH)
            if normal_answer:
                await self._give_back(key)


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
