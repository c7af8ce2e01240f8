"""Requesting a mirror cache refresh for a whole tenant or one mirrored project; releasing a quarantined file or a
version held by provenance continuity."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from litestar import post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect

from pyregistry_application.mirroring import MirrorService
from pyregistry_domain.errors import NotFound
from pyregistry_domain.names import normalize_project_name
from pyregistry_domain.roles import Permission
from pyregistry_domain.users import User
from pyregistry_web.admin.csrf import check_csrf
from pyregistry_web.admin.feature_panels import mirroring_of
from pyregistry_web.admin.project_redirects import back_to_project
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


class _Releaser(Protocol):
    """What serves a held mirrored file or version again: the scan gate or provenance continuity."""

    def release(
        self, tenant_slug: str, project: str, held: str, /, *, actor: str, reason: str, source_ip: str | None = None
    ) -> object: ...


def _release(
    request: AnyRequest,
    state: State,
    user: User,
    data: Form,
    where: tuple[str, str, str],
    pick: Callable[[MirrorService], _Releaser | None],
    off: str,
) -> str:
    """Release ``held`` of ``where`` (tenant, project, a filename or version) with the form's reason (404 while
    ``off``, the feature that holds it, is off); the project's normalized name."""
    check_csrf(request, data)
    tenant, project, held = where
    found = admin_services(state).authorization.tenant_for(user, tenant, Permission.RELEASE_QUARANTINED)
    releaser = pick(mirroring_of(state))
    if releaser is None:
        raise NotFound(f"{off} in this deployment")
    normalized = normalize_project_name(project)
    releaser.release(
        found.slug,
        normalized,
        held,
        actor=user.email,
        reason=str(data.get("reason") or ""),
        source_ip=client_ip(request),
    )
    return normalized


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
    message = _request_refresh(request, state, user, tenant, normalized)
    return back_to_project(request, tenant, normalized, message, anchor="mirror-cache")


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
    where = (tenant, project, filename)
    normalized = _release(
        request, state, user, data, where, lambda mirroring: mirroring.gate, "scan before serve is off"
    )
    return back_to_project(request, tenant, normalized, f"File {filename} released: it is offered and served again.")


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
    where = (tenant, project, version)
    off = "mirrored provenance is off"
    normalized = _release(request, state, user, data, where, lambda mirroring: mirroring.continuity, off)
    message = f"Version {version} released: its files are offered and served again."
    return back_to_project(request, tenant, normalized, message, anchor=f"release-{version}")
