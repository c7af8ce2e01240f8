"""Requesting a mirror cache refresh for a whole tenant or one mirrored project; releasing a quarantined file or a
version held by provenance continuity."""

from __future__ import annotations

from litestar import post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect

from pyregistry_domain.errors import NotFound
from pyregistry_domain.names import normalize_project_name
from pyregistry_domain.roles import Permission
from pyregistry_domain.users import User
from pyregistry_web.admin.csrf import check_csrf
from pyregistry_web.admin.feature_panels import mirroring_of
from pyregistry_web.admin.rendering import flash
from pyregistry_web.admin.route_access import needs
from pyregistry_web.admin.session_user import Form, admin_services
from pyregistry_web.credentials import client_ip
from pyregistry_web.http_types import AnyRequest

__all__ = ["refresh_project_mirror", "refresh_tenant_mirror", "release_provenance_hold", "release_quarantined_file"]

_BUSY = "A mirror refresh of this tenant is already running; its result will show here when it finishes."


def _request_refresh(request: AnyRequest, state: State, user: User, tenant: str, project: str | None) -> str:
    """Authorize, start the background refresh, and say what happened (the request is audited either way)."""
    found = admin_services(state).authorization.tenant_for(user, tenant)
    started = mirroring_of(state).refresh_in_background(
        found.slug, project, actor=user.email, source_ip=client_ip(request)
    )
    if not started:
        return _BUSY
    what = f"project {project}" if project else f"every mirrored project of {found.slug}"
    return f"Mirror refresh started for {what}. Reload this page to follow its progress."


@post(
    "/t/{tenant:str}/mirror/refresh",
    name="admin-mirror-refresh",
    opt=needs(Permission.REFRESH_MIRROR),
    sync_to_thread=True,
)
def refresh_tenant_mirror(
    request: AnyRequest, state: State, user: NamedDependency[User], tenant: FromPath[str], data: Form
) -> Redirect:
    """Refresh every mirrored project of the tenant in the background (from the packages page or the dashboard)."""
    check_csrf(request, data)
    flash(request, _request_refresh(request, state, user, tenant, None))
    if data.get("return_to") == "dashboard":
        return Redirect(path="/admin/dashboard#mirror-overview", status_code=303)
    return Redirect(path=f"/admin/t/{tenant}/packages#mirroring", status_code=303)


@post(
    "/t/{tenant:str}/packages/{project:str}/mirror/refresh",
    name="admin-mirror-refresh-project",
    opt=needs(Permission.REFRESH_MIRROR),
    sync_to_thread=True,
)
def refresh_project_mirror(
    request: AnyRequest,
    state: State,
    user: NamedDependency[User],
    tenant: FromPath[str],
    project: FromPath[str],
    data: Form,
) -> Redirect:
    """Refresh one mirrored project in the background."""
    check_csrf(request, data)
    normalized = normalize_project_name(project)
    flash(request, _request_refresh(request, state, user, tenant, normalized))
    return Redirect(path=f"/admin/t/{tenant}/packages/{normalized}#mirror-cache", status_code=303)


@post(
    "/t/{tenant:str}/packages/{project:str}/files/{filename:str}/release",
    name="admin-mirror-release-file",
    opt=needs(Permission.RELEASE_QUARANTINED),
    sync_to_thread=True,
)
def release_quarantined_file(
    request: AnyRequest,
    state: State,
    user: NamedDependency[User],
    tenant: FromPath[str],
    project: FromPath[str],
    filename: FromPath[str],
    data: Form,
) -> Redirect:
    """Serve a file that scan before serve quarantined, with the admin's reason (audited)."""
    check_csrf(request, data)
    found = admin_services(state).authorization.tenant_for(user, tenant, Permission.RELEASE_QUARANTINED)
    gate = mirroring_of(state).gate
    if gate is None:
        raise NotFound("scan before serve is off in this deployment")
    normalized = normalize_project_name(project)
    gate.release(
        found.slug,
        normalized,
        filename,
        actor=user.email,
        reason=str(data.get("reason") or ""),
        source_ip=client_ip(request),
    )
    flash(request, f"File {filename} released: it is offered and served again.")
    return Redirect(path=f"/admin/t/{tenant}/packages/{normalized}", status_code=303)


@post(
    "/t/{tenant:str}/packages/{project:str}/releases/{version:str}/release-held",
    name="admin-mirror-release-held",
    opt=needs(Permission.RELEASE_QUARANTINED),
    sync_to_thread=True,
)
def release_provenance_hold(
    request: AnyRequest,
    state: State,
    user: NamedDependency[User],
    tenant: FromPath[str],
    project: FromPath[str],
    version: FromPath[str],
    data: Form,
) -> Redirect:
    """Serve a version that provenance continuity held, with the admin's reason (audited)."""
    check_csrf(request, data)
    found = admin_services(state).authorization.tenant_for(user, tenant, Permission.RELEASE_QUARANTINED)
    continuity = mirroring_of(state).continuity
    if continuity is None:
        raise NotFound("mirrored provenance is off in this deployment")
    normalized = normalize_project_name(project)
    continuity.release(
        found.slug,
        normalized,
        version,
        actor=user.email,
        reason=str(data.get("reason") or ""),
        source_ip=client_ip(request),
    )
    flash(request, f"Version {version} released: its files are offered and served again.")
    return Redirect(path=f"/admin/t/{tenant}/packages/{normalized}#release-{version}", status_code=303)
