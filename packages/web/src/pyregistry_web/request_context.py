"""ASGI middleware: one request id per HTTP request, bound for every log line the request causes."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable

import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ACCESS_LOGGER", "REQUEST_ID_HEADER", "AccessLineWriter", "RequestContextMiddleware"]

REQUEST_ID_HEADER = "x-request-id"
ACCESS_LOGGER = "pyregistry_web.requests"
_ACCEPTED_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")
_log = structlog.get_logger(ACCESS_LOGGER)

AccessLineWriter = Callable[[str, str, int, float], None]
"""Writes the ``request finished`` line: method, path, status, duration in ms (the request id is bound)."""


def _structlog_access_line(method: str, path: str, status: int, duration_ms: float) -> None:
    _log.info("request finished", method=method, path=path, status=status, duration_ms=duration_ms)


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER.encode():
            text = value.decode("latin-1")
            return text if _ACCEPTED_ID.match(text) else None
    return None


class RequestContextMiddleware:
    """Binds ``request_id`` (the caller's ``X-Request-ID`` if well-formed, else a new one), echoes it in the
    response headers and logs one ``request finished`` line with method, path, status and duration (through
    ``access_line``, structlog's logger by default)."""

    def __init__(self, app: ASGIApp, access_line: AccessLineWriter = _structlog_access_line) -> None:
        self.app = app
        self._access_line = access_line

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        request_id = _incoming_id(scope) or os.urandom(16).hex()
        status = 500
        method, path = scope["method"], scope["path"]
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", ()), (REQUEST_ID_HEADER.encode(), request_id.encode())]
                message = {**message, "headers": headers}
            await send(message)

        bound = structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._access_line(method, path, status, round((time.perf_counter() - started) * 1000, 1))
            structlog.contextvars.reset_contextvars(**bound)
