"""Index page bodies through the page cache: what the Simple API routes serve and what a rebuild pre-renders."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TypeVar

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

_Read = TypeVar("_Read")

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
        read_listing = _read_once(read)
        for fmt in SimpleFormat:
            render = partial(_listing_bytes, read_listing, fmt is SimpleFormat.JSON)
            _render(cache, listing_key(stamp, fmt), stamp, render)
    if page is not None:
        stamp, read_page = page
        read_project = _read_once(read_page)
        for fmt in SimpleFormat:
            render = partial(_page_bytes, read_project, fmt is SimpleFormat.JSON, _up(PROJECT_BASE))
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
        for key in keys:
            as_json = SimpleFormat[key[2]] is SimpleFormat.JSON
            rendered += _render(cache, key, stamp, partial(_listing_bytes, read, as_json))
    for tenant_id, project in changes.projects:
        keys = cache.cached_keys(tenant_id, project)
        page = services.index.refresh_project(tenant_id, project) if keys else None
        if page is None:
            continue
        stamp, read_page = page
        for key in keys:
            fmt_name, _, base = key[2].partition(" ")
            as_json = SimpleFormat[fmt_name] is SimpleFormat.JSON
            rendered += _render(cache, key, stamp, partial(_page_bytes, read_page, as_json, _up(base)))
    return rendered


def _read_once(read: Callable[[], _Read]) -> Callable[[], _Read]:
    """``read``, made at most once however often the returned function is called."""
    kept: list[_Read] = []

    def once() -> _Read:
        if not kept:
            kept.append(read())
        return kept[0]

    return once


def _render(cache: RenderedPageCache, key: PageKey, stamp: PageStamp, render: Callable[[], bytes]) -> int:
    """Render ``key`` at ``stamp`` unless it already is; 1 when it was rendered."""
    calls: list[None] = []

    def counting() -> bytes:
        calls.append(None)
        return render()

    cache.get_or_render(key, stamp.version, counting, counted=False)
    return len(calls)


def _listing_bytes(read: Callable[[], ProjectListing], as_json: bool) -> bytes:
    return render_listing(read(), as_json)


def _page_bytes(read: Callable[[], ProjectPage], as_json: bool, up: str) -> bytes:
    return render_project(read(), as_json, up)
