"""An OSV-compatible API (``/_/osv/v1``) over the local advisory database, for pysentry and other OSV clients."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody

from pyregistry_application.security.services import SecurityServices
from pyregistry_web.openapi_docs import error_responses, osv_error_responses

__all__ = ["OSV_HANDLERS", "osv_get_vuln", "osv_query", "osv_querybatch"]

_MAX_BATCH = 1000


class OsvPackage(msgspec.Struct):
    """The package part of an OSV query."""

    name: str = ""
    ecosystem: str = "PyPI"
    purl: str | None = None


class OsvQuery(msgspec.Struct):
    """One OSV query: a package and a version."""

    package: OsvPackage | None = None
    version: str | None = None
    commit: str | None = None
    page_token: str | None = None


class OsvBatch(msgspec.Struct):
    """``querybatch`` body."""

    queries: list[OsvQuery]


def _error(status: int, message: str) -> Response[dict[str, Any]]:
    return Response(content={"code": 3 if status == 400 else 5, "message": message}, status_code=status)


def _name_of(query: OsvQuery) -> str | None:
    package = query.package
    if package is None:
        return None
    if package.name:
        return package.name
    if package.purl and package.purl.startswith("pkg:pypi/"):
        return package.purl.removeprefix("pkg:pypi/").split("@", 1)[0]
    return None


def _matches(security: SecurityServices, query: OsvQuery) -> list[dict[str, Any]] | None:
    name = _name_of(query)
    if name is None or query.package is None or query.package.ecosystem.lower() != "pypi":
        return None
    source = security.advisories
    advisories = source.query(name, query.version) if query.version else source.advisories_for(name)
    return [advisory.record for advisory in advisories]


@post("/_/osv/v1/query", sync_to_thread=True, name="osv-query", status_code=200, responses=error_responses(403, 429))
def osv_query(state: State, data: JSONBody[OsvQuery]) -> Response[dict[str, Any]]:
    """Advisories affecting one package version (``{"vulns": [...]}``, or ``{}`` when none)."""
    records = _matches(state["security"], data)
    if records is None:
        return _error(400, "only PyPI package queries with a name are supported")
    return Response(content={"vulns": records} if records else {})


@post(
    "/_/osv/v1/querybatch",
    sync_to_thread=True,
    name="osv-querybatch",
    status_code=200,
    responses=error_responses(403, 429),
)
def osv_querybatch(state: State, data: JSONBody[OsvBatch]) -> Response[dict[str, Any]]:
    """Ids and modification times per query, in order, like api.osv.dev."""
    if len(data.queries) > _MAX_BATCH:
        return _error(400, f"at most {_MAX_BATCH} queries per batch")
    results: list[dict[str, Any]] = []
    for query in data.queries:
        records = _matches(state["security"], query) or []
        vulns = [{"id": r["id"], "modified": r.get("modified", "")} for r in records]
        results.append({"vulns": vulns} if vulns else {})
    return Response(content={"results": results})


@get(
    "/_/osv/v1/vulns/{advisory_id:str}",
    sync_to_thread=True,
    name="osv-vuln",
    responses={**error_responses(403, 429), **osv_error_responses(404)},
)
def osv_get_vuln(state: State, advisory_id: FromPath[str]) -> Response[dict[str, Any]]:
    """The full OSV record of one advisory (by id or alias)."""
    security: SecurityServices = state["security"]
    advisory = security.advisories.get(advisory_id)
    if advisory is None:
        return _error(404, "Bug not found.")
    return Response(content=advisory.record)


OSV_HANDLERS = [osv_query, osv_querybatch, osv_get_vuln]
