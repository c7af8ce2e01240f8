"""A rebuild renders the root index and the project page in every format at their current versions, without any
token, and skips what it cannot cache."""

from __future__ import annotations

from pathlib import Path

from pyregistry_application.index_versions import PageStamp
from pyregistry_web.cached_pages import listing_key, project_key, rebuild_pages
from pyregistry_web.negotiation import SimpleFormat
from pyregistry_web.page_cache import RenderedPageCache
from tests.support.dists import build_wheel
from tests.support.in_process_registry import Registry


def _rebuilt(tmp_path: Path) -> tuple[RenderedPageCache, PageStamp, PageStamp]:
    """A cache after the rebuild of ``warm-lib`` 1.0's upload; the stamps of the root index and the page."""
    registry = Registry(tmp_path)
    registry.upload(build_wheel(tmp_path / "w", "warm-lib", "1.0"))
    services, cache = registry.runtime.services, RenderedPageCache(1 << 20)
    rebuild_pages(services, cache, "acme", "warm-lib")
    listing = services.index.listing_stamp("acme", registry.secret)
    return cache, listing, services.index.project_stamp("acme", registry.secret, "warm-lib")


def test_a_rebuild_caches_every_format_of_both_pages_at_their_current_versions(tmp_path: Path) -> None:
    cache, listing, page = _rebuilt(tmp_path)
    for fmt in SimpleFormat:
        assert cache.cached(listing_key(listing, fmt), listing.version) is not None
        body = cache.cached(project_key(page, "warm-lib", fmt), page.version)
        assert body is not None and b"warm_lib-1.0-py3-none-any.whl" in body


def test_a_rebuild_of_an_unknown_tenant_or_project_caches_nothing_else(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    services, cache = registry.runtime.services, RenderedPageCache(1 << 20)
    assert services.index.tenant_id("nope") is None
    rebuild_pages(services, cache, "nope", "warm-lib")
    assert cache.cached_keys(services.index.tenant_id("acme") or "", "") == []
    rebuild_pages(services, cache, "acme", "missing-lib")
    tenant_id = services.index.tenant_id("acme") or ""
    assert cache.cached_keys(tenant_id, "missing-lib") == []
    assert len(cache.cached_keys(tenant_id, "")) == len(SimpleFormat)


def test_both_html_content_types_share_one_rendered_body(tmp_path: Path) -> None:
    cache, listing, page = _rebuilt(tmp_path)
    html, legacy = SimpleFormat.HTML, SimpleFormat.LEGACY_HTML
    assert cache.cached(listing_key(listing, html), listing.version) is cache.cached(
        listing_key(listing, legacy), listing.version
    )
    assert cache.cached(project_key(page, "warm-lib", html), page.version) is cache.cached(
        project_key(page, "warm-lib", legacy), page.version
    )
