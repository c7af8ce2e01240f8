"""ASGI middleware that opens one trace span per HTTP request, named by the route template once it is known."""

from __future__ import annotations

import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from pyregistry_application.tracing_ports import Tracer

__all__ = ["RequestTracingMiddleware"]


class RequestTracingMiddleware:
    """A server span per request with its method, path, route template, status and ``pyregistry.request_id``
    (the id :class:`~pyregistry_web.request_context.RequestContextMiddleware` bound, so it must sit inside it).
    Database, storage and upstream spans opened while the request runs become its children."""

    def __init__(self, app: ASGIApp, tracer: Tracer) -> None:
        self.app = app
        self._tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        request_id = str(structlog.contextvars.get_contextvars().get("request_id", ""))
        attributes = {"http.request.method": method, "url.path": scope["path"], "pyregistry.request_id": request_id}
        with self._tracer.span(f"{method} request", attributes) as span:

            async def watch(message: Message) -> None:
                if message["type"] == "http.response.start":
                    span.set_attribute("http.response.status_code", int(message["status"]))
                await send(message)

            try:
                await self.app(scope, receive, watch)
            finally:
                route = scope.get("path_template")
                if route:
                    span.set_attribute("http.route", route)
                    span.update_name(f"{method} {route}")
