"""The reads pip and uv make most (project pages, the root index, files and their ``.metadata``) answered in front
of the framework's router.

The same functions the route handlers call work the answer out; when it is a small whole answer (a cached or
freshly rendered page, a small file, a 304) it is sent from here, which skips Litestar's routing, parameter
parsing and response building (about a third of a cached page's CPU). Anything else — a refusal, a redirect, a
streamed file, a request these paths don't match — goes on to the app with what was worked out handed over
(:mod:`pyregistry_web.read_ahead`), so errors are answered by the app's error handlers and nothing is read twice.
The middleware around the app (network rules, rate limits, metrics, request ids, access lines) sees every request
either way; the route template is put in the scope as the router would.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

from litestar import Litestar, Response
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from pyregistry_web.answers import Answer
from pyregistry_web.cached_pages import PROJECT_BASE
from pyregistry_web.read_ahead import hand_over
from pyregistry_web.routes.files import file_answer
from pyregistry_web.routes.simple import LEGACY_BASE, RequestHeaders, listing_answer, project_answer

__all__ = ["HOT_ROUTE_TEMPLATES", "HotReads"]

HOT_ROUTE_TEMPLATES = {
    "simple-index": "/t/{tenant}/simple",
    "simple-project": "/t/{tenant}/simple/{project}",
    "legacy-simple-project": "/t/{tenant}/legacy/+simple/{project}",
    "download-file": "/t/{tenant}/files/{project}/{version}/{filename}",
}
"""The route template the router puts in the scope for each route answered here (a test holds them equal)."""

Answering = Callable[[RequestHeaders], Awaitable[Answer | Response[Any]]]


class HotReads:
    """ASGI app in front of the Litestar ``app``: GETs of the hot paths are worked out here (see the module)."""

    def __init__(self, app: Litestar) -> None:
        self.app: ASGIApp = app
        state = app.state
        self._services = state.services
        self._cache = state.page_cache
        self._options = state.web_options

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = None
        if scope["type"] == ScopeType.HTTP and scope["method"] == "GET":
            found = self._route(scope["path"])
        if found is None:
            await self.app(scope, receive, send)
            return
        template, answering = found
        try:
            outcome = await answering(_headers(scope))
        except Exception as refusal:  # answered by the app's error handlers
            hand_over(scope, refusal)
            await self.app(scope, receive, send)
            return
        if isinstance(outcome, Answer):
            cast("dict[str, Any]", scope)["path_template"] = template
            await outcome(scope, receive, send)
            return
        hand_over(scope, outcome)
        await self.app(scope, receive, send)

    def _route(self, path: str) -> tuple[str, Answering] | None:
        """The template and answering function of a hot path (only the exact forms clients request)."""
        parts = path.split("/")
        count = len(parts)
        if count < 5 or parts[1] != "t" or not parts[2]:
            return None
        tenant, kind = parts[2], parts[3]
        if kind == "simple" and parts[-1] == "":
            if count == 5:
                return HOT_ROUTE_TEMPLATES["simple-index"], self._listing(tenant)
            if count == 6 and parts[4]:
                return HOT_ROUTE_TEMPLATES["simple-project"], self._project(tenant, parts[4], PROJECT_BASE)
        elif kind == "files" and count == 7 and parts[4] and parts[5] and parts[6]:
            return HOT_ROUTE_TEMPLATES["download-file"], self._file(tenant, parts[4], parts[5], parts[6])
        elif kind == "legacy" and count == 7 and parts[4] == "+simple" and parts[5] and parts[6] == "":
            return HOT_ROUTE_TEMPLATES["legacy-simple-project"], self._project(tenant, parts[5], LEGACY_BASE)
        return None

    def _listing(self, tenant: str) -> Answering:
        return lambda headers: listing_answer(self._services, self._cache, tenant, headers)

    def _project(self, tenant: str, project: str, base: str) -> Answering:
        return lambda headers: project_answer(self._services, self._cache, tenant, project, base, headers)

    def _file(self, tenant: str, project: str, version: str, filename: str) -> Answering:
        return lambda headers: file_answer(self._services, self._options, tenant, project, version, filename, headers)


def _headers(scope: Scope) -> RequestHeaders:
    """The request's headers by lower-case name (the first of repeated ones, as Litestar's ``Headers.get``)."""
    headers: dict[str, str] = {}
    for name, value in scope["headers"]:
        headers.setdefault(name.decode("latin-1"), value.decode("latin-1"))
    return headers
