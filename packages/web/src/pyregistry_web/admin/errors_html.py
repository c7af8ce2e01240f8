"""Admin pages answer errors with an HTML page carrying the right status."""

from __future__ import annotations

from typing import Any

from litestar import Response
from litestar.exceptions import HTTPException

from pyregistry_domain.errors import DomainError
from pyregistry_web.admin.session_user import LoginRequired, redirect_to_login, renderer
from pyregistry_web.errors import status_for
from pyregistry_web.http_types import AnyRequest

__all__ = ["ADMIN_EXCEPTION_HANDLERS"]

_TITLES = {400: "Bad request", 403: "Forbidden", 404: "Not found", 409: "Conflict", 413: "Too large"}


def _page(request: AnyRequest, status: int, message: str) -> Response[Any]:
    title = _TITLES.get(status, "Error")
    return renderer(request.app.state).page(
        request, "admin/error.html.j2", {"status": status, "title": title, "message": message}, status_code=status
    )


def _domain(request: AnyRequest, exc: DomainError) -> Response[Any]:
    return _page(request, status_for(exc), exc.message)


def _http(request: AnyRequest, exc: HTTPException) -> Response[Any]:
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    return _page(request, exc.status_code, detail)


ADMIN_EXCEPTION_HANDLERS = {LoginRequired: redirect_to_login, DomainError: _domain, HTTPException: _http}
