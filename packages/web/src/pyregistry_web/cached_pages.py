"""Index page bodies through the page cache: what the Simple API routes serve and what a rebuild pre-renders."""

from __future__ import annotations

from pyregistry_application.index_versions import PageStamp
from pyregistry_application.services import RegistryServices
from pyregistry_web.negotiation import SimpleFormat
from pyregistry_web.page_cache import RenderedPageCache
from pyregistry_web.simple_pages import render_listing, render_project

__all__ = ["PROJECT_BASE", "listing_body", "project_body", "rebuild_pages"]

PROJECT_BASE = "simple"
"""Where project pages live under ``/t/{tenant}/``; ``hatch`` also reads them under ``legacy/+simple``."""


def listing_body(
    services: RegistryServices,
    cache: RenderedPageCache,
    tenant: str,
    secret: str | None,
    stamp: PageStamp,
    fmt: SimpleFormat,
    *,
    counted: bool = True,
) -> bytes:
    """The root index at ``stamp``, rendered once per version and format (``counted``: a reader's lookup)."""
    return cache.get_or_render(
        (stamp.tenant_id, "", fmt.name),
        stamp.version,
        lambda: render_listing(services.index.listing(tenant, secret), fmt is SimpleFormat.JSON),
        counted=counted,
    )


def project_body(
    services: RegistryServices,
    cache: RenderedPageCache,
    tenant: str,
    secret: str | None,
    project: str,
    stamp: PageStamp,
    fmt: SimpleFormat,
    base: str = PROJECT_BASE,
    *,
    counted: bool = True,
) -> bytes:
    """A project page at ``stamp`` under ``/t/{tenant}/{base}/``, its links relative to that URL (``counted``: a
    reader's lookup)."""
    up = "../" * (base.count("/") + 2)
    return cache.get_or_render(
        (stamp.tenant_id, project, f"{fmt.name} {base}"),
        stamp.version,
        lambda: render_project(services.index.project_page(tenant, secret, project), fmt is SimpleFormat.JSON, up),
        counted=counted,
    )


def rebuild_pages(
    services: RegistryServices, cache: RenderedPageCache, tenant: str, secret: str | None, project: str
) -> None:
    """Render the root index and ``project``'s page at their current versions, in every format, into the cache."""
    listing = services.index.listing_stamp(tenant, secret)
    page = services.index.project_stamp(tenant, secret, project)
    for fmt in SimpleFormat:
        listing_body(services, cache, tenant, secret, listing, fmt, counted=False)
        project_body(services, cache, tenant, secret, project, page, fmt, counted=False)
