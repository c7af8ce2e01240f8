"""JSON endpoints behind the package page: per-release vulnerabilities and the "Wheel scan" modal."""

from __future__ import annotations

from typing import Any

from litestar import Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath

from pyregistry_application.security.services import SecurityServices
from pyregistry_application.services import RegistryServices
from pyregistry_domain.names import normalize_project_name
from pyregistry_domain.tokens import TokenScope
from pyregistry_web.credentials import token_from_headers
from pyregistry_web.http_types import AnyRequest
from pyregistry_web.openapi_docs import error_responses

__all__ = ["SECURITY_HANDLERS", "project_vulnerabilities", "scan_wheel"]


def _tenant_id(request: AnyRequest, state: State, tenant: str, project: str) -> str:
    services: RegistryServices = state["services"]
    found, _ = services.access.authorize(
        tenant,
        token_from_headers(request.headers.get("authorization")),
        TokenScope.READ,
        normalize_project_name(project),
    )
    return found.id


@get(
    "/_/security/t/{tenant:str}/projects/{project:str}/vulnerabilities",
    sync_to_thread=True,
    name="project-vulns",
    responses=error_responses(401, 403, 404, 429),
)
def project_vulnerabilities(
    request: AnyRequest, state: State, tenant: FromPath[str], project: FromPath[str]
) -> Response[dict[str, Any]]:
    """Per-release advisories with the versions that fix them (needs a token with read scope)."""
    tenant_id = _tenant_id(request, state, tenant, project)
    security: SecurityServices = state["security"]
    releases = security.release_vulnerabilities.for_project(tenant_id, project)
    body = {
        "project": normalize_project_name(project),
        "releases": [
            {
                "version": release.version,
                "fixed_versions": release.fixed_versions,
                "advisories": [
                    {
                        "id": a.id,
                        "aliases": a.aliases,
                        "summary": a.summary,
                        "fixed_versions": a.fixed_versions,
                        "modified": a.modified,
                    }
                    for a in release.advisories
                ],
            }
            for release in releases
        ],
    }
    return Response(content=body)


@post(
    "/_/security/t/{tenant:str}/projects/{project:str}/files/{filename:str}/scan",
    sync_to_thread=True,
    name="wheel-scan",
    status_code=200,
    responses=error_responses(401, 403, 404, 429),
)
def scan_wheel(
    request: AnyRequest, state: State, tenant: FromPath[str], project: FromPath[str], filename: FromPath[str]
) -> Response[Any]:
    """Scan one stored wheel (the package page's "Wheel scan" modal); needs a token with read scope."""
    tenant_id = _tenant_id(request, state, tenant, project)
    security: SecurityServices = state["security"]
    report = security.wheel_scan.scan_stored(tenant_id, project, filename)
    return Response(content=report)


SECURITY_HANDLERS = [project_vulnerabilities, scan_wheel]
