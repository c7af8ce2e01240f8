"""Index page bodies through the page cache: what the Simple API routes serve and what a rebuild pre-renders."""

from __future__ import annotations

import functools
from collections.abc import Callable
from functools import partial

from pyregistry_application.index import ProjectListing, ProjectPage
from pyregistry_application.index_versions import IndexChanges, PageStamp
from pyregistry_application.services import RegistryServices
from pyregistry_web.negotiation import SimpleFormat
from pyregistry_web.page_cache import PageKey, RenderedPageCache
from pyregistry_web.simple_pages import render_listing, render_project

__all__ = [
    "PROJECT_BASE",
    "listing_body",
    "listing_key",
    "project_body",
    "project_key",
    "rebuild_pages",
    "refresh_changed",
]

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
        listing_key(stamp, fmt),
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
    return cache.get_or_render(
        project_key(stamp, project, fmt, base),
        stamp.version,
        lambda: render_project(
            services.index.project_page(tenant, secret, project), fmt is SimpleFormat.JSON, _up(base)
        ),
        counted=counted,
    )


def listing_key(stamp: PageStamp, fmt: SimpleFormat) -> PageKey:
    """Where the root index in ``fmt`` is cached."""
    return (stamp.tenant_id, "", fmt.name)


def project_key(stamp: PageStamp, project: str, fmt: SimpleFormat, base: str = PROJECT_BASE) -> PageKey:
    """Where ``project``'s page in ``fmt`` under ``base`` is cached."""
    return (stamp.tenant_id, project, f"{fmt.name} {base}")


def _up(base: str) -> str:
    """From a project page under ``base`` back to ``/t/{tenant}/``."""
    return "../" * (base.count("/") + 2)


def rebuild_pages(services: RegistryServices, cache: RenderedPageCache, tenant_slug: str, project: str) -> None:
    """Render the root index and ``project``'s page at their current versions, in every format, into the cache (a
    mirrored page, never cached, is skipped). No token is checked (the uploader's may be revoked or expire before
    the rebuild runs): every request still authorizes before it is served a cached page."""
    tenant_id = services.index.tenant_id(tenant_slug)
    listing = None if tenant_id is None else services.index.refresh_listing(tenant_id)
    page = None if tenant_id is None else services.index.refresh_project(tenant_id, project)
    if listing is not None:
        stamp, read = listing
        listing_bytes = _listing_bodies(read)
        for fmt in SimpleFormat:
            _render(cache, listing_key(stamp, fmt), stamp, partial(listing_bytes, fmt is SimpleFormat.JSON))
    if page is not None:
        stamp, read_page = page
        page_bytes = _page_bodies(read_page)
        for fmt in SimpleFormat:
            render = partial(page_bytes, fmt is SimpleFormat.JSON, _up(PROJECT_BASE))
            _render(cache, project_key(stamp, project, fmt), stamp, render)


def refresh_changed(services: RegistryServices, cache: RenderedPageCache, changes: IndexChanges) -> int:
    """Re-render, at their current versions, the cached variants of every changed root index and project page
    (pages nobody has read stay unrendered); return how many were rendered. Made by whichever process wrote the
    change, so CLI commands, admin pages, mirror refreshes and other nodes are covered alike."""
    rendered = 0
    for tenant_id in changes.listings:
        keys = cache.cached_keys(tenant_id, "")
        found = services.index.refresh_listing(tenant_id) if keys else None
        if found is None:
            continue
        stamp, read = found
        listing_bytes = _listing_bodies(read)
        for key in keys:
            as_json = SimpleFormat[key[2]] is SimpleFormat.JSON
            rendered += _render(cache, key, stamp, partial(listing_bytes, as_json))
    for tenant_id, project in changes.projects:
        keys = cache.cached_keys(tenant_id, project)
        page = services.index.refresh_project(tenant_id, project) if keys else None
        if page is None:
            continue
        stamp, read_page = page
        page_bytes = _page_bodies(read_page)
        for key in keys:
            fmt_name, _, base = key[2].partition(" ")
            as_json = SimpleFormat[fmt_name] is SimpleFormat.JSON
            rendered += _render(cache, key, stamp, partial(page_bytes, as_json, _up(base)))
    return rendered


def _listing_bodies(read: Callable[[], ProjectListing]) -> Callable[[bool], bytes]:
    """``as_json -> body`` of one root index: read at most once, each body rendered at most once (the HTML body
    serves both HTML content types)."""
    kept: list[ProjectListing] = []

    @functools.cache
    def body(as_json: bool) -> bytes:
        if not kept:
            kept.append(read())
        return render_listing(kept[0], as_json)

    return body


def _page_bodies(read: Callable[[], ProjectPage]) -> Callable[[bool, str], bytes]:
    """``(as_json, up) -> body`` of one project page, like :func:`_listing_bodies`."""
    kept: list[ProjectPage] = []

    @functools.cache
    def body(as_json: bool, up: str) -> bytes:
        if not kept:
            kept.append(read())
        return render_project(kept[0], as_json, up)

    return body


def _render(cache: RenderedPageCache, key: PageKey, stamp: PageStamp, render: Callable[[], bytes]) -> int:
    """Render ``key`` at ``stamp`` unless it already is; 1 when it was rendered."""
    calls: list[None] = []

    def counting() -> bytes:
        calls.append(None)
        return render()

    cache.get_or_render(key, stamp.version, counting, counted=False)
    return len(calls)
