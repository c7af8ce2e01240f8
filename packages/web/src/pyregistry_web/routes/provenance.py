"""PEP 740 provenance objects of uploaded files."""

from __future__ import annotations

from typing import Any

from litestar import Response, get
from litestar.datastructures import State
from litestar.params import FromPath

from pyregistry_application.services import RegistryServices
from pyregistry_domain.errors import NotFound
from pyregistry_web.credentials import token_from_headers
from pyregistry_web.http_types import AnyRequest

__all__ = ["file_provenance"]


@get("/t/{tenant:str}/provenance/{project:str}/{version:str}/{filename:str}", sync_to_thread=True, name="provenance")
def file_provenance(
    request: AnyRequest,
    state: State,
    tenant: FromPath[str],
    project: FromPath[str],
    version: FromPath[str],
    filename: FromPath[str],
) -> Response[Any]:
    """The provenance JSON of one file (read-scoped token of the tenant required)."""
    services: RegistryServices = state.services
    if services.provenance is None:
        raise NotFound("provenance is not enabled on this server")
    secret = token_from_headers(request.headers.get("authorization"))
    body = services.provenance.provenance(tenant, secret, project, version, filename)
    return Response(content=body, media_type="application/vnd.pypi.integrity.v1+json")
