"""A tenant's projects, one project's releases and files, yank/unyank and purge."""

from __future__ import annotations

from typing import Any

from litestar import Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect

from pyregistry_domain.roles import Permission
from pyregistry_domain.users import User
from pyregistry_web.admin.csrf import check_csrf
from pyregistry_web.admin.feature_panels import FeaturePanels, PublisherForm
from pyregistry_web.admin.index_urls import tenant_index_url
from pyregistry_web.admin.project_redirects import back_to_project
from pyregistry_web.admin.readme_html import render_readme
from pyregistry_web.admin.rendering import flash
from pyregistry_web.admin.route_access import needs
from pyregistry_web.admin.session_user import Form, admin_services, renderer
from pyregistry_web.credentials import client_ip
from pyregistry_web.http_types import AnyRequest
from pyregistry_web.page_watcher import pages_caught_up

__all__ = [
    "project_page",
    "purge_file",
    "purge_project",
    "purge_release",
    "render_project_page",
    "set_project_status",
    "tenant_packages",
    "unyank_release",
    "yank_release",
]

_PROJECT = "/t/{tenant:str}/packages/{project:str}"


@get("/t/{tenant:str}/packages", name="admin-packages", opt=needs(Permission.VIEW), sync_to_thread=True)
def tenant_packages(
    request: AnyRequest, state: State, user: NamedDependency[User], tenant: FromPath[str]
) -> Response[Any]:
    """The tenant's projects."""
    found, projects = admin_services(state).catalog.projects(user, tenant)
    context = {
        "tenant": found,
        "projects": projects,
        "panels": FeaturePanels(state, found),
        "index_url": tenant_index_url(request, found.slug),
    }
    return renderer(state).page(request, "admin/packages.html.j2", context, user=user)


def render_project_page(
    request: AnyRequest,
    state: State,
    user: User,
    tenant: str,
    project: str,
    *,
    publisher_form: PublisherForm | None = None,
    status_code: int = 200,
) -> Response[Any]:
    """The project page, optionally with a rejected publisher form shown again with its error."""
    detail = admin_services(state).catalog.project(user, tenant, project)
    context: dict[str, Any] = {
        "detail": detail,
        "tenant": detail.tenant,
        "panels": FeaturePanels(state, detail.tenant, detail.project, publisher_form),
        "index_url": tenant_index_url(request, detail.tenant.slug),
        "readme_html": render_readme(detail.readme) if detail.readme else "",
    }
    if publisher_form is not None and publisher_form.error:
        context["flash"] = ["error", f"Publisher not added: {publisher_form.error}"]
    return renderer(state).page(request, "admin/project.html.j2", context, user=user, status_code=status_code)


@get(_PROJECT, name="admin-project", opt=needs(Permission.VIEW), sync_to_thread=True)
def project_page(
    request: AnyRequest, state: State, user: NamedDependency[User], tenant: FromPath[str], project: FromPath[str]
) -> Response[Any]:
    """Releases with files, sizes, hashes, upload time, uploader, yanked state, the README and feature panels."""
    return render_project_page(request, state, user, tenant, project)


@post(_PROJECT + "/status", name="admin-project-status", opt=needs(Permission.SET_PROJECT_STATUS), sync_to_thread=True)
def set_project_status(
    request: AnyRequest,
    state: State,
    user: NamedDependency[User],
    tenant: FromPath[str],
    project: FromPath[str],
    data: Form,
) -> Redirect:
    """Set the project's PEP 792 status with a reason."""
    check_csrf(request, data)
    status = admin_services(state).statuses.set_status(
        user,
        tenant,
        project,
        str(data.get("status") or ""),
        str(data.get("reason") or ""),
        source_ip=client_ip(request),
    )
    pages_caught_up(state)
    return back_to_project(request, tenant, project, f"Project status set to {status.kind.value}.")


@post(_PROJECT + "/releases/{version:str}/yank", name="admin-yank", opt=needs(Permission.YANK), sync_to_thread=True)
def yank_release(
    request: AnyRequest,
    state: State,
    user: NamedDependency[User],
    tenant: FromPath[str],
    project: FromPath[str],
    version: FromPath[str],
    data: Form,
) -> Redirect:
    """Yank a release with an optional reason."""
    check_csrf(request, data)
    reason = str(data.get("reason") or "")
    admin_services(state).releases.set_yanked(
        user, tenant, project, version, yanked=True, reason=reason, source_ip=client_ip(request)
    )
    pages_caught_up(state)
    return back_to_project(request, tenant, project, f"Release {version} yanked: pip skips it unless pinned with ==.")


@post(_PROJECT + "/releases/{version:str}/unyank", name="admin-unyank", opt=needs(Permission.YANK), sync_to_thread=True)
def unyank_release(
    request: AnyRequest,
    state: State,
    user: NamedDependency[User],
    tenant: FromPath[str],
    project: FromPath[str],
    version: FromPath[str],
    data: Form,
) -> Redirect:
    """Undo a yank."""
    check_csrf(request, data)
    admin_services(state).releases.set_yanked(
        user, tenant, project, version, yanked=False, source_ip=client_ip(request)
    )
    pages_caught_up(state)
    return back_to_project(request, tenant, project, f"Release {version} is no longer yanked.")


@post(
    _PROJECT + "/releases/{version:str}/purge",
    name="admin-purge-release",
    opt=needs(Permission.PURGE),
    sync_to_thread=True,
)
def purge_release(
    request: AnyRequest,
    state: State,
    user: NamedDependency[User],
    tenant: FromPath[str],
    project: FromPath[str],
    version: FromPath[str],
    data: Form,
) -> Redirect:
    """Delete a release, its files and their blobs."""
    check_csrf(request, data)
    count = admin_services(state).releases.purge_release(user, tenant, project, version, source_ip=client_ip(request))
    pages_caught_up(state)
    return back_to_project(request, tenant, project, f"Release {version} purged ({count} files).")


@post(
    _PROJECT + "/files/{filename:str}/purge", name="admin-purge-file", opt=needs(Permission.PURGE), sync_to_thread=True
)
def purge_file(
    request: AnyRequest,
    state: State,
    user: NamedDependency[User],
    tenant: FromPath[str],
    project: FromPath[str],
    filename: FromPath[str],
    data: Form,
) -> Redirect:
    """Delete one file and its blobs."""
    check_csrf(request, data)
    admin_services(state).releases.purge_file(user, tenant, project, filename, source_ip=client_ip(request))
    pages_caught_up(state)
    return back_to_project(request, tenant, project, f"File {filename} purged.")


@post(_PROJECT + "/purge", name="admin-purge-project", opt=needs(Permission.PURGE), sync_to_thread=True)
def purge_project(
    request: AnyRequest,
    state: State,
    user: NamedDependency[User],
    tenant: FromPath[str],
    project: FromPath[str],
    data: Form,
) -> Redirect:
    """Delete a project with all its releases, files and blobs."""
    check_csrf(request, data)
    count = admin_services(state).releases.purge_project(user, tenant, project, source_ip=client_ip(request))
    pages_caught_up(state)
    flash(request, f"Project {project} purged ({count} files).")
    return Redirect(path=f"/admin/t/{tenant}/packages", status_code=303)
