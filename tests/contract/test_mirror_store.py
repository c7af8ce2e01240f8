"""MirrorStore behaviour, run against every adapter: local projects are never overwritten, cache flags persist."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from pyregistry_application.metadata_backend import MetadataBackend
from pyregistry_application.mirror_ports import MirrorStore
from pyregistry_domain.distributions import DistributionKind, ReleaseFile
from pyregistry_domain.projects import Project, Release
from pyregistry_domain.tenants import Tenant
from tests.contract.conftest import STORE_PARAMS

pytestmark = pytest.mark.parametrize("store_location", STORE_PARAMS, indirect=True)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def stores(store: MetadataBackend) -> Iterator[tuple[MetadataBackend, MirrorStore]]:
    """The backend and its mirror port."""
    mirror = store.mirror
    store.tenants.add_tenant(Tenant(id="t1", slug="corp", display_name="Corp", mirroring_enabled=True, created_at=NOW))
    yield store, mirror


def _project(origin: str = "mirror") -> Project:
    return Project("t1", "Demo", "demo", NOW, origin=origin, mirrored_at=NOW if origin == "mirror" else None)


def _file(version: str, origin: str = "mirror", **changes: object) -> ReleaseFile:
    file = ReleaseFile(
        tenant_id="t1",
        project_name="Demo",
        normalized_name="demo",
        version=version,
        filename=f"demo-{version}.tar.gz",
        kind=DistributionKind.SDIST,
        sha256="a" * 64,
        size=0,
        blob_key=f"t1/demo/mirror/demo-{version}.tar.gz",
        uploaded_at=NOW,
        uploaded_by="mirror",
        origin=origin,
        upstream_url=f"https://up.example/demo-{version}.tar.gz",
        cached=origin != "mirror",
    )
    return replace(file, **changes)  # type: ignore[arg-type]


def test_record_then_refresh_keeps_cache_state_and_updates_yank(stores: tuple[MetadataBackend, MirrorStore]) -> None:
    store, mirror = stores
    mirror.record_mirrored_project(_project(), [Release("t1", "demo", "1.0", NOW)], [_file("1.0")])
    mirror.mark_cached("t1", "demo-1.0.tar.gz", 123)
    later = replace(_project(), mirrored_at=NOW.replace(year=2027))
    releases = [Release("t1", "demo", "1.0", NOW, yanked=True, yanked_reason="bad"), Release("t1", "demo", "2.0", NOW)]
    mirror.record_mirrored_project(later, releases, [_file("1.0"), _file("2.0")])
    files = {file.filename: file for file in store.catalogue.list_files("t1", "demo")}
    assert set(files) == {"demo-1.0.tar.gz", "demo-2.0.tar.gz"}
    assert (files["demo-1.0.tar.gz"].cached, files["demo-1.0.tar.gz"].size) == (True, 123)
    assert (files["demo-1.0.tar.gz"].yanked, files["demo-1.0.tar.gz"].yanked_reason) == (True, "bad")
    assert files["demo-2.0.tar.gz"].cached is False
    project = store.catalogue.get_project("t1", "demo")
    assert project is not None
    assert project.origin == "mirror"
    assert project.mirrored_at == later.mirrored_at


def test_local_project_is_never_overwritten(stores: tuple[MetadataBackend, MirrorStore]) -> None:
    store, mirror = stores
    store.catalogue.add_release_file(_project("local"), Release("t1", "demo", "0.1", NOW), _file("0.1", origin="local"))
    mirror.record_mirrored_project(_project(), [Release("t1", "demo", "9.0", NOW)], [_file("9.0")])
    assert [file.filename for file in store.catalogue.list_files("t1", "demo")] == ["demo-0.1.tar.gz"]
    project = store.catalogue.get_project("t1", "demo")
    assert project is not None
    assert project.origin == "local"


def test_local_upload_takes_over_a_mirrored_project(stores: tuple[MetadataBackend, MirrorStore]) -> None:
    store, mirror = stores
    releases = [Release("t1", "demo", "1.0", NOW, yanked=True, yanked_reason="bad"), Release("t1", "demo", "2.0", NOW)]
    mirror.record_mirrored_project(_project(), releases, [_file("1.0"), _file("2.0")])
    mirror.mark_cached("t1", "demo-1.0.tar.gz", 123)
    local = _file("1.0", origin="local", blob_key="t1/demo/upload-1/demo-1.0.tar.gz", size=77, sha256="b" * 64)
    later = NOW.replace(year=2027)
    removed = store.catalogue.add_release_file(
        replace(_project("local"), created_at=later), Release("t1", "demo", "1.0", later), local
    )
    assert sorted((file.filename, file.origin, file.cached) for file in removed) == [
        ("demo-1.0.tar.gz", "mirror", True),
        ("demo-2.0.tar.gz", "mirror", False),
    ]
    assert [(file.blob_key, file.size, file.yanked) for file in store.catalogue.list_files("t1", "demo")] == [
        (local.blob_key, 77, False)
    ]
    assert [(r.version, r.yanked) for r in store.catalogue.list_releases("t1", "demo")] == [("1.0", False)]
    project = store.catalogue.get_project("t1", "demo")
    assert project is not None
    assert (project.origin, project.mirrored_at, project.created_at) == ("local", None, later)
    mirror.mark_cached("t1", "demo-1.0.tar.gz", 999)
    mirror.record_mirrored_project(_project(), releases, [_file("1.0"), _file("2.0")])
    assert [(file.origin, file.size) for file in store.catalogue.list_files("t1", "demo")] == [("local", 77)]
    assert [r.version for r in store.catalogue.list_releases("t1", "demo")] == ["1.0"]
