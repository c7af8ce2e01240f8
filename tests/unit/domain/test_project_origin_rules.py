"""Origin, takeover and offering rules on the domain objects: what a tenant lists, what a page offers, which file a
client may fetch, and which clash an upload takes over."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from pyregistry_domain.distributions import DistributionKind, ReleaseFile
from pyregistry_domain.offering import file_is_reachable, offered_files, offered_versions
from pyregistry_domain.project_status import ProjectStatus, ProjectStatusKind
from pyregistry_domain.projects import Project, ProjectOrigin

NOW = datetime(2026, 1, 1, tzinfo=UTC)
origins = st.sampled_from(list(ProjectOrigin))
statuses = st.sampled_from(list(ProjectStatusKind)).map(ProjectStatus)
versions = st.sampled_from(["1.0", "1.1", "2.0", "3.0rc1"])


def _project(origin: ProjectOrigin) -> Project:
    return Project("t1", "Demo", "demo", NOW, origin=origin)


def _file(version: str, origin: ProjectOrigin, *, yanked: bool = False, name: str = "demo") -> ReleaseFile:
    return ReleaseFile(
        tenant_id="t1",
        project_name=name,
        normalized_name=name,
        version=version,
        filename=f"{name}-{version}-py3-none-any.whl",
        kind=DistributionKind.WHEEL,
        sha256="0" * 64,
        size=10,
        blob_key=f"t1/{name}/u/{name}-{version}-py3-none-any.whl",
        uploaded_at=NOW,
        uploaded_by="token:ci",
        origin=origin,
        yanked=yanked,
    )


files = st.lists(st.builds(_file, versions, origins, yanked=st.booleans()), max_size=8)


def test_origin_predicates_name_the_two_origins() -> None:
    local, mirrored = _project(ProjectOrigin.LOCAL), _project(ProjectOrigin.MIRROR)
    assert (local.is_local, local.is_mirrored) == (True, False)
    assert (mirrored.is_local, mirrored.is_mirrored) == (False, True)
    assert _file("1.0", ProjectOrigin.MIRROR).is_mirrored and not _file("1.0", ProjectOrigin.MIRROR).is_local
    assert _file("1.0", ProjectOrigin.LOCAL).is_local


@given(origins, origins)
def test_only_a_local_upload_takes_over_and_only_a_mirrored_project(
    project: ProjectOrigin, incoming: ProjectOrigin
) -> None:
    taken = _project(project).is_taken_over_by(incoming)
    assert taken == (project is ProjectOrigin.MIRROR and incoming is ProjectOrigin.LOCAL)


@given(origins, st.booleans())
def test_a_mirrored_project_is_listed_only_while_the_tenant_mirrors(origin: ProjectOrigin, mirroring: bool) -> None:
    assert _project(origin).is_visible_when(mirroring_enabled=mirroring) == (origin is ProjectOrigin.LOCAL or mirroring)


@given(origins, files, statuses, st.frozensets(versions))
def test_offered_files_follow_origin_status_and_blocks(
    origin: ProjectOrigin, given_files: list[ReleaseFile], status: ProjectStatus, blocked: frozenset[str]
) -> None:
    offered = offered_files(_project(origin), given_files, status, blocked)
    if status.kind is ProjectStatusKind.QUARANTINED:
        assert offered == []
        return
    expected = [
        file
        for file in given_files
        if file.version not in blocked and (origin is ProjectOrigin.MIRROR or file.origin is ProjectOrigin.LOCAL)
    ]
    assert offered == expected
    assert all(not file.is_mirrored for file in offered) or origin is ProjectOrigin.MIRROR


def test_yanked_files_stay_offered_and_a_local_project_hides_mirrored_leftovers() -> None:
    yanked, leftover = _file("1.0", ProjectOrigin.LOCAL, yanked=True), _file("1.1", ProjectOrigin.MIRROR)
    assert offered_files(_project(ProjectOrigin.LOCAL), [yanked, leftover], ProjectStatus()) == [yanked]
    archived = ProjectStatus(ProjectStatusKind.ARCHIVED)
    assert offered_files(_project(ProjectOrigin.MIRROR), [yanked, leftover], archived) == [yanked, leftover]


@given(st.lists(versions, unique=True), statuses, st.frozensets(versions))
def test_offered_versions_keep_order_drop_blocked_and_vanish_under_quarantine(
    listed: list[str], status: ProjectStatus, blocked: frozenset[str]
) -> None:
    offered = offered_versions(listed, status, blocked)
    if status.kind is ProjectStatusKind.QUARANTINED:
        assert offered == []
    else:
        assert offered == [version for version in listed if version not in blocked]


@given(origins, st.one_of(st.none(), origins), st.booleans())
def test_a_mirrored_file_is_reachable_only_through_a_mirrored_project_of_a_mirroring_tenant(
    file_origin: ProjectOrigin, project_origin: ProjectOrigin | None, mirroring: bool
) -> None:
    project = None if project_origin is None else _project(project_origin)
    reachable = file_is_reachable(_file("1.0", file_origin), project, mirroring_enabled=mirroring)
    if file_origin is ProjectOrigin.LOCAL:
        assert reachable
    else:
        assert reachable == (mirroring and project_origin is ProjectOrigin.MIRROR)


def test_an_upload_takes_over_only_a_mirrored_file_of_its_own_project() -> None:
    assert _file("1.0", ProjectOrigin.MIRROR).gives_way_to_upload_of("demo")
    assert not _file("1.0", ProjectOrigin.MIRROR).gives_way_to_upload_of("other")
    assert not _file("1.0", ProjectOrigin.LOCAL).gives_way_to_upload_of("demo")
