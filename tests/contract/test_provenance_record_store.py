"""The provenance record store behaves the same on every adapter: memory, SQLite, PostgreSQL, SQL Server.

SQL adapters are opened twice on one database, as two server processes would be: what one records the other reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from pyregistry_application.provenance_ports import (
    ContinuityRelease,
    FileProvenance,
    ProvenanceRecordStore,
    ProvenanceStatus,
)
from tests.contract.conftest import STORE_PARAMS, add_mirroring_tenants, other_processes

pytestmark = pytest.mark.parametrize("store_location", STORE_PARAMS, indirect=True)

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
OpenRecords = Callable[[], ProvenanceRecordStore]


@pytest.fixture
def open_records(store_location: tuple[str, str]) -> Iterator[OpenRecords]:
    """Opens the record store of another "process" on the same database (memory: the one process there is)."""
    yield from other_processes(store_location, add_mirroring_tenants, lambda registry: registry.provenance_records)


def _record(
    tenant_id: str, project: str, version: str, status: ProvenanceStatus = ProvenanceStatus.VERIFIED, n: int = 1
) -> FileProvenance:
    verified = status is ProvenanceStatus.VERIFIED
    return FileProvenance(
        tenant_id=tenant_id,
        normalized_name=project,
        version=version,
        filename=f"{project.replace('-', '_')}-{version}.tar.gz",
        sha256=f"{n:064x}",
        status=status,
        identity="github:acme/tools/release.yml" if verified else None,
        publisher='{"kind": "GitHub", "repository": "acme/tools", "workflow": "release.yml"}' if verified else None,
        detail="verified" if verified else "the upstream offers no provenance",
        checked_at=NOW + timedelta(seconds=n),
    )


def test_records_are_read_back_per_tenant_and_project(open_records: OpenRecords) -> None:
    writer, reader = open_records(), open_records()
    first = _record("t1", "acme-tools", "1.0")
    absent = _record("t1", "acme-tools", "2.0", ProvenanceStatus.ABSENT, n=2)
    writer.put_provenance(first)
    writer.put_provenance(absent)
    writer.put_provenance(_record("t2", "acme-tools", "1.0", n=3))
    writer.put_provenance(_record("t1", "other", "1.0", n=4))
    assert reader.project_provenance("t1", "acme-tools") == {first.filename: first, absent.filename: absent}
    assert reader.project_provenance("t1", "missing") == {}
    assert [r.sha256 for r in reader.project_provenance("t2", "acme-tools").values()] == [f"{3:064x}"]


def test_a_record_is_replaced_when_the_file_is_checked_again(open_records: OpenRecords) -> None:
    writer, reader = open_records(), open_records()
    writer.put_provenance(_record("t1", "acme-tools", "1.0", ProvenanceStatus.ABSENT))
    refused = _record("t1", "acme-tools", "1.0", ProvenanceStatus.REFUSED, n=9)
    writer.put_provenance(refused)
    [stored] = reader.project_provenance("t1", "acme-tools").values()
    assert stored == refused and stored.status is ProvenanceStatus.REFUSED


def test_the_first_continuity_release_of_a_version_is_kept(open_records: OpenRecords) -> None:
    writer, reader = open_records(), open_records()
    first = ContinuityRelease("t1", "acme-tools", "3.0", "admin@example.test", "moved CI", NOW)
    writer.add_continuity_release(first)
    writer.add_continuity_release(ContinuityRelease("t1", "acme-tools", "3.0", "other@example.test", "again", NOW))
    writer.add_continuity_release(ContinuityRelease("t2", "acme-tools", "4.0", "admin@example.test", "t2", NOW))
    assert reader.continuity_releases("t1", "acme-tools") == {"3.0": first}
    assert reader.continuity_releases("t1", "other") == {}
    assert list(reader.continuity_releases("t2", "acme-tools")) == ["4.0"]


def test_the_policy_switch_is_per_tenant_and_can_return_to_the_default(open_records: OpenRecords) -> None:
    writer, reader = open_records(), open_records()
    assert reader.continuity("t1") is None
    writer.set_continuity("t1", False)
    assert (reader.continuity("t1"), reader.continuity("t2")) == (False, None)
    writer.set_continuity("t1", True)
    assert reader.continuity("t1") is True
    writer.set_continuity("t1", None)
    writer.set_continuity("t1", None)
    assert reader.continuity("t1") is None
