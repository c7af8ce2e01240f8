"""The Catalogue contract (projects, releases, files, yanks, deletes, search, counts), held by every backend."""

from __future__ import annotations

import threading

import pytest

from pyregistry_application.metadata_backend import MetadataBackend
from pyregistry_domain.errors import AlreadyExists
from tests.contract.conftest import STORE_PARAMS
from tests.contract.metadata_builders import project, publish, release, run_concurrently, tenant, wheel

pytestmark = pytest.mark.parametrize("store_location", STORE_PARAMS, indirect=True)


def test_release_files_create_project_and_release_once(store: MetadataBackend) -> None:
    store.tenants.add_tenant(tenant("acme"))
    first = publish(store, "t-acme", "Tools", "1.0")
    serial_after_first = store.catalogue.get_project("t-acme", "tools").serial  # type: ignore[union-attr]
    second = publish(store, "t-acme", "Tools", "1.0", tag="py2.py3-none-any")
    publish(store, "t-acme", "Tools", "2.0")
    stored = store.catalogue.get_project("t-acme", "tools")
    assert stored is not None and stored.name == "Tools" and stored.summary == "a package"
    assert stored.serial > serial_after_first
    assert sorted(r.version for r in store.catalogue.list_releases("t-acme", "tools")) == ["1.0", "2.0"]
    assert sorted(store.catalogue.release_versions("t-acme", "tools")) == ["1.0", "2.0"]
    assert {f.filename for f in store.catalogue.list_files("t-acme", "tools")} == {
        first.filename,
        second.filename,
        "tools-2.0-py3-none-any.whl",
    }
    assert store.catalogue.get_file("t-acme", first.filename) == first
    assert store.catalogue.get_file("t-acme", "missing.whl") is None
    store.catalogue.add_release_file(
        project("t-acme", "Tools", summary=None), release("t-acme", "Tools", "3.0"), wheel("t-acme", "Tools", "3.0")
    )
    assert store.catalogue.get_project("t-acme", "tools").summary == "a package"  # type: ignore[union-attr]


def test_duplicate_filename_is_refused_and_leaves_no_trace(store: MetadataBackend) -> None:
    store.tenants.add_tenant(tenant("acme"))
    store.tenants.add_tenant(tenant("globex"))
    publish(store, "t-acme", "tools", "1.0")
    with pytest.raises(AlreadyExists):
        publish(store, "t-acme", "tools", "1.0", size=999)
    assert [f.size for f in store.catalogue.list_files("t-acme", "tools")] == [100]
    publish(store, "t-globex", "tools", "1.0")
    assert store.catalogue.stats().files == 2


def test_concurrent_uploads_of_one_filename_store_exactly_one(store: MetadataBackend) -> None:
    store.tenants.add_tenant(tenant("acme"))
    outcomes: list[str] = []
    barrier = threading.Barrier(6)

    def upload(size: int) -> None:
        barrier.wait()
        try:
            publish(store, "t-acme", "racer", "1.0", size=size)
            outcomes.append("stored")
        except AlreadyExists:
            outcomes.append("refused")

    run_concurrently(upload, range(1, 7))
    assert sorted(outcomes) == ["refused"] * 5 + ["stored"]
    files = store.catalogue.list_files("t-acme", "racer")
    assert len(files) == 1 and store.catalogue.get_file("t-acme", files[0].filename) == files[0]


def test_yank_is_visible_on_files_and_bumps_serial(store: MetadataBackend) -> None:
    store.tenants.add_tenant(tenant("acme"))
    file = publish(store, "t-acme", "tools", "1.0")
    before = store.catalogue.get_project("t-acme", "tools").serial  # type: ignore[union-attr]
    assert store.catalogue.set_release_yanked("t-acme", "tools", "1.0", True, "broken") is True
    assert store.catalogue.set_release_yanked("t-acme", "tools", "9.9", True, "x") is False
    yanked = store.catalogue.get_file("t-acme", file.filename)
    assert yanked is not None and yanked.yanked and yanked.yanked_reason == "broken"
    assert store.catalogue.get_project("t-acme", "tools").serial > before  # type: ignore[union-attr]
    store.catalogue.set_release_yanked("t-acme", "tools", "1.0", False, "ignored")
    restored = store.catalogue.list_files("t-acme", "tools")[0]
    assert not restored.yanked and restored.yanked_reason is None


