"""A tenant's release policies: the cooldown, block severity and vulnerability settings, and early approvals."""

from __future__ import annotations

from typing import Any

from litestar import Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect

from pyregistry_application.release_policy import ReleasePolicies
from pyregistry_application.services import RegistryServices
from pyregistry_domain.errors import NotFound, ValidationFailed
from pyregistry_domain.release_policy import POLICY_FIELDS, SEVERITY_NAMES, PolicyOverride
from pyregistry_domain.roles import Permission
from pyregistry_domain.users import User
from pyregistry_web.admin.csrf import check_csrf
from pyregistry_web.admin.rendering import flash
from pyregistry_web.admin.route_access import needs
from pyregistry_web.admin.session_user import Form, admin_services, renderer
from pyregistry_web.credentials import client_ip
from pyregistry_web.http_types import AnyRequest

__all__ = ["approve_release", "release_policy_page", "revoke_approval", "set_release_policy"]

_POLICY = "/t/{tenant:str}/policy"
_MAX_FIELD = 500


def _policies(state: State) -> ReleasePolicies:
    services: RegistryServices = state.services
    if services.release_policies is None:
        raise NotFound("release policies are not available in this deployment")
    return services.release_policies


def _field(data: dict[str, Any], name: str) -> str:
    return str(data.get(name) or "").strip()[:_MAX_FIELD]


def _render(
    request: AnyRequest,
    state: State,
    user: User,
    tenant: str,
    *,
    form_error: str | None = None,
    approval_error: str | None = None,
    status: int = 200,
) -> Response[Any]:
    found = admin_services(state).authorization.tenant_for(user, tenant)
    context = {
        "tenant": found,
        "policy": _policies(state).tenant_policy(found.slug),
        "fields": POLICY_FIELDS,
        "severities": SEVERITY_NAMES,
        "form_error": form_error,
        "approval_error": approval_error,
    }
    return renderer(state).page(request, "admin/policy.html.j2", context, user=user, status_code=status)


@get(_POLICY, name="admin-release-policy", opt=needs(Permission.VIEW), sync_to_thread=True)
def release_policy_page(
    request: AnyRequest, state: State, user: NamedDependency[User], tenant: FromPath[str]
) -> Response[Any]:
    """The effective release policy (defaults and this tenant's overrides) and the early approvals."""
    return _render(request, state, user, tenant)


@post(_POLICY, name="admin-set-release-policy", opt=needs(Permission.MANAGE_SETTINGS), sync_to_thread=True)
def set_release_policy(
    request: AnyRequest, state: State, user: NamedDependency[User], tenant: FromPath[str], data: Form
) -> Response[Any]:
    """Change the overrides the form sends (an empty field returns that setting to the default); audited. Invalid
    values re-render the page with the reason (400) and change nothing."""
    check_csrf(request, data)
    found = admin_services(state).authorization.tenant_for(user, tenant, Permission.MANAGE_SETTINGS)
    sent = {name: _field(data, name) for name in POLICY_FIELDS if name in data}
    changes = PolicyOverride(**{name: value for name, value in sent.items() if value})
    cleared = frozenset(name for name, value in sent.items() if not value)
    try:
        _policies(state).change(found.slug, changes, actor=user.email, cleared=cleared, source_ip=client_ip(request))
    except ValidationFailed as exc:
        return _render(request, state, user, tenant, form_error=exc.message, status=400)
    flash(request, f"Release policy of {found.slug} saved.")
    return Redirect(path=f"/admin/t/{found.slug}/policy", status_code=303)


@post(_POLICY + "/approvals", name="admin-approve-release", opt=needs(Permission.MANAGE_SETTINGS), sync_to_thread=True)
def approve_release(
    request: AnyRequest, state: State, user: NamedDependency[User], tenant: FromPath[str], data: Form
) -> Response[Any]:
    """Approve an upstream project (or one version) before the cooldown clears it, with a reason; audited."""
    check_csrf(request, data)
    found = admin_services(state).authorization.tenant_for(user, tenant, Permission.MANAGE_SETTINGS)
    try:
        approval = _policies(state).approve(
            found.slug,
            _field(data, "project"),
            _field(data, "version") or None,
            _field(data, "reason"),
            actor=user.email,
            source_ip=client_ip(request),
        )
    except ValidationFailed as exc:
        return _render(request, state, user, tenant, approval_error=exc.message, status=400)
    what = f"{approval.project} {approval.version}" if approval.version else f"every version of {approval.project}"
    flash(request, f"Approved {what}: it is offered before the cooldown clears it.")
    return Redirect(path=f"/admin/t/{found.slug}/policy#approvals", status_code=303)


@post(
    _POLICY + "/approvals/{approval_id:str}/revoke",
    name="admin-revoke-approval",
    opt=needs(Permission.MANAGE_SETTINGS),
    sync_to_thread=True,
)
def revoke_approval(
    request: AnyRequest,
    state: State,
    user: NamedDependency[User],
    tenant: FromPath[str],
    approval_id: FromPath[str],
    data: Form,
) -> Redirect:
    """Withdraw an approval; its files are held again until they clear; audited."""
    check_csrf(request, data)
    found = admin_services(state).authorization.tenant_for(user, tenant, Permission.MANAGE_SETTINGS)
    removed = _policies(state).revoke(found.slug, approval_id, actor=user.email, source_ip=client_ip(request))
    flash(request, f"Approval of {removed.project} {removed.version or '(every version)'} revoked.")
    return Redirect(path=f"/admin/t/{found.slug}/policy#approvals", status_code=303)
