"""PyPI-compatible JSON API per tenant: ``/t/<tenant>/pypi/<project>/json`` and ``.../<version>/json``."""

from __future__ import annotations

from typing import Any

from litestar import Response, get
from litestar.datastructures import State
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

from pyregistry_application.services import RegistryServices
from pyregistry_domain.errors import InvalidVersion
from pyregistry_domain.versions import canonical_version
from pyregistry_web.credentials import token_from_headers
from pyregistry_web.http_types import AnyRequest
from pyregistry_web.json_api_pages import choose_latest_version, render_project_json

__all__ = ["project_json", "release_json"]

_HEADERS = {"Vary": "Authorization", "Cache-Control": "private, no-cache"}


def _same_version(known: str, asked: str) -> bool:
    try:
        return canonical_version(known) == canonical_version(asked)
    except InvalidVersion:
        return known == asked


def _answer(request: AnyRequest, state: State, tenant: str, project: str, version: str | None) -> Response[Any]:
    services: RegistryServices = state.services
    page = services.index.project_page(tenant, token_from_headers(request.headers.get("authorization")), project)
    if version is None:
        chosen = choose_latest_version(page)
    else:
        chosen = next((known for known in page.versions if _same_version(known, version)), None)
    if chosen is None:
        raise NotFoundException(detail=f"project {page.project.name!r} has no version {version or ''}".rstrip())
    tenant_url = f"{str(request.base_url).rstrip('/')}/t/{page.tenant.slug}"
    body = render_project_json(page, tenant_url, chosen, services.index.release_info(page, chosen))
    return Response(content=body, media_type="application/json", headers=_HEADERS)


@get("/t/{tenant:str}/pypi/{project:str}/json", sync_to_thread=True, name="json-project")
def project_json(request: AnyRequest, state: State, tenant: FromPath[str], project: FromPath[str]) -> Response[Any]:
    """Project metadata, every release's files and the current version's files, as PyPI's JSON API shapes them."""
    return _answer(request, state, tenant, project, None)


@get("/t/{tenant:str}/pypi/{project:str}/{version:str}/json", sync_to_thread=True, name="json-release")
def release_json(
    request: AnyRequest, state: State, tenant: FromPath[str], project: FromPath[str], version: FromPath[str]
) -> Response[Any]:
    """The same document for one version; 404 when the project has no such version."""
    return _answer(request, state, tenant, project, version)
