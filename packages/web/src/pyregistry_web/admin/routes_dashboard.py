"""Landing page, dashboard, tenant creation and search."""

from __future__ import annotations

from typing import Any

from litestar import Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Redirect

from pyregistry_application.services import RegistryServices
from pyregistry_domain.users import User
from pyregistry_web.admin.csrf import check_csrf, html_security_headers
from pyregistry_web.admin.feature_panels import FeaturePanels
from pyregistry_web.admin.paging import Pager
from pyregistry_web.admin.rendering import flash
from pyregistry_web.admin.route_access import Access, needs
from pyregistry_web.admin.session_user import Form, admin_services, renderer
from pyregistry_web.credentials import client_ip
from pyregistry_web.http_types import AnyRequest

__all__ = ["create_tenant", "dashboard", "landing", "search"]

SEARCH_PAGE_SIZE = 20


@get("/", name="landing", sync_to_thread=True, middleware=[html_security_headers], include_in_schema=False)
def landing(request: AnyRequest, state: State) -> Response[Any]:
    """Public landing page; aggregate statistics unless ``web_ui.show_index_stats`` is false."""
    services: RegistryServices = state.services
    stats = services.metadata.catalogue.stats() if state.web_options.show_index_stats else None
    return renderer(state).page(request, "landing.html.j2", {"stats": stats})


@get("/dashboard", name="admin-dashboard", opt=needs(Access.SIGNED_IN), sync_to_thread=True)
def dashboard(request: AnyRequest, state: State, user: NamedDependency[User]) -> Response[Any]:
    """Tenants the user may see, counts and recent activity."""
    data = admin_services(state).catalog.dashboard(user)
    context = {"dashboard": data, "tenant_panels": [FeaturePanels(state, row.tenant) for row in data.tenants]}
    return renderer(state).page(request, "admin/dashboard.html.j2", context, user=user)


@post("/tenants", name="admin-create-tenant", opt=needs(Access.SUPERADMIN), sync_to_thread=True)
def create_tenant(request: AnyRequest, state: State, user: NamedDependency[User], data: Form) -> Redirect:
    """Superadmin: create a tenant, optionally with its first admin account."""
    check_csrf(request, data)
    admin = admin_services(state)
    admin.authorization.require_superadmin(user)
    services: RegistryServices = state.services
    tenant = services.tenants.create_tenant(
        slug=str(data.get("slug") or "").strip(),
        display_name=str(data.get("display_name") or "").strip(),
        admin_email=str(data.get("admin_email") or "").strip() or None,
        admin_password=str(data.get("admin_password") or "") or None,
        mirroring_enabled=data.get("mirroring") == "on",
        actor=user.email,
        source_ip=client_ip(request),
    )
    flash(request, f"Tenant {tenant.slug} created.")
    return Redirect(path=f"/admin/t/{tenant.slug}/packages", status_code=303)


@get("/search", name="admin-search", opt=needs(Access.SIGNED_IN), sync_to_thread=True)
def search(
    request: AnyRequest, state: State, user: NamedDependency[User], q: FromQuery[str] = "", page: FromQuery[int] = 1
) -> Response[Any]:
    """Ranked project search across the user's tenants, paginated."""
    pager = Pager.clamp(page, SEARCH_PAGE_SIZE)
    found = admin_services(state).catalog.search(user, q, pager.page, SEARCH_PAGE_SIZE)
    pager = Pager.clamp(page, SEARCH_PAGE_SIZE, found.total)
    return renderer(state).page(
        request, "admin/search.html.j2", {"q": q, "hits": found.items, "pager": pager}, user=user
    )
