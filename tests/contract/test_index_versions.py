"""Index version stamps change with every change to the data behind them, on every adapter, and a change made
through one process is seen by another process sharing the database (so its page cache re-renders)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from pyregistry_application.index_versions import DownloadInputs, IndexVersions, StampInputs, StoreIndexVersions
from pyregistry_application.metadata_backend import MetadataBackend
from pyregistry_domain.distributions import DistributionKind, ReleaseFile
from pyregistry_domain.project_status import ProjectStatus, ProjectStatusKind
from pyregistry_domain.projects import Project, Release
from pyregistry_domain.tenants import Tenant
from pyregistry_domain.tokens import ApiToken, TokenScope
from pyregistry_infrastructure.metadata_stores.sql_index_versions import SqlIndexVersions
from pyregistry_web.page_cache import RenderedPageCache
from tests.contract.conftest import STORE_PARAMS, open_database, open_store

pytestmark = pytest.mark.parametrize("store_location", STORE_PARAMS, indirect=True)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def versions_for(store: MetadataBackend) -> IndexVersions:
    """The backend's port: the SQL query on SQL backends, derived from the catalogue on the memory one."""
    expected = StoreIndexVersions if store.name == "memory" else SqlIndexVersions
    assert isinstance(store.index_versions, expected)
    return store.index_versions


def _publish(store: MetadataBackend, name: str, version: str, *, display_name: str | None = None) -> None:
    project = Project(tenant_id="t1", name=display_name or name, normalized_name=name, created_at=NOW)
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
    store.catalogue.add_release_file(project, release, file)


@pytest.fixture
def backend(store: MetadataBackend) -> tuple[MetadataBackend, IndexVersions]:
    store.tenants.add_tenant(Tenant(id="t1", slug="one", display_name="One", mirroring_enabled=False, created_at=NOW))
    store.tenants.add_tenant(Tenant(id="t2", slug="two", display_name="Two", mirroring_enabled=False, created_at=NOW))
    return store, versions_for(store)


@pytest.fixture
def second_process(
    store_location: tuple[str, str], backend: tuple[MetadataBackend, IndexVersions]
) -> Iterator[tuple[MetadataBackend, IndexVersions]]:
    """Another store with its version query on the same database (memory: the same store)."""
    kind, where = store_location
    if kind == "memory":
        yield backend
        return
    other = open_store(kind, where, max_connections=2)
    try:
        yield other, versions_for(other)
    finally:
        other.close()


def test_every_change_of_the_project_names_gives_the_root_index_a_new_version(
    backend: tuple[MetadataBackend, IndexVersions],
) -> None:
    store, versions = backend
    other_tenant = versions.listing_version("t2")
    seen = [versions.listing_version("t1")]
    _publish(store, "alpha", "1.0")
    seen.append(versions.listing_version("t1"))
    _publish(store, "beta", "1.0")
    seen.append(versions.listing_version("t1"))
    _publish(store, "alpha", "2.0", display_name="Alpha")
    seen.append(versions.listing_version("t1"))
    store.catalogue.delete_project("t1", "beta")
    seen.append(versions.listing_version("t1"))
    assert len(set(seen)) == len(seen), seen
    assert versions.listing_version("t2") == other_tenant


def test_changes_inside_a_project_leave_the_root_index_version_alone(
    backend: tuple[MetadataBackend, IndexVersions],
) -> None:
    """A large root index stays cached through uploads of more versions, yanks, deletions of files and status
    changes: none of them changes what it shows."""
    store, versions = backend
    _publish(store, "alpha", "1.0")
    before = versions.listing_version("t1")
    _publish(store, "alpha", "2.0")
    store.catalogue.set_release_yanked("t1", "alpha", "1.0", True, "broken")
    store.catalogue.delete_file("t1", "alpha-2.0-py3-none-any.whl")
    store.catalogue.delete_release("t1", "alpha", "2.0")
    store.catalogue.set_project_status("t1", "alpha", ProjectStatus(ProjectStatusKind.ARCHIVED, "done"), NOW)
    assert versions.listing_version("t1") == before
    assert versions.stamp_inputs("nobody", "one", None).listing_version == "0"


