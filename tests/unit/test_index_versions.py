"""Version stamps of index pages change with every change to the data behind them; the page cache obeys them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pyregistry_application.index_versions import IndexVersions, StoreIndexVersions
from pyregistry_application.ports import RegistryStore
from pyregistry_domain.distributions import DistributionKind, ReleaseFile
from pyregistry_domain.projects import Project, Release
from pyregistry_domain.tenants import Tenant
from pyregistry_infrastructure.stores.memory import MemoryRegistryStore
from pyregistry_infrastructure.stores.sqlite import SqliteRegistryStore
from pyregistry_infrastructure.stores.sqlite_index_versions import SqliteIndexVersions
from pyregistry_web.page_cache import RenderedPageCache

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _memory(_: Path) -> tuple[RegistryStore, IndexVersions]:
    store = MemoryRegistryStore()
    return store, StoreIndexVersions(store)


def _sqlite(tmp: Path) -> tuple[RegistryStore, IndexVersions]:
    return SqliteRegistryStore(tmp / "db.sqlite3"), SqliteIndexVersions(tmp / "db.sqlite3")


def _publish(store: RegistryStore, name: str, version: str) -> None:
    project = Project(tenant_id="t1", name=name, normalized_name=name, created_at=NOW)
    release = Release(tenant_id="t1", normalized_name=name, version=version, created_at=NOW)
    filename = f"{name}-{version}-py3-none-any.whl"
    file = ReleaseFile(
        tenant_id="t1",
        project_name=name,
        normalized_name=name,
        version=version,
        filename=filename,
        kind=DistributionKind.WHEEL,
        sha256="0" * 64,
        size=1,
        blob_key=f"t1/{name}/x/{filename}",
        uploaded_at=NOW,
        uploaded_by="token:test",
    )
    store.add_release_file(project, release, file)


@pytest.fixture(params=[_memory, _sqlite], ids=["memory", "sqlite"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[RegistryStore, IndexVersions]:
    factory: Callable[[Path], tuple[RegistryStore, IndexVersions]] = request.param
    store, versions = factory(tmp_path)
    store.add_tenant(Tenant(id="t1", slug="one", display_name="One", mirroring_enabled=False, created_at=NOW))
    store.add_tenant(Tenant(id="t2", slug="two", display_name="Two", mirroring_enabled=False, created_at=NOW))
    return store, versions


def test_every_change_gives_the_root_index_a_new_version(backend: tuple[RegistryStore, IndexVersions]) -> None:
    store, versions = backend
    seen = [versions.listing_version("t1")]
    _publish(store, "alpha", "1.0")
    seen.append(versions.listing_version("t1"))
    _publish(store, "beta", "1.0")
    seen.append(versions.listing_version("t1"))
    _publish(store, "alpha", "2.0")
    seen.append(versions.listing_version("t1"))
    store.delete_project("t1", "beta")
    seen.append(versions.listing_version("t1"))
    assert len(set(seen)) == len(seen), seen
    assert versions.listing_version("t2") == "0-0"


def test_uploads_yanks_and_deletions_bump_the_project_serial(backend: tuple[RegistryStore, IndexVersions]) -> None:
    store, versions = backend
    assert versions.project_serial("t1", "alpha") is None
    _publish(store, "alpha", "1.0")
    first = versions.project_serial("t1", "alpha")
    _publish(store, "alpha", "1.1")
    second = versions.project_serial("t1", "alpha")
    store.set_release_yanked("t1", "alpha", "1.0", True, "broken")
    third = versions.project_serial("t1", "alpha")
    store.delete_file("t1", "alpha-1.1-py3-none-any.whl")
    fourth = versions.project_serial("t1", "alpha")
    serials = [found[0] for found in (first, second, third, fourth) if found is not None]
    assert len(serials) == 4
    assert serials == sorted(set(serials))
    assert first is not None and first[1] == "local"
    assert versions.project_serial("t2", "alpha") is None


def test_cache_serves_a_body_only_for_the_version_it_was_rendered_at() -> None:
    cache = RenderedPageCache(max_bytes=1024)
    renders: list[str] = []

    def render(text: str) -> Callable[[], bytes]:
        def inner() -> bytes:
            renders.append(text)
            return text.encode()

        return inner

    key = ("t1", "alpha", "JSON")
    assert cache.get_or_render(key, "1", render("v1")) == b"v1"
    assert cache.get_or_render(key, "1", render("unused")) == b"v1"
    assert cache.get_or_render(key, "2", render("v2")) == b"v2"
    assert cache.get_or_render(key, None, render("uncached")) == b"uncached"
    assert cache.get_or_render(key, "2", render("unused")) == b"v2"
    assert renders == ["v1", "v2", "uncached"]
    assert (cache.hits, cache.misses) == (2, 3)


def test_cache_evicts_least_recently_used_pages_beyond_its_byte_budget() -> None:
    cache = RenderedPageCache(max_bytes=10)
    cache.get_or_render(("t", "a", "HTML"), "1", lambda: b"aaaa")
    cache.get_or_render(("t", "b", "HTML"), "1", lambda: b"bbbb")
    cache.get_or_render(("t", "a", "HTML"), "1", lambda: b"never")
    cache.get_or_render(("t", "c", "HTML"), "1", lambda: b"cccc")
    assert cache.get_or_render(("t", "a", "HTML"), "1", lambda: b"again") == b"aaaa"
    assert cache.get_or_render(("t", "b", "HTML"), "1", lambda: b"rendered") == b"rendered"
    assert cache.get_or_render(("t", "big", "HTML"), "1", lambda: b"x" * 11) == b"x" * 11
    assert cache.get_or_render(("t", "big", "HTML"), "1", lambda: b"fresh") == b"fresh"
