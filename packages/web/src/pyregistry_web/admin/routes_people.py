"""A tenant's people: who has which role, granting a role (creating the account when new) and revoking it."""

from __future__ import annotations

from typing import Any

from litestar import Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect

from pyregistry_domain.errors import ValidationFailed
from pyregistry_domain.roles import Permission, TenantRole
from pyregistry_domain.users import User
from pyregistry_web.admin.csrf import check_csrf
from pyregistry_web.admin.rendering import flash
from pyregistry_web.admin.route_access import needs
from pyregistry_web.admin.session_user import Form, admin_services, renderer
from pyregistry_web.credentials import client_ip
from pyregistry_web.http_types import AnyRequest

__all__ = ["grant_role", "people_page", "revoke_role"]

_PEOPLE = "/t/{tenant:str}/people"
_MAX_FIELD = 320


def _field(data: dict[str, Any], name: str) -> str:
    return str(data.get(name) or "").strip()[:_MAX_FIELD]


def _render(
    request: AnyRequest, state: State, user: User, tenant: str, *, form_error: str | None = None, status: int = 200
) -> Response[Any]:
    admin = admin_services(state)
    found = admin.authorization.tenant_for(user, tenant, Permission.MANAGE_PEOPLE)
    context = {
        "tenant": found,
        "members": admin.people.members(found.slug),
        "roles": [role.value for role in TenantRole],
        "form_error": form_error,
    }
    return renderer(state).page(request, "admin/people.html.j2", context, user=user, status_code=status)


@get(_PEOPLE, name="admin-people", opt=needs(Permission.MANAGE_PEOPLE), sync_to_thread=True)
def people_page(request: AnyRequest, state: State, user: NamedDependency[User], tenant: FromPath[str]) -> Response[Any]:
    """Everyone with a role in the tenant and the form to add someone."""
    return _render(request, state, user, tenant)


@post(_PEOPLE, name="admin-grant-role", opt=needs(Permission.MANAGE_PEOPLE), sync_to_thread=True)
def grant_role(
    request: AnyRequest, state: State, user: NamedDependency[User], tenant: FromPath[str], data: Form
) -> Response[Any]:
    """Give an email a role here; a new email needs a password for its account. Invalid input re-renders the form
    with the reason (400)."""
    check_csrf(request, data)
    try:
        change = admin_services(state).people.grant(
            tenant_slug=tenant,
            email=_field(data, "email"),
            role=_field(data, "role"),
            password=str(data.get("password") or "") or None,
            actor=user.email,
            source_ip=client_ip(request),
        )
    except ValidationFailed as exc:
        return _render(request, state, user, tenant, form_error=exc.message, status=400)
    created = " (new account)" if change.account_created else ""
    flash(request, f"{change.email} is now {change.role} of {change.tenant}{created}.")
    return Redirect(path=f"/admin/t/{change.tenant}/people", status_code=303)


@post(_PEOPLE + "/revoke", name="admin-revoke-role", opt=needs(Permission.MANAGE_PEOPLE), sync_to_thread=True)
def revoke_role(
    request: AnyRequest, state: State, user: NamedDependency[User], tenant: FromPath[str], data: Form
) -> Redirect:
    """Take someone's role in the tenant away (their account stays)."""
    check_csrf(request, data)
    change = admin_services(state).people.revoke(
        tenant_slug=tenant, email=_field(data, "email"), actor=user.email, source_ip=client_ip(request)
    )
    flash(request, f"{change.email} no longer has a role in {change.tenant}.")
    return Redirect(path=f"/admin/t/{change.tenant}/people", status_code=303)