def test_mirror_refreshes_of_new_projects_and_takeovers_give_the_root_index_a_new_version(
    backend: tuple[MetadataBackend, IndexVersions],
) -> None:
    store, versions = backend
    mirror = store.mirror
    project = Project("t1", "Demo", "demo", NOW, origin="mirror", mirrored_at=NOW)
    seen = [versions.listing_version("t1")]
    mirror.record_mirrored_project(project, [Release("t1", "demo", "1.0", NOW)], [])
    seen.append(versions.listing_version("t1"))
    mirror.record_mirrored_project(project, [Release("t1", "demo", "2.0", NOW)], [])
    assert versions.listing_version("t1") == seen[-1]
    renamed = Project("t1", "DEMO", "demo", NOW, origin="mirror", mirrored_at=NOW)
    mirror.record_mirrored_project(renamed, [Release("t1", "demo", "2.0", NOW)], [])
    seen.append(versions.listing_version("t1"))
    _publish(store, "demo", "3.0")
    seen.append(versions.listing_version("t1"))
    assert len(set(seen)) == len(seen), seen


def test_uploads_yanks_and_deletions_bump_the_project_serial(backend: tuple[MetadataBackend, IndexVersions]) -> None:
    store, versions = backend
    assert versions.project_serial("t1", "alpha") is None
    _publish(store, "alpha", "1.0")
    first = versions.project_serial("t1", "alpha")
    _publish(store, "alpha", "1.1")
    second = versions.project_serial("t1", "alpha")
    store.catalogue.set_release_yanked("t1", "alpha", "1.0", True, "broken")
    third = versions.project_serial("t1", "alpha")
    store.catalogue.delete_file("t1", "alpha-1.1-py3-none-any.whl")
    fourth = versions.project_serial("t1", "alpha")
    serials = [found[0] for found in (first, second, third, fourth) if found is not None]
    assert len(serials) == 4
    assert serials == sorted(set(serials))
    assert first is not None and first[1] == "local"
    assert versions.project_serial("t2", "alpha") is None


def test_a_change_through_one_process_invalidates_the_other_process_page_cache(
    backend: tuple[MetadataBackend, IndexVersions], second_process: tuple[MetadataBackend, IndexVersions]
) -> None:
    writer, _ = backend
    _, reader_versions = second_process
    cache = RenderedPageCache(max_bytes=1 << 16)
    renders: list[str] = []

    def cached(name: str, version: str | None) -> bytes:
        def render() -> bytes:
            renders.append(name)
            return f"{name}@{version}".encode()

        return cache.get_or_render(("t1", name, "JSON"), version, render)

    def page(name: str) -> bytes:
        stamp = reader_versions.project_serial("t1", name)
        return cached(name, None if stamp is None else str(stamp[0]))

    def listing() -> bytes:
        return cached("/", reader_versions.listing_version("t1"))

    _publish(writer, "alpha", "1.0")
    first_page, first_listing = page("alpha"), listing()
    assert (page("alpha"), listing()) == (first_page, first_listing)
    assert renders == ["alpha", "/"]
    _publish(writer, "alpha", "1.1")
    assert page("alpha") != first_page
    _publish(writer, "beta", "1.0")
    assert listing() != first_listing
    assert renders == ["alpha", "/", "alpha", "/"]


def test_the_listing_version_is_one_keyed_row_written_with_the_change(
    store_location: tuple[str, str], backend: tuple[MetadataBackend, IndexVersions]
) -> None:
    """SQL stores keep the root-index version in ``tenant_listings`` (one row per tenant, read by key, so the check
    costs the same at any project count), and an upgraded database starts from its projects' highest serial."""
    store, versions = backend
    if store_location[0] == "memory":
        pytest.skip("the memory store derives the version from its projects")
    database = open_database(*store_location, max_connections=2)
    for name in ("alpha", "beta", "gamma"):
        _publish(store, name, "1.0")
    top = database.row("SELECT MAX(serial) AS top FROM projects WHERE tenant_id = ?", ("t1",))
    rows = database.rows("SELECT tenant_id, serial FROM tenant_listings")
    assert top is not None
    assert [(row["tenant_id"], int(row["serial"])) for row in rows] == [("t1", int(top["top"]))]
    assert versions.listing_version("t1") == str(top["top"])

    with database.write() as conn:
        conn.execute("DELETE FROM tenant_listings")
        for migration in ("1300_tenant_listings", "1900_listing_names"):
            conn.execute("DELETE FROM schema_migrations WHERE id = ?", (migration,))
        conn.execute("DROP TABLE tenant_listings")
    database.migrate()
    assert versions.listing_version("t1") == str(top["top"])
    assert versions.listing_version("t2") == "0"


