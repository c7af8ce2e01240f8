"""The read side driven directly: page stamps for caching, and what a tenant sees once it stops mirroring."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyregistry_application.index import FileDownload, PackageIndex
from pyregistry_application.index_versions import PageStamp, StoreIndexVersions
from pyregistry_domain.errors import Forbidden, NotFound, Unauthenticated
from tests.support.dists import build_wheel
from tests.unit.application.test_application_without_web import App
from tests.unit.application.test_mirroring_use_cases import WHEEL_20, Mirror


class Acme:
    """Tenant ``acme`` (not mirroring) with a publish and a read token."""

    def __init__(self, root: Path) -> None:
        self.app = App(root)
        self.tenant = self.app.tenants.create_tenant(
            slug="acme", display_name="Acme", admin_email=None, admin_password=None, mirroring_enabled=False, actor="t"
        )
        self.publisher = self.app.tokens.issue(tenant_slug="acme", name="ci", scopes=["publish"], actor="t").secret
        self.reader = self.app.tokens.issue(tenant_slug="acme", name="pip", scopes=["read"], actor="t").secret
        self.root = root

    def upload(self, name: str, version: str) -> None:
        wheel = build_wheel(self.root / "dists" / f"{name}-{version}", name, version)
        self.app.upload("acme", self.publisher, wheel, name, version)

    def serial(self, name: str) -> int:
        project = self.app.store.catalogue.get_project(self.tenant.id, name)
        assert project is not None
        return project.serial


@pytest.fixture
def acme(tmp_path: Path) -> Acme:
    return Acme(tmp_path)


def test_the_root_index_stamp_changes_with_its_projects_and_the_mirroring_switch(acme: Acme) -> None:
    index = acme.app.index
    versions = StoreIndexVersions(acme.app.store.tenants, acme.app.store.tokens, acme.app.store.catalogue)
    empty = index.listing_stamp("acme", acme.reader)
    assert empty == PageStamp(tenant_id=acme.tenant.id, version=f"{versions.listing_version(acme.tenant.id)}-m0")
    acme.upload("demo", "1.0")
    first = index.listing_stamp("acme", acme.reader)
    assert first != empty
    acme.upload("demo", "2.0")
    assert index.listing_stamp("acme", acme.reader) == first, "another version of a listed project"
    acme.upload("other", "1.0")
    second = index.listing_stamp("acme", acme.reader)
    assert second not in (empty, first)
    acme.app.tenants.set_mirroring("acme", True, actor="boss@acme.test")
    assert index.listing_stamp("acme", acme.reader).version == f"{second.version[:-3]}-m1"
    with pytest.raises(Unauthenticated):
        index.listing_stamp("acme", None)


def test_only_local_pages_of_tenants_that_do_not_mirror_are_stamped(acme: Acme) -> None:
    index = acme.app.index
    assert index.project_stamp("acme", acme.reader, "demo").version is None, "no such project"
    acme.upload("demo", "1.0")
    first = index.project_stamp("acme", acme.reader, "Demo")
    assert first == PageStamp(tenant_id=acme.tenant.id, version=str(acme.serial("demo")))
    acme.upload("demo", "2.0")
    assert index.project_stamp("acme", acme.reader, "DEMO") != first
    acme.app.tenants.set_mirroring("acme", True, actor="boss@acme.test")
    assert index.project_stamp("acme", acme.reader, "demo").version is None
    scoped = acme.app.tokens.issue(tenant_slug="acme", name="s", scopes=["read"], project="other", actor="t").secret
    with pytest.raises(Forbidden, match="limited to project 'other'"):
        index.project_stamp("acme", scoped, "demo")


def test_awaited_stamps_equal_the_blocking_ones_and_refuse_alike(acme: Acme) -> None:
    index = acme.app.index
    acme.upload("demo", "1.0")
    scoped = acme.app.tokens.issue(tenant_slug="acme", name="s", scopes=["read"], project="other", actor="t").secret

    async def awaited() -> tuple[PageStamp, PageStamp]:
        with pytest.raises(Unauthenticated):
            await index.awaited_listing_stamp("acme", None)
        with pytest.raises(Forbidden, match="limited to project 'other'"):
            await index.awaited_project_stamp("acme", scoped, "demo")
        with pytest.raises(Forbidden, match="another tenant"):
            await index.awaited_project_stamp("elsewhere", acme.reader, "demo")
        return await index.awaited_listing_stamp("acme", acme.reader), await index.awaited_project_stamp(
            "acme", acme.reader, "Demo"
        )

    listing, page = asyncio.run(awaited())
    assert listing == index.listing_stamp("acme", acme.reader)
    assert page == index.project_stamp("acme", acme.reader, "demo")
    assert page.version == str(acme.serial("demo"))


def test_awaited_stamps_record_a_tokens_use_once_a_minute(acme: Acme) -> None:
    index, tokens = acme.app.index, acme.app.store.tokens
    key_id = acme.app.access.key_id(acme.reader)
    reader = tokens.get_token_by_key_id(key_id)
    assert reader is not None and reader.last_used_at is None
    asyncio.run(index.awaited_project_stamp("acme", acme.reader, "demo"))
    used = tokens.get_token_by_key_id(key_id)
    assert used is not None and used.last_used_at is not None
    asyncio.run(index.awaited_project_stamp("acme", acme.reader, "demo"))
    again = tokens.get_token_by_key_id(key_id)
    assert again is not None and again.last_used_at == used.last_used_at, "not again within the minute"


def test_an_awaited_download_of_a_local_file_equals_the_blocking_one(acme: Acme) -> None:
    index = acme.app.index
    acme.upload("demo", "1.0")
    filename = "demo-1.0-py3-none-any.whl"

    async def awaited() -> tuple[FileDownload | None, FileDownload | None, bytes | None]:
        return (
            await index.awaited_download("acme", acme.reader, "Demo", filename, version="1.0"),
            await index.awaited_download("acme", acme.reader, "demo", filename, version="1.0", read_small=False),
            await index.awaited_core_metadata("acme", acme.reader, "demo", filename, version="1.0"),
        )

    small, unread, metadata = asyncio.run(awaited())
    blocking = index.download("acme", acme.reader, "demo", filename, version="1.0")
    assert small == blocking and small is not None and small.content is not None
    assert unread is not None and unread.content is None and unread.local_path == blocking.local_path
    assert metadata == index.core_metadata("acme", acme.reader, "demo", filename, version="1.0")


def test_awaited_downloads_refuse_like_the_blocking_ones_and_still_record_the_tokens_use(acme: Acme) -> None:
    index, tokens = acme.app.index, acme.app.store.tokens
    acme.upload("demo", "1.0")
    key_id = acme.app.access.key_id(acme.reader)

    async def refused() -> None:
        with pytest.raises(NotFound, match="does not exist"):
            await index.awaited_download("acme", acme.reader, "demo", "other-1.0-py3-none-any.whl", version="1.0")
        with pytest.raises(NotFound, match=r"belongs to version 1\.0"):
            await index.awaited_core_metadata("acme", acme.reader, "demo", "demo-1.0-py3-none-any.whl", version="2")
        with pytest.raises(Unauthenticated):
            await index.awaited_download("acme", None, "demo", "demo-1.0-py3-none-any.whl", version="1.0")

    asyncio.run(refused())
    found = tokens.get_token_by_key_id(key_id)
    assert found is not None and found.last_used_at is not None


def test_store_versions_are_computed_from_any_store(acme: Acme) -> None:
    store = acme.app.store
    versions = StoreIndexVersions(store.tenants, store.tokens, store.catalogue)
    empty = versions.listing_version(acme.tenant.id)
    assert versions.project_serial(acme.tenant.id, "demo") is None
    acme.upload("demo", "1.0")
    assert versions.project_serial(acme.tenant.id, "demo") == (acme.serial("demo"), "local")
    listed = versions.listing_version(acme.tenant.id)
    assert listed != empty
    acme.upload("demo", "2.0")
    assert versions.listing_version(acme.tenant.id) == listed
    assert versions.listing_version("another-tenant") == empty


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[Mirror]:
    world = Mirror(tmp_path)
    yield world
    world.service.close()


def test_mirrored_pages_are_unstamped_and_vanish_when_the_tenant_stops_mirroring(mirror: Mirror) -> None:
    index = mirror.index
    index.project_page("corp", mirror.reader, "tool")
    mirror.service.wait_idle(10)
    assert index.project_stamp("corp", mirror.reader, "tool").version is None
    assert [p.normalized_name for p in index.listing("corp", mirror.reader).projects] == ["tool"]
    assert index.download("corp", mirror.reader, "tool", WHEEL_20, version="2.0").local_path is not None
    awaited = asyncio.run(index.awaited_download("corp", mirror.reader, "tool", WHEEL_20, version="2.0"))
    assert awaited is None, "mirrored files are served by the blocking path (upstream, provenance, policies)"
    assert asyncio.run(index.awaited_core_metadata("corp", mirror.reader, "tool", WHEEL_20, version="2.0")) is None

    mirror.app.tenants.set_mirroring("corp", False, actor="boss@corp.test")
    assert index.listing("corp", mirror.reader).projects == []
    assert index.project_stamp("corp", mirror.reader, "tool").version is None, "recorded pages are not local ones"
    with pytest.raises(NotFound, match="does not exist in tenant 'corp'"):
        index.project_page("corp", mirror.reader, "tool")
    with pytest.raises(NotFound, match="does not exist in project 'tool'"):
        index.download("corp", mirror.reader, "tool", WHEEL_20, version="2.0")
    with pytest.raises(NotFound, match="does not exist in project 'tool'"):
        index.core_metadata("corp", mirror.reader, "tool", WHEEL_20, version="2.0")
    with pytest.raises(NotFound, match="does not exist in project 'tool'"):
        index.download("corp", mirror.reader, "Tool", "tool-9.9-py3-none-any.whl", version="9.9")


def test_without_a_mirror_service_a_mirroring_tenant_serves_only_what_is_recorded(mirror: Mirror) -> None:
    index = mirror.index
    index.project_page("corp", mirror.reader, "tool")
    mirror.service.wait_idle(10)
    offline = PackageIndex(mirror.app.store.catalogue, mirror.app.storage, mirror.app.access)
    with pytest.raises(NotFound, match="project 'tool' does not exist in tenant 'corp'"):
        offline.project_page("corp", mirror.reader, "tool")
    cached = offline.download("corp", mirror.reader, "tool", WHEEL_20, version="2.0")
    assert cached.local_path is not None
    assert b"".join(offline.chunks(cached.file)) == mirror.dists[WHEEL_20].read_bytes()
    fetched = index.core_metadata("corp", mirror.reader, "tool", WHEEL_20, version="2.0")
    assert offline.core_metadata("corp", mirror.reader, "tool", WHEEL_20, version="2.0") == fetched, (
        "served from the cache"
    )
