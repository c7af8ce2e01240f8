"""The Litestar application factory."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from functools import partial
from importlib import metadata
from typing import Any

import msgspec
from litestar import Litestar, get
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.types import ControllerRouterHandler, Middleware

from pyregistry_application.metrics_ports import MetricsExposition
from pyregistry_application.services import RegistryServices
from pyregistry_web.admin.router import admin_handlers, admin_state
from pyregistry_web.cached_pages import rebuild_pages, refresh_changed
from pyregistry_web.errors import EXCEPTION_HANDLERS
from pyregistry_web.options import WebOptions
from pyregistry_web.page_cache import RenderedPageCache
from pyregistry_web.page_rebuilder import PageRebuilder
from pyregistry_web.page_watcher import PageWatcher
from pyregistry_web.routes.files import download_file
from pyregistry_web.routes.json_api import project_json, release_json
from pyregistry_web.routes.oidc import oidc_audience, oidc_mint_token
from pyregistry_web.routes.operations import MetricsAccess, metrics_endpoint, readiness
from pyregistry_web.routes.provenance import file_provenance
from pyregistry_web.routes.simple import legacy_simple_project, simple_index, simple_project
from pyregistry_web.routes.upload import legacy_upload

__all__ = ["OPENAPI_PATH", "create_app", "openapi_config"]

OPENAPI_PATH = "/_/openapi"


class Health(msgspec.Struct, frozen=True):
    """Liveness answer."""

    status: str


@get("/healthz", name="health")
async def health() -> Health:
    """Liveness probe."""
    return Health(status="ok")


def openapi_config() -> OpenAPIConfig:
    """The OpenAPI document, served as JSON only at ``/_/openapi/openapi.json`` (no UI that loads remote scripts)."""
    try:
        version = metadata.version("pyregistry-web")
    except metadata.PackageNotFoundError:
        version = "0.0.0"
    return OpenAPIConfig(
        title="pyregistry",
        version=version,
        description="Private Python package registry: PEP 503/691 simple index, uploads, trusted publishing, OSV.",
        path=OPENAPI_PATH,
        render_plugins=[JsonRenderPlugin()],
    )


def create_app(
    services: RegistryServices,
    options: WebOptions,
    *,
    extra_handlers: Sequence[ControllerRouterHandler] = (),
    middleware: Sequence[Middleware] = (),
    lifespan: Sequence[Callable[[Litestar], AbstractAsyncContextManager[Any]]] = (),
    extra_state: dict[str, Any] | None = None,
    metrics_exposition: MetricsExposition | None = None,
    metrics_access: MetricsAccess | None = None,
) -> Litestar:
    """Build the ASGI app around already-wired use cases; ``/metrics`` exists only with ``metrics_exposition``."""
    cache = RenderedPageCache(options.page_cache_bytes, services.metrics)
    watcher = PageWatcher(services.index.changes_since, partial(refresh_changed, services, cache))
    state = State(
        {
            "services": services,
            "web_options": options,
            "page_cache": cache,
            "page_rebuilder": PageRebuilder(partial(rebuild_pages, services, cache)),
            "page_watcher": watcher,
            "metrics_exposition": metrics_exposition,
            "metrics_access": metrics_access or MetricsAccess(),
            **(extra_state or {}),
        }
    )
    state.update(admin_state(services, extra_state or {}))
    return Litestar(
        route_handlers=[
            health,
            readiness,
            *([metrics_endpoint] if metrics_exposition is not None else []),
            simple_index,
            simple_project,
            legacy_simple_project,
            download_file,
            project_json,
            release_json,
            legacy_upload,
            *admin_handlers(options),
            oidc_audience,
            oidc_mint_token,
            file_provenance,
            *extra_handlers,
        ],
        state=state,
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        middleware=list(middleware),
        lifespan=[*lifespan, watcher.running],
        openapi_config=openapi_config(),
        logging_config=None,
        debug=False,
    )