def _token(key_id: str, tenant_id: str) -> ApiToken:
    return ApiToken(
        id=f"id-{key_id}",
        key_id=key_id,
        secret_hash="0" * 64,
        tenant_id=tenant_id,
        name=key_id,
        scopes=frozenset({TokenScope.READ}),
        created_at=NOW,
        created_by="test",
    )


def test_stamp_inputs_read_the_token_its_tenant_and_both_versions_together(
    backend: tuple[MetadataBackend, IndexVersions],
) -> None:
    store, versions = backend
    store.tokens.add_token(_token("reader1", "t1"))
    _publish(store, "alpha", "1.0")
    found = versions.stamp_inputs("reader1", "one", "alpha")
    assert found.token is not None and found.token.id == "id-reader1"
    assert found.tenant is not None and (found.tenant.id, found.tenant.slug) == ("t1", "one")
    assert found.project == versions.project_serial("t1", "alpha")
    listing = versions.stamp_inputs("reader1", "one", None)
    assert listing.listing_version == versions.listing_version("t1")
    assert listing.project is None
    assert versions.stamp_inputs("reader1", "one", "missing").project is None


def test_stamp_inputs_give_no_tenant_for_another_tenant_and_nothing_for_an_unknown_token(
    backend: tuple[MetadataBackend, IndexVersions],
) -> None:
    store, versions = backend
    store.tokens.add_token(_token("reader1", "t1"))
    _publish(store, "alpha", "1.0")
    elsewhere = versions.stamp_inputs("reader1", "two", "alpha")
    assert elsewhere.token is not None and elsewhere.tenant is None and elsewhere.project is None
    assert versions.stamp_inputs("reader1", "nowhere", None).tenant is None
    unknown = versions.stamp_inputs("nobody", "one", "alpha")
    assert (unknown.token, unknown.tenant, unknown.project) == (None, None, None)


def test_a_revocation_or_upload_through_one_process_shows_in_the_other_process_stamp_at_once(
    backend: tuple[MetadataBackend, IndexVersions], second_process: tuple[MetadataBackend, IndexVersions]
) -> None:
    writer, _ = backend
    _, reader_versions = second_process
    writer.tokens.add_token(_token("reader1", "t1"))
    _publish(writer, "alpha", "1.0")
    before = reader_versions.stamp_inputs("reader1", "one", "alpha")
    assert before.token is not None and before.token.revoked_at is None
    _publish(writer, "alpha", "1.1")
    assert writer.tokens.revoke_token("t1", "id-reader1", NOW)
    after = reader_versions.stamp_inputs("reader1", "one", "alpha")
    assert after.token is not None and after.token.revoked_at == NOW
    assert before.project is not None and after.project is not None and after.project[0] > before.project[0]


def test_changes_since_name_the_changed_pages_written_by_another_process(
    backend: tuple[MetadataBackend, IndexVersions], second_process: tuple[MetadataBackend, IndexVersions]
) -> None:
    writer, _ = backend
    _, reader_versions = second_process
    _publish(writer, "alpha", "1.0")
    _publish(writer, "beta", "1.0")
    start = reader_versions.changes_since(None)
    assert (start.listings, start.projects) == ([], [])
    assert reader_versions.changes_since(start.serial).projects == []
    writer.catalogue.set_release_yanked("t1", "alpha", "1.0", True, "broken")
    yanked = reader_versions.changes_since(start.serial)
    assert (yanked.listings, yanked.projects) == (["t1"], [("t1", "alpha")])
    assert yanked.serial > start.serial
    writer.catalogue.set_project_status("t1", "beta", ProjectStatus(ProjectStatusKind.ARCHIVED, "done"), NOW)
    writer.catalogue.delete_file("t1", "alpha-1.0-py3-none-any.whl")
    later = reader_versions.changes_since(yanked.serial)
    assert (later.listings, sorted(later.projects)) == (["t1"], [("t1", "alpha"), ("t1", "beta")])
    assert reader_versions.changes_since(later.serial).projects == []


