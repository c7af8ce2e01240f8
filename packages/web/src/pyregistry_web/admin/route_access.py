"""What each admin route needs, declared on the route (``opt=needs(...)``) and enforced by one guard.

A route needs a tenant :class:`Permission` (checked against the user's role in the ``{tenant}`` of its path), or one
of the :class:`Access` levels that do not depend on a tenant. ``admin_handlers`` refuses to build the admin router
with a route that declares nothing.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from litestar.handlers import BaseRouteHandler, HTTPRouteHandler

from pyregistry_domain.roles import Permission
from pyregistry_web.admin.session_user import admin_services, current_user
from pyregistry_web.http_types import AnyConnection

__all__ = ["Access", "RouteRule", "declared_rule", "enforce_route_rule", "needs"]

_OPT_KEY = "needs"


class Access(StrEnum):
    """Route requirements that are not a tenant permission."""

    PUBLIC = "public"
    SIGNED_IN = "signed-in"
    SUPERADMIN = "superadmin"


RouteRule = Access | Permission


def needs(rule: RouteRule) -> dict[str, Any]:
    """The route ``opt`` declaring what the route needs."""
    return {_OPT_KEY: rule}


def declared_rule(handler: BaseRouteHandler) -> RouteRule | None:
    """What ``handler`` declared it needs (``None`` when it declared nothing)."""
    rule = handler.opt.get(_OPT_KEY)
    return rule if isinstance(rule, Access | Permission) else None


def enforce_route_rule(connection: AnyConnection, handler: BaseRouteHandler) -> None:
    """Guard (Litestar runs it in a worker thread): a redirect to the login page without a session, 403 (404 for
    the superadmin and an unknown tenant) without the permission. Every admin route passes here first; so does
    Litestar's automatic ``OPTIONS`` answer, which only lists a path's methods and is open to everyone."""
    rule = declared_rule(handler)
    if rule is None and isinstance(handler, HTTPRouteHandler) and handler.http_methods == {"OPTIONS"}:
        return
    if rule is None:
        raise LookupError(f"admin route {handler.handler_name} declares no permission")
    if rule is Access.PUBLIC:
        return
    state = connection.app.state
    user = current_user(connection, state)
    authorization = admin_services(state).authorization
    if rule is Access.SUPERADMIN:
        authorization.require_superadmin(user)
    elif isinstance(rule, Permission):
        authorization.tenant_for(user, str(connection.path_params["tenant"]), rule)
