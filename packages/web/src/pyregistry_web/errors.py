"""One place that maps domain errors to HTTP responses: a status and a one-line reason, no traceback."""

from __future__ import annotations

from typing import Any

import structlog
from litestar import MediaType, Response
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from pyregistry_domain.errors import (
    AlreadyExists,
    Conflict,
    DomainError,
    Forbidden,
    InvalidToken,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    Unauthenticated,
    UpstreamUnavailable,
    ValidationFailed,
)
from pyregistry_web.http_types import AnyRequest

__all__ = ["EXCEPTION_HANDLERS", "MAX_REASON_CHARS", "REASON_HEADER", "error_response", "reason_phrase", "status_for"]

_log = structlog.get_logger(__name__)
BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="pyregistry"'}
REASON_HEADER = "x-pyregistry-reason"
"""Private response header naming an error's cause; the bundled server moves it into the status line's reason
phrase (twine shows nothing else of a failed upload) and never sends the header itself."""
MAX_REASON_CHARS = 300


def reason_phrase(message: str) -> str:
    """``message`` as a status-line reason: printable ASCII only (anything else becomes ``?``), one line, capped."""
    text = "".join(char if " " <= char <= "~" else "?" for char in message.strip()[:MAX_REASON_CHARS])
    return text or "Error"


def status_for(error: DomainError) -> int:
    """The HTTP status of a domain error."""
    table: list[tuple[type[DomainError], int]] = [
        (Unauthenticated, 401),
        (InvalidToken, 401),
        (Forbidden, 403),
        (NotFound, 404),
        (PayloadTooLarge, 413),
        (AlreadyExists, 409),
        (Conflict, 409),
        (UpstreamUnavailable, 502),
        (ServiceUnavailable, 503),
        (ValidationFailed, 400),
    ]
    for kind, status in table:
        if isinstance(error, kind):
            return status
    return 400


def _wants_json(request: AnyRequest) -> bool:
    path = request.url.path
    return path.startswith("/_/") or "json" in (request.headers.get("accept") or "")


def error_response(
    request: AnyRequest, status: int, message: str, headers: dict[str, str] | None = None
) -> Response[Any]:
    """A plain-text (or JSON for API clients) error body with the status line repeated; the message is also the
    reason phrase."""
    headers = {**(headers or {}), REASON_HEADER: reason_phrase(message)}
    if _wants_json(request):
        return Response(
            content={"message": message, "status": status},
            status_code=status,
            headers=headers,
            media_type=MediaType.JSON,
        )
    return Response(content=f"{status} {message}\n", status_code=status, headers=headers, media_type=MediaType.TEXT)


def _domain_error(request: AnyRequest, exc: DomainError) -> Response[Any]:
    status = status_for(exc)
    headers = BASIC_CHALLENGE if status == 401 else ({"Retry-After": "5"} if status == 503 else None)
    if status >= 500:
        _log.warning("request.upstream_error", path=request.url.path, error=exc.message)
    return error_response(request, status, exc.message, headers)


def _http_error(request: AnyRequest, exc: HTTPException) -> Response[Any]:
    headers = dict(exc.headers or {})
    if isinstance(exc, NotAuthorizedException):
        headers.update(BASIC_CHALLENGE)
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    return error_response(request, exc.status_code, detail, headers or None)


def _unexpected(request: AnyRequest, exc: Exception) -> Response[Any]:
    _log.exception("request.unhandled_error", path=request.url.path, error_type=type(exc).__name__)
    return error_response(request, HTTP_500_INTERNAL_SERVER_ERROR, "internal server error")


EXCEPTION_HANDLERS = {DomainError: _domain_error, HTTPException: _http_error, Exception: _unexpected}
