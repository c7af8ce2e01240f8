"""The "Wheel scan" page: scan one stored wheel and show its findings grouped by severity."""

from __future__ import annotations

from typing import Any

from litestar import Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath

from pyregistry_application.security.findings import Finding, Severity
from pyregistry_domain.errors import NotFound
from pyregistry_domain.roles import Permission
from pyregistry_domain.users import User
from pyregistry_web.admin.feature_panels import security_of
from pyregistry_web.admin.route_access import needs
from pyregistry_web.admin.session_user import admin_services, renderer
from pyregistry_web.http_types import AnyRequest

__all__ = ["wheel_scan"]


def _by_severity(findings: list[Finding]) -> list[tuple[Severity, list[Finding]]]:
    """Non-empty groups, most severe first."""
    order = sorted(Severity, key=lambda severity: severity.rank, reverse=True)
    return [(severity, group) for severity in order if (group := [f for f in findings if f.severity is severity])]


@get(
    "/t/{tenant:str}/packages/{project:str}/files/{filename:str}/scan",
    name="admin-wheel-scan",
    opt=needs(Permission.VIEW),
    sync_to_thread=True,
)
def wheel_scan(
    request: AnyRequest,
    state: State,
    user: NamedDependency[User],
    tenant: FromPath[str],
    project: FromPath[str],
    filename: FromPath[str],
) -> Response[Any]:
    """Run every configured scanner over the stored wheel (read-only, nothing is changed)."""
    detail = admin_services(state).catalog.project(user, tenant, project)
    if not any(file.filename == filename for view in detail.releases for file in view.files):
        raise NotFound(f"file {filename!r} not found in project {detail.project.name!r}")
    report = security_of(state).wheel_scan.scan_stored(detail.tenant.id, detail.project.normalized_name, filename)
    context = {
        "tenant": detail.tenant,
        "project": detail.project,
        "report": report,
        "groups": _by_severity(report.findings),
        "highest": report.highest(),
    }
    return renderer(state).page(request, "admin/scan.html.j2", context, user=user)
