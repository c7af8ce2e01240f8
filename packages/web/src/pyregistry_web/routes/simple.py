"""PEP 503/691 Simple Repository API for one tenant."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from anyio import to_thread
from litestar import Response, get
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.params import FromPath
from litestar.response import Redirect

from pyregistry_application.services import RegistryServices
from pyregistry_domain.errors import InvalidName, NotFound
from pyregistry_domain.names import normalize_project_name, validate_project_name
from pyregistry_web.answers import Answer
from pyregistry_web.cached_pages import PROJECT_BASE, listing_body, listing_key, project_body, project_key
from pyregistry_web.credentials import token_from_headers
from pyregistry_web.http_types import AnyRequest
from pyregistry_web.negotiation import SimpleFormat, choose_simple_format
from pyregistry_web.page_cache import RenderedPageCache
from pyregistry_web.read_ahead import answered

__all__ = [
    "LEGACY_BASE",
    "RequestHeaders",
    "legacy_simple_project",
    "listing_answer",
    "project_answer",
    "simple_index",
    "simple_project",
]

LEGACY_BASE = "legacy/+simple"
"""Where ``hatch publish`` reads project pages under ``/t/{tenant}/``."""

_VARY = {"Vary": "Accept, Authorization"}
RequestHeaders = Mapping[str, str]
"""A request's headers by lower-case name (Litestar's ``request.headers``, or a dict of them)."""


def _format(headers: RequestHeaders) -> SimpleFormat:
    chosen = choose_simple_format(headers.get("accept"))
    if chosen is None:
        raise HTTPException(
            status_code=406,
            detail="unsupported Accept header: ask for application/vnd.pypi.simple.v1+json, "
            "application/vnd.pypi.simple.v1+html or text/html",
        )
    return chosen


def _headers(etag: str | None) -> dict[str, str]:
    if etag is None:
        return {**_VARY, "Cache-Control": "private, no-cache"}
    return {**_VARY, "ETag": etag, "Cache-Control": "private, max-age=0, must-revalidate"}


def _client_has(headers: RequestHeaders, etag: str) -> bool:
    """``If-None-Match`` lists ``etag`` (or ``*``)."""
    header = headers.get("if-none-match")
    if not header:
        return False
    return any(candidate.strip() in (etag, "*") for candidate in header.split(","))


def _etag(tenant_id: str, name: str, version: str | None, fmt: SimpleFormat) -> str | None:
    return None if version is None else f'W/"{tenant_id}-{name}-{version}-{fmt.name}"'


async def listing_answer(
    services: RegistryServices, cache: RenderedPageCache, tenant: str, headers: RequestHeaders
) -> Answer:
    """The root index for a request with ``headers``: a cached page is answered on the event loop; only a render
    goes to a worker thread. Refusals are raised (domain errors, 406)."""
    fmt = _format(headers)
    secret = token_from_headers(headers.get("authorization"))
    stamp = await services.index.awaited_listing_stamp(tenant, secret)
    etag = _etag(stamp.tenant_id, "", stamp.version, fmt)
    if etag is not None and _client_has(headers, etag):
        return Answer(304, _headers(etag))
    body = cache.cached(listing_key(stamp, fmt), stamp.version)
    if body is None:
        body = await to_thread.run_sync(
            partial(listing_body, services, cache, tenant, secret, stamp, fmt, counted=stamp.version is None)
        )
    return Answer(200, _headers(etag), body, fmt.value)


async def project_answer(
    services: RegistryServices, cache: RenderedPageCache, tenant: str, project: str, base: str, headers: RequestHeaders
) -> Answer | Response[Any]:
    """The project page at ``/t/{tenant}/{base}/{project}/``, its links relative to that URL; a cached page is
    answered on the event loop, only a render goes to a worker thread. A non-normalized name is redirected to the
    normalized URL; names no project can have (PEP 508) are 404, so no redirect can loop."""
    try:
        validate_project_name(project)
    except InvalidName as exc:
        raise NotFound(f"no such project: {exc}") from None
    normalized = normalize_project_name(project)
    if normalized != project:
        return Redirect(path=f"/t/{tenant}/{base}/{normalized}/", status_code=301)
    fmt = _format(headers)
    secret = token_from_headers(headers.get("authorization"))
    stamp = await services.index.awaited_project_stamp(tenant, secret, project)
    etag = _etag(stamp.tenant_id, project, stamp.version, fmt)
    if etag is not None and _client_has(headers, etag):
        return Answer(304, _headers(etag))
    body = cache.cached(project_key(stamp, project, fmt, base), stamp.version)
    if body is None:
        body = await to_thread.run_sync(
            partial(
                project_body, services, cache, tenant, secret, project, stamp, fmt, base, counted=stamp.version is None
            )
        )
    return Answer(200, _headers(etag), body, fmt.value)


@get("/t/{tenant:str}/simple/", name="simple-index")
async def simple_index(request: AnyRequest, state: State, tenant: FromPath[str]) -> Response[Any]:
    """Root index: every project of the tenant, rendered once per version of the tenant's project list."""
    return await answered(request, lambda: listing_answer(state.services, state.page_cache, tenant, request.headers))


@get("/t/{tenant:str}/simple/{project:str}/", name="simple-project")
async def simple_project(
    request: AnyRequest, state: State, tenant: FromPath[str], project: FromPath[str]
) -> Response[Any]:
    """A project page (cached per project serial); non-normalized names redirect to the normalized URL, and names
    no project can have (PEP 508) are 404, so no redirect can loop."""
    return await answered(
        request,
        lambda: project_answer(state.services, state.page_cache, tenant, project, PROJECT_BASE, request.headers),
    )


@get("/t/{tenant:str}/legacy/+simple/{project:str}/", name="legacy-simple-project")
async def legacy_simple_project(
    request: AnyRequest, state: State, tenant: FromPath[str], project: FromPath[str]
) -> Response[Any]:
    """The project page under the upload URL, where ``hatch publish`` looks (``<repository>/+simple/<project>/``,
    as on devpi) to skip files the index already has; the same page, so re-running ``hatch publish`` is a no-op."""
    return await answered(
        request,
        lambda: project_answer(state.services, state.page_cache, tenant, project, LEGACY_BASE, request.headers),
    )
