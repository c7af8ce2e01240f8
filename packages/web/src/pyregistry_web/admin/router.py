"""Assembling the admin UI: routes, session cookie, security headers, static files, favicon and shared state."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from litestar import Router
from litestar.di import Provide
from litestar.handlers import HTTPRouteHandler
from litestar.middleware.session.client_side import CookieBackendConfig
from litestar.static_files import create_static_files_router
from litestar.types import ASGIApp, ControllerRouterHandler

from pyregistry_application.admin_accounts import SESSION_LIFETIME
from pyregistry_application.admin_services import build_admin_services
from pyregistry_application.services import RegistryServices
from pyregistry_domain.roles import Permission
from pyregistry_web.admin import (
    routes_audit,
    routes_auth,
    routes_dashboard,
    routes_jobs,
    routes_mirror,
    routes_oidc,
    routes_packages,
    routes_people,
    routes_policy,
    routes_publishers,
    routes_scan,
    routes_tokens,
)
from pyregistry_web.admin.csrf import derive_session_key, html_security_headers
from pyregistry_web.admin.errors_html import ADMIN_EXCEPTION_HANDLERS
from pyregistry_web.admin.extensions import UiExtensions
from pyregistry_web.admin.favicon import favicon
from pyregistry_web.admin.rendering import PageRenderer
from pyregistry_web.admin.route_access import declared_rule, enforce_route_rule
from pyregistry_web.admin.session_user import current_user
from pyregistry_web.options import WebOptions

__all__ = ["SESSION_COOKIE", "admin_handlers", "admin_state", "require_declared_rules"]

SESSION_COOKIE = "pyregistry_session"
SESSION_MAX_AGE = int(SESSION_LIFETIME.total_seconds())
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def admin_state(services: RegistryServices, extra_state: dict[str, Any]) -> dict[str, Any]:
    """State entries the admin pages read: their use cases and the page renderer."""
    extensions = extra_state.get("ui_extensions") or UiExtensions()
    return {"admin": build_admin_services(services), "admin_pages": PageRenderer(extensions)}


def _session_middleware(config: CookieBackendConfig) -> Callable[[ASGIApp], ASGIApp]:
    """A plain factory: Litestar deep-copies routers, and the cookie backend's cipher cannot be copied."""

    def factory(app: ASGIApp) -> ASGIApp:
        return config.middleware(app)

    return factory


def require_declared_rules(handlers: list[HTTPRouteHandler]) -> None:
    """Refuse admin routes that do not say what they need (``opt=needs(...)``), and tenant permissions on paths
    without the ``{tenant}`` the guard checks them in."""
    undeclared = sorted(handler.handler_name for handler in handlers if declared_rule(handler) is None)
    if undeclared:
        raise ValueError(f"admin routes without a declared permission (opt=needs(...)): {', '.join(undeclared)}")
    tenantless = sorted(
        handler.handler_name
        for handler in handlers
        if isinstance(declared_rule(handler), Permission) and not all("{tenant:" in path for path in handler.paths)
    )
    if tenantless:
        raise ValueError(
            f"admin routes with a tenant permission but no {{tenant}} in the path: {', '.join(tenantless)}"
        )


def admin_handlers(options: WebOptions) -> list[ControllerRouterHandler]:
    """The landing page, the favicon, the static files and the ``/admin`` router with its session middleware."""
    session = CookieBackendConfig(
        secret=derive_session_key(options.cookie_secret),
        key=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE,
        path="/admin",
        secure=options.secure_cookies,
        httponly=True,
        samesite="lax",
    )
    modules = (
        routes_auth,
        routes_oidc,
        routes_dashboard,
        routes_packages,
        routes_people,
        routes_tokens,
        routes_audit,
        routes_jobs,
        routes_mirror,
        routes_publishers,
        routes_scan,
        routes_policy,
    )
    handlers = [
        handler
        for module in modules
        for name in module.__all__
        if name != "landing" and isinstance(handler := getattr(module, name), HTTPRouteHandler)
    ]
    require_declared_rules(handlers)
    admin = Router(
        path="/admin",
        route_handlers=handlers,
        middleware=[
            functools.partial(
                html_security_headers,
                always_secure=options.secure_cookies,
                trust_forwarded_proto=options.trust_forwarded_proto,
            ),
            _session_middleware(session),
        ],
        dependencies={"user": Provide(current_user, sync_to_thread=True)},
        guards=[enforce_route_rule],
        exception_handlers=ADMIN_EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        include_in_schema=False,
    )
    static = create_static_files_router(
        path="/static", directories=[STATIC_DIR], name="static", send_as_attachment=False
    )
    return [routes_dashboard.landing, favicon, static, admin]
