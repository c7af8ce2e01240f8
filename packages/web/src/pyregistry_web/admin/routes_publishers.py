"""Registering, listing (on the project page) and removing a project's trusted publishers."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Response, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect

from pyregistry_domain.errors import AlreadyExists, NotFound, ValidationFailed
from pyregistry_domain.roles import Permission
from pyregistry_domain.users import User
from pyregistry_web.admin.csrf import check_csrf
from pyregistry_web.admin.feature_panels import PublisherForm, publishing_of
from pyregistry_web.admin.rendering import flash
from pyregistry_web.admin.route_access import needs
from pyregistry_web.admin.routes_packages import render_project_page
from pyregistry_web.admin.session_user import Form, admin_services
from pyregistry_web.credentials import client_ip
from pyregistry_web.http_types import AnyRequest

__all__ = ["add_publisher", "remove_publisher"]

_PUBLISHERS = "/t/{tenant:str}/packages/{project:str}/publishers"
_MAX_FIELD = 300


def _field(data: dict[str, Any], name: str) -> str:
    return str(data.get(name) or "").strip()[:_MAX_FIELD]


@post(_PUBLISHERS, name="admin-add-publisher", opt=needs(Permission.MANAGE_PUBLISHERS), sync_to_thread=True)
def add_publisher(
    request: AnyRequest,
    state: State,
    user: NamedDependency[User],
    tenant: FromPath[str],
    project: FromPath[str],
    data: Form,
) -> Response[Any] | Redirect:
    """Register a GitHub or GitLab publisher of one configured issuer.

    Invalid input re-renders the page with the form and its error.
    """
    check_csrf(request, data)
    detail = admin_services(state).catalog.project(user, tenant, project)
    form = PublisherForm(
        provider=_field(data, "provider"),
        repository=_field(data, "repository"),
        workflow=_field(data, "workflow"),
        environment=_field(data, "environment"),
        issuer=_field(data, "issuer"),
    )
    try:
        publisher = publishing_of(state).add_publisher(
            tenant_slug=detail.tenant.slug,
            project=detail.project.normalized_name,
            provider=form.provider,
            repository=form.repository,
            workflow=form.workflow,
            environment=form.environment or None,
            issuer=form.issuer or None,
            actor=user.email,
            source_ip=client_ip(request),
        )
    except (ValidationFailed, AlreadyExists) as exc:
        status = 409 if isinstance(exc, AlreadyExists) else 400
        rejected = msgspec.structs.replace(form, error=exc.message)
        return render_project_page(request, state, user, tenant, project, publisher_form=rejected, status_code=status)
    flash(request, f"Trusted publisher {publisher.identity} added.")
    return Redirect(
        path=f"/admin/t/{detail.tenant.slug}/packages/{detail.project.normalized_name}#publishers", status_code=303
    )


@post(
    _PUBLISHERS + "/{publisher_id:str}/remove",
    name="admin-remove-publisher",
    opt=needs(Permission.MANAGE_PUBLISHERS),
    sync_to_thread=True,
)
def remove_publisher(
    request: AnyRequest,
    state: State,
    user: NamedDependency[User],
    tenant: FromPath[str],
    project: FromPath[str],
    publisher_id: FromPath[str],
    data: Form,
) -> Redirect:
    """Unregister one of the project's publishers."""
    check_csrf(request, data)
    detail = admin_services(state).catalog.project(user, tenant, project)
    publishing = publishing_of(state)
    known = publishing.list_publishers(detail.tenant.slug, detail.project.normalized_name)
    publisher = next((item for item in known if item.id == publisher_id), None)
    if publisher is None:
        raise NotFound(f"publisher {publisher_id!r} is not registered for {detail.project.name}")
    publishing.remove_publisher(detail.tenant.slug, publisher.id, actor=user.email, source_ip=client_ip(request))
    flash(request, f"Trusted publisher {publisher.identity} removed.")
    return Redirect(
        path=f"/admin/t/{detail.tenant.slug}/packages/{detail.project.normalized_name}#publishers", status_code=303
    )