def test_deletes_return_what_they_removed(store: MetadataBackend) -> None:
    store.tenants.add_tenant(tenant("acme"))
    a = publish(store, "t-acme", "tools", "1.0")
    publish(store, "t-acme", "tools", "1.0", tag="py2-none-any")
    publish(store, "t-acme", "tools", "2.0")
    publish(store, "t-acme", "other", "1.0")
    assert store.catalogue.delete_file("t-acme", a.filename) == a
    assert store.catalogue.delete_file("t-acme", a.filename) is None
    assert [f.version for f in store.catalogue.delete_release("t-acme", "tools", "1.0")] == ["1.0"]
    assert [r.version for r in store.catalogue.list_releases("t-acme", "tools")] == ["2.0"]
    assert store.catalogue.release_versions("t-acme", "tools") == ["2.0"]
    assert [f.version for f in store.catalogue.delete_project("t-acme", "tools")] == ["2.0"]
    assert store.catalogue.get_project("t-acme", "tools") is None
    assert store.catalogue.list_releases("t-acme", "tools") == []
    assert store.catalogue.release_versions("t-acme", "tools") == []
    assert [p.normalized_name for p in store.catalogue.list_projects("t-acme")] == ["other"]


def test_search_is_ranked_paged_and_tenant_scoped(store: MetadataBackend) -> None:
    store.tenants.add_tenant(tenant("acme"))
    store.tenants.add_tenant(tenant("globex"))
    for name in ["widget", "widget-extras", "super-widget", "unrelated"]:
        publish(store, "t-acme", name, "1.0")
    publish(store, "t-globex", "widget-secret", "1.0")
    page = store.catalogue.search_projects(["t-acme"], "Widget", limit=2, offset=0)
    assert page.total == 3
    assert [p.normalized_name for p in page.items] == ["widget", "widget-extras"]
    rest = store.catalogue.search_projects(["t-acme"], "widget", limit=2, offset=2)
    assert [p.normalized_name for p in rest.items] == ["super-widget"]
    both = store.catalogue.search_projects(["t-acme", "t-globex"], "secret", limit=10, offset=0)
    assert [p.normalized_name for p in both.items] == ["widget-secret"]
    assert store.catalogue.search_projects([], "widget", limit=10, offset=0).total == 0


def test_stats_count_everything(store: MetadataBackend) -> None:
    store.tenants.add_tenant(tenant("acme"))
    publish(store, "t-acme", "tools", "1.0", size=10)
    publish(store, "t-acme", "tools", "2.0", size=32)
    stats = store.catalogue.stats()
    assert (stats.tenants, stats.projects, stats.releases, stats.files, stats.stored_bytes) == (1, 1, 2, 2, 42)


def test_concurrent_uploads_yanks_and_deletes_neither_deadlock_nor_lose_files(store: MetadataBackend) -> None:
    store.tenants.add_tenant(tenant("acme"))
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def worker(number: int) -> None:
        barrier.wait()
        try:
            for round_ in range(12):
                version = f"{number}.{round_}"
                publish(store, "t-acme", "busy", version)
                store.catalogue.set_release_yanked("t-acme", "busy", version, True, "bad")
                if round_ % 3 == 0:
                    removed = store.catalogue.delete_release("t-acme", "busy", version)
                    assert [f.version for f in removed] == [version]
        except BaseException as exc:
            errors.append(exc)

    run_concurrently(worker, range(4))
    assert errors == []
    files = store.catalogue.list_files("t-acme", "busy")
    assert len(files) == 4 * 8 and all(file.yanked for file in files)
    assert len(store.catalogue.list_releases("t-acme", "busy")) == 32
