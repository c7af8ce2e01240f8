"""Issuing, listing and revoking a tenant's API tokens, and switching its mirroring."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import msgspec
from litestar import Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect

from pyregistry_application.dto import IssuedToken
from pyregistry_application.services import RegistryServices
from pyregistry_domain.errors import ValidationFailed
from pyregistry_domain.roles import Permission
from pyregistry_domain.tenants import Tenant
from pyregistry_domain.tokens import token_lifetime
from pyregistry_domain.users import User
from pyregistry_web.admin.csrf import check_csrf, session_data
from pyregistry_web.admin.index_urls import tenant_index_url
from pyregistry_web.admin.rendering import flash
from pyregistry_web.admin.route_access import needs
from pyregistry_web.admin.session_user import Form, admin_services, renderer
from pyregistry_web.credentials import client_ip
from pyregistry_web.http_types import AnyRequest

__all__ = ["issue_token", "revoke_token", "set_mirroring", "tokens_page"]

_ISSUED_KEY = "issued_token"


def _expiry(text: str) -> timedelta | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit():
        raise ValidationFailed("expiry must be a whole number of days (or empty for no expiry)")
    return token_lifetime(int(text), "days")


def _index_url(request: AnyRequest, tenant: Tenant, issued: IssuedToken | None) -> str:
    """The tenant's simple index with the new token as Basic credentials (what pip and uv accept)."""
    if issued is None:
        return ""
    return tenant_index_url(request, tenant.slug, credentials=f"__token__:{issued.secret}")


def _render(
    request: AnyRequest,
    state: State,
    user: User,
    tenant: Tenant,
    *,
    issued: IssuedToken | None = None,
    form_error: str | None = None,
    form: dict[str, Any] | None = None,
) -> Response[Any]:
    services: RegistryServices = state.services
    context = {
        "tenant": tenant,
        "tokens": services.tokens.list(tenant.slug),
        "issued": issued,
        "base_url": str(request.base_url).rstrip("/"),
        "index_url": _index_url(request, tenant, issued),
        "now": services.clock.now(),
        "form_error": form_error,
        "form": form or {},
    }
    return renderer(state).page(
        request, "admin/tokens.html.j2", context, user=user, status_code=400 if form_error else 200
    )


def _take_issued(request: AnyRequest, tenant: Tenant) -> IssuedToken | None:
    """The token of this tenant issued just before, removed from the session so it shows once."""
    session = session_data(request)
    pending = session.get(_ISSUED_KEY)
    if pending is None:
        return None
    issued = msgspec.convert(pending, IssuedToken)
    if issued.tenant_slug != tenant.slug:
        return None
    del session[_ISSUED_KEY]
    request.set_session(session)
    return issued


@get("/t/{tenant:str}/tokens", name="admin-tokens", opt=needs(Permission.MANAGE_TOKENS), sync_to_thread=True)
def tokens_page(request: AnyRequest, state: State, user: NamedDependency[User], tenant: FromPath[str]) -> Response[Any]:
    """The tenant's tokens and the form to issue one; right after issuing, the new secret (once)."""
    found = admin_services(state).authorization.tenant_for(user, tenant)
    return _render(request, state, user, found, issued=_take_issued(request, found))


@post("/t/{tenant:str}/tokens", name="admin-issue-token", opt=needs(Permission.MANAGE_TOKENS), sync_to_thread=True)
def issue_token(
    request: AnyRequest, state: State, user: NamedDependency[User], tenant: FromPath[str], data: Form
) -> Response[Any]:
    """Issue a token and redirect to the tokens page, which shows the secret once (reloading issues nothing).

    Invalid input re-renders the form with the reason (400).
    """
    check_csrf(request, data)
    found = admin_services(state).authorization.tenant_for(user, tenant)
    services: RegistryServices = state.services
    scopes = [scope for scope in ("read", "publish") if data.get(f"scope_{scope}") == "on"]
    try:
        issued = services.tokens.issue(
            tenant_slug=found.slug,
            name=str(data.get("name") or ""),
            scopes=scopes,
            project=str(data.get("project") or "").strip() or None,
            expires_in=_expiry(str(data.get("expires_days") or "")),
            actor=user.email,
            source_ip=client_ip(request),
        )
    except ValidationFailed as exc:
        return _render(request, state, user, found, form_error=exc.message, form=data)
    session = session_data(request)
    session[_ISSUED_KEY] = msgspec.to_builtins(issued)
    request.set_session(session)
    return Redirect(path=f"/admin/t/{found.slug}/tokens", status_code=303)


@post(
    "/t/{tenant:str}/tokens/{token_id:str}/revoke",
    name="admin-revoke-token",
    opt=needs(Permission.MANAGE_TOKENS),
    sync_to_thread=True,
)
def revoke_token(
    request: AnyRequest,
    state: State,
    user: NamedDependency[User],
    tenant: FromPath[str],
    token_id: FromPath[str],
    data: Form,
) -> Redirect:
    """Revoke a token of this tenant."""
    check_csrf(request, data)
    found = admin_services(state).authorization.tenant_for(user, tenant)
    services: RegistryServices = state.services
    services.tokens.revoke(found.slug, token_id, actor=user.email, source_ip=client_ip(request))
    flash(request, "Token revoked.")
    return Redirect(path=f"/admin/t/{found.slug}/tokens", status_code=303)


@post("/t/{tenant:str}/mirroring", name="admin-mirroring", opt=needs(Permission.MANAGE_SETTINGS), sync_to_thread=True)
def set_mirroring(
    request: AnyRequest, state: State, user: NamedDependency[User], tenant: FromPath[str], data: Form
) -> Redirect:
    """Turn PyPI mirroring on or off for the tenant."""
    check_csrf(request, data)
    found = admin_services(state).authorization.tenant_for(user, tenant)
    services: RegistryServices = state.services
    enabled = data.get("enabled") == "true"
    services.tenants.set_mirroring(found.slug, enabled, actor=user.email, source_ip=client_ip(request))
    flash(request, f"Mirroring {'enabled' if enabled else 'disabled'} for {found.slug}.")
    return Redirect(path=f"/admin/t/{found.slug}/packages", status_code=303)