def _awaited(store: MetadataBackend, *calls: tuple[str, str, str | None]) -> list[StampInputs]:
    """The backend's awaited stamp reads for ``calls``, in one event loop, its connections closed after."""

    async def read() -> list[StampInputs]:
        try:
            return [await store.awaited_stamps.stamp_inputs(*call) for call in calls]
        finally:
            await store.awaited_stamps.aclose()

    return asyncio.run(read())


def test_awaited_stamp_reads_answer_what_the_versions_port_answers(
    backend: tuple[MetadataBackend, IndexVersions],
) -> None:
    store, versions = backend
    store.tokens.add_token(_token("reader1", "t1"))
    _publish(store, "alpha", "1.0")
    calls: list[tuple[str, str, str | None]] = [
        ("reader1", "one", "alpha"),
        ("reader1", "one", None),
        ("reader1", "one", "missing"),
        ("reader1", "two", "alpha"),
        ("nobody", "one", "alpha"),
    ]
    assert _awaited(store, *calls) == [versions.stamp_inputs(*call) for call in calls]
    found = _awaited(store, ("reader1", "one", "alpha"))[0]
    assert found.token is not None and found.project is not None


def test_awaited_stamp_reads_see_a_revocation_and_an_upload_by_another_process_at_once(
    backend: tuple[MetadataBackend, IndexVersions], second_process: tuple[MetadataBackend, IndexVersions]
) -> None:
    writer, _ = backend
    reader, _ = second_process
    writer.tokens.add_token(_token("reader1", "t1"))
    _publish(writer, "alpha", "1.0")

    async def before_and_after() -> tuple[StampInputs, StampInputs]:
        try:
            before = await reader.awaited_stamps.stamp_inputs("reader1", "one", "alpha")
            _publish(writer, "alpha", "1.1")
            assert writer.tokens.revoke_token("t1", "id-reader1", NOW)
            return before, await reader.awaited_stamps.stamp_inputs("reader1", "one", "alpha")
        finally:
            await reader.awaited_stamps.aclose()

    before, after = asyncio.run(before_and_after())
    assert before.token is not None and before.token.revoked_at is None
    assert after.token is not None and after.token.revoked_at == NOW
    assert before.project is not None and after.project is not None and after.project[0] > before.project[0]


def test_awaited_token_touches_record_the_use(backend: tuple[MetadataBackend, IndexVersions]) -> None:
    store, _ = backend
    store.tokens.add_token(_token("reader1", "t1"))
    later = datetime(2026, 3, 1, tzinfo=UTC)

    async def touch() -> None:
        try:
            await store.awaited_stamps.touch_token("id-reader1", later)
        finally:
            await store.awaited_stamps.aclose()

    asyncio.run(touch())
    found = store.tokens.get_token_by_key_id("reader1")
    assert found is not None and found.last_used_at == later


def test_awaited_stamp_reads_work_from_several_event_loops_one_after_another(
    backend: tuple[MetadataBackend, IndexVersions],
) -> None:
    store, versions = backend
    store.tokens.add_token(_token("reader1", "t1"))
    expected = versions.stamp_inputs("reader1", "one", None)
    assert [_awaited(store, ("reader1", "one", None))[0] for _ in range(3)] == [expected] * 3


ALPHA_WHEEL = "alpha-1.0-py3-none-any.whl"


@pytest.fixture
def alpha(backend: tuple[MetadataBackend, IndexVersions]) -> tuple[MetadataBackend, IndexVersions]:
    """``backend`` with a read token of tenant one and alpha 1.0 published there."""
    store, _ = backend
    store.tokens.add_token(_token("reader1", "t1"))
    _publish(store, "alpha", "1.0")
    return backend


def test_download_inputs_read_the_token_tenant_file_and_status_together(
    alpha: tuple[MetadataBackend, IndexVersions],
) -> None:
    store, versions = alpha
    filename = ALPHA_WHEEL
    found = versions.download_inputs("reader1", "one", "alpha", filename)
    assert found.token is not None and found.token.id == "id-reader1"
    assert found.tenant is not None and found.tenant.id == "t1"
    assert found.file == store.catalogue.get_file("t1", filename)
    assert found.status == ProjectStatus(ProjectStatusKind.ACTIVE)
    store.catalogue.set_release_yanked("t1", "alpha", "1.0", True, "broken")
    store.catalogue.set_project_status("t1", "alpha", ProjectStatus(ProjectStatusKind.ARCHIVED, "done"), NOW)
    changed = versions.download_inputs("reader1", "one", "alpha", filename)
    assert changed.file is not None and (changed.file.yanked, changed.file.yanked_reason) == (True, "broken")
    assert changed.status == ProjectStatus(ProjectStatusKind.ARCHIVED, "done")
    assert versions.download_inputs("reader1", "one", "alpha", "missing-1.0.tar.gz").file is None


