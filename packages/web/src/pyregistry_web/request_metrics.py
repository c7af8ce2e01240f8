"""ASGI middleware that counts every HTTP request by method, route template and status, and times it."""

from __future__ import annotations

import time
from collections.abc import Callable

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from pyregistry_application.metrics_ports import Metrics

__all__ = ["UNMATCHED_ROUTE", "RequestMetricsMiddleware", "RouteResolver"]

UNMATCHED_ROUTE = "unmatched"
"""The route label of a request no route answers (so raw paths never become labels)."""
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

RouteResolver = Callable[[str, str], str | None]
"""``(method, path) -> route template`` for requests refused before the router saw them."""


class RequestMetricsMiddleware:
    """Records ``Metrics.request_served`` once per HTTP request. The template is the one Litestar's router put in
    the scope; a request refused in front of the router (network rules, rate limit) is resolved by ``resolve``."""

    def __init__(self, app: ASGIApp, metrics: Metrics, resolve: RouteResolver) -> None:
        self.app = app
        self._metrics = metrics
        self._resolve = resolve

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            method = scope["method"] if scope["method"] in _KNOWN_METHODS else "OTHER"
            route = scope.get("path_template") or self._resolve(method, scope["path"]) or UNMATCHED_ROUTE
            self._metrics.request_served(method, route, status, time.perf_counter() - started)
