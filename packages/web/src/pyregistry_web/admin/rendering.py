"""Jinja2 rendering of the admin pages (autoescaped) with the session user, CSRF token and flash message."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import jinja2
from litestar import MediaType, Response

from pyregistry_domain.roles import Permission
from pyregistry_domain.tenants import Tenant
from pyregistry_domain.users import User
from pyregistry_web.admin.csrf import CSRF_FIELD, csrf_token, session_data
from pyregistry_web.admin.extensions import UiExtensions
from pyregistry_web.http_types import AnyRequest

__all__ = ["PageRenderer", "flash"]


def _filesize(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""


def _when_exact(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else ""


def _may(user: User | None, tenant: Tenant, permission: str) -> bool:
    """Template helper: whether the page's user may do ``permission`` (a :class:`Permission` value) in ``tenant``."""
    return user is not None and user.may(tenant.id, Permission(permission))


def flash(request: AnyRequest, message: str, kind: str = "ok") -> None:
    """Queue a one-time message for the next page this session renders."""
    session = session_data(request)
    session["flash"] = [kind, message]
    request.set_session(session)


class PageRenderer:
    """Renders templates from the package (and extension directories) into HTML responses."""

    def __init__(self, extensions: UiExtensions) -> None:
        loaders: list[jinja2.BaseLoader] = [jinja2.PackageLoader("pyregistry_web", "templates")]
        loaders += [jinja2.FileSystemLoader(str(path)) for path in extensions.template_dirs]
        self._env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders), autoescape=True, undefined=jinja2.StrictUndefined
        )
        self._env.filters["filesize"] = _filesize
        self._env.filters["when"] = _when
        self._env.filters["when_exact"] = _when_exact
        self._env.globals["slot"] = extensions.for_slot
        self._env.globals["csrf_field"] = CSRF_FIELD
        self._env.globals["may"] = _may

    def page(
        self,
        request: AnyRequest,
        template: str,
        context: dict[str, Any] | None = None,
        *,
        user: User | None = None,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
    ) -> Response[str]:
        """An HTML response; pages with a session get its CSRF token and pending flash message."""
        values: dict[str, Any] = {"user": user, "request_path": request.url.path, "flash": None, "csrf": ""}
        if request.scope.get("session") is not None:
            values["csrf"] = csrf_token(request)
            pending = request.session.get("flash")
            if pending:
                session = dict(request.session)
                session.pop("flash", None)
                request.set_session(session)
                values["flash"] = pending
        values.update(context or {})
        html = self._env.get_template(template).render(values)
        return Response(content=html, media_type=MediaType.HTML, status_code=status_code, headers=headers)