def test_download_inputs_give_no_tenant_or_file_for_another_tenant_and_nothing_for_an_unknown_token(
    alpha: tuple[MetadataBackend, IndexVersions],
) -> None:
    _, versions = alpha
    filename = ALPHA_WHEEL
    elsewhere = versions.download_inputs("reader1", "two", "alpha", filename)
    assert elsewhere.token is not None and (elsewhere.tenant, elsewhere.file) == (None, None)
    unknown = versions.download_inputs("nobody", "one", "alpha", filename)
    assert (unknown.token, unknown.tenant, unknown.file) == (None, None, None)
    assert unknown.status == ProjectStatus(ProjectStatusKind.ACTIVE)


def test_awaited_download_inputs_see_another_process_writes_at_once(
    backend: tuple[MetadataBackend, IndexVersions], second_process: tuple[MetadataBackend, IndexVersions]
) -> None:
    writer, _ = backend
    reader, reader_versions = second_process
    writer.tokens.add_token(_token("reader1", "t1"))
    filename = "alpha-1.0-py3-none-any.whl"

    async def before_and_after() -> tuple[DownloadInputs, DownloadInputs]:
        try:
            before = await reader.awaited_stamps.download_inputs("reader1", "one", "alpha", filename)
            _publish(writer, "alpha", "1.0")
            writer.catalogue.set_project_status("t1", "alpha", ProjectStatus(ProjectStatusKind.QUARANTINED, "x"), NOW)
            assert writer.tokens.revoke_token("t1", "id-reader1", NOW)
            return before, await reader.awaited_stamps.download_inputs("reader1", "one", "alpha", filename)
        finally:
            await reader.awaited_stamps.aclose()

    before, after = asyncio.run(before_and_after())
    assert before.file is None and before.token is not None and before.token.revoked_at is None
    assert after.token is not None and after.token.revoked_at == NOW
    assert after.file is not None and after.file.filename == filename
    assert after.status == ProjectStatus(ProjectStatusKind.QUARANTINED, "x")
    assert after == reader_versions.download_inputs("reader1", "one", "alpha", filename)


def test_awaited_reads_asked_twice_see_writes_through_the_same_store_in_between(
    alpha: tuple[MetadataBackend, IndexVersions],
) -> None:
    store, _ = alpha

    async def around_writes() -> tuple[list[StampInputs], list[DownloadInputs]]:
        reads = store.awaited_stamps
        try:
            stamps = [await reads.stamp_inputs("reader1", "one", "alpha") for _ in range(2)]
            files = [await reads.download_inputs("reader1", "one", "alpha", ALPHA_WHEEL) for _ in range(2)]
            _publish(store, "alpha", "1.1")
            store.catalogue.set_release_yanked("t1", "alpha", "1.0", True, "broken")
            stamps.append(await reads.stamp_inputs("reader1", "one", "alpha"))
            files.append(await reads.download_inputs("reader1", "one", "alpha", ALPHA_WHEEL))
            assert store.tokens.revoke_token("t1", "id-reader1", NOW)
            stamps.append(await reads.stamp_inputs("reader1", "one", "alpha"))
            files.append(await reads.download_inputs("reader1", "one", "alpha", ALPHA_WHEEL))
            return stamps, files
        finally:
            await reads.aclose()

    stamps, files = asyncio.run(around_writes())
    assert stamps[0] == stamps[1] and files[0] == files[1]
    assert stamps[0].project is not None and stamps[2].project is not None
    assert stamps[2].project[0] > stamps[0].project[0]
    assert files[0].file is not None and not files[0].file.yanked
    assert files[2].file is not None and files[2].file.yanked and files[2].file.yanked_reason == "broken"
    assert stamps[3].token is not None and stamps[3].token.revoked_at == NOW
    assert files[3].token is not None and files[3].token.revoked_at == NOW
