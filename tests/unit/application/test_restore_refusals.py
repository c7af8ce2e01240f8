"""``RegistryRestore`` refuses a damaged or foreign backup, or a non-empty target, before writing anything."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

from pyregistry_application.backup_format import FORMAT, FORMAT_VERSION, BackupManifest
from pyregistry_application.metadata_backend import MetadataBackend
from pyregistry_application.restores import RegistryRestore
from pyregistry_domain.errors import Conflict, ValidationFailed
from pyregistry_infrastructure.blob_storage.opendal_storage import OpenDalStorage
from pyregistry_infrastructure.metadata_stores.sql_backend import sql_backend
from pyregistry_infrastructure.metadata_stores.sqlite import SqliteDatabase
from tests.contract.metadata_builders import tenant


@pytest.fixture
def target(tmp_path: Path) -> Iterator[tuple[RegistryRestore, MetadataBackend, OpenDalStorage]]:
    store = sql_backend(SqliteDatabase(tmp_path / "target.sqlite3"))
    assert store.archive is not None
    storage = OpenDalStorage.filesystem(tmp_path / "blobs")
    yield RegistryRestore(store.archive, storage), store, storage
    store.close()


def _backup(directory: Path, store: MetadataBackend, **changes: object) -> Path:
    directory.mkdir()
    manifest = BackupManifest(
        format=FORMAT,
        version=FORMAT_VERSION,
        created_at=datetime(2026, 12, 1, tzinfo=UTC),
        database="sqlite",
        migrations=store.archive.applied_migrations() if store.archive else [],
        tables={},
        blobs="copy",
        blob_count=0,
        blob_bytes=0,
    )
    document = {**msgspec.to_builtins(manifest), **changes}
    (directory / "manifest.json").write_bytes(msgspec.json.encode(document))
    (directory / "blobs.jsonl").write_bytes(b"")
    return directory


def test_a_directory_without_a_manifest_is_not_a_backup(target, tmp_path: Path) -> None:
    restore, _, _ = target
    with pytest.raises(ValidationFailed) as refused:
        restore.run(tmp_path)
    assert refused.value.message == (
        f"{tmp_path / 'manifest.json'} does not exist: not a pyregistry backup, or an interrupted one"
    )


def test_a_garbled_manifest_is_refused(target, tmp_path: Path) -> None:
    restore, _, _ = target
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ValidationFailed) as refused:
        restore.run(tmp_path)
    assert refused.value.message.startswith(f"{tmp_path / 'manifest.json'} is not a valid backup manifest: ")


@pytest.mark.parametrize(
    ("changes", "described"), [({"format": "other"}, "'other' version 1"), ({"version": 9}, "version 9")]
)
def test_a_foreign_or_newer_format_is_refused(
    target, tmp_path: Path, changes: dict[str, object], described: str
) -> None:
    restore, store, _ = target
    backup = _backup(tmp_path / "backup", store, **changes)
    with pytest.raises(ValidationFailed) as refused:
        restore.run(backup)
    assert described in refused.value.message
    assert refused.value.message.endswith(f"this pyregistry reads {FORMAT!r} up to version {FORMAT_VERSION}")


def test_a_backup_from_a_newer_schema_is_refused(target, tmp_path: Path) -> None:
    restore, store, _ = target
    assert store.archive is not None
    migrations = [*store.archive.applied_migrations(), "9999_future"]
    backup = _backup(tmp_path / "backup", store, migrations=migrations)
    with pytest.raises(ValidationFailed) as refused:
        restore.run(backup)
    assert refused.value.message == (
        "the backup comes from a newer schema (migrations 9999_future): upgrade pyregistry first"
    )


def test_a_target_with_blobs_is_refused(target, tmp_path: Path) -> None:
    restore, store, storage = target
    source = tmp_path / "left-over.bin"
    source.write_bytes(b"left over")
    storage.put_file("t-old/left-over.bin", source)
    backup = _backup(tmp_path / "backup", store)
    with pytest.raises(Conflict) as refused:
        restore.run(backup)
    assert refused.value.message == (
        "the target artifact storage is not empty (it holds t-old/left-over.bin); restore into empty storage"
    )
    assert store.tenants.list_tenants() == []


def test_a_target_with_rows_is_refused(target, tmp_path: Path) -> None:
    restore, store, _ = target
    store.tenants.add_tenant(tenant("acme"))
    backup = _backup(tmp_path / "backup", store)
    with pytest.raises(Conflict) as refused:
        restore.run(backup)
    assert refused.value.message == (
        "the target metadata store is not empty: tenants (1 rows); restore into an empty deployment"
    )


def test_an_unreadable_blob_list_is_refused(target, tmp_path: Path) -> None:
    restore, store, _ = target
    backup = _backup(tmp_path / "backup", store)
    (backup / "blobs.jsonl").write_text("{broken\n")
    with pytest.raises(ValidationFailed) as refused:
        restore.run(backup)
    assert refused.value.message.startswith(f"{backup / 'blobs.jsonl'} cannot be read: ")


def test_a_reference_backup_needs_its_blobs_in_the_target_storage(target, tmp_path: Path) -> None:
    restore, store, _ = target
    backup = _backup(tmp_path / "backup", store, blobs="reference")
    (backup / "blobs.jsonl").write_text(
        '{"key": "t-acme/demo/1.0/demo.whl", "sha256": "' + "ab" * 32 + '", "size": 3}\n'
    )
    with pytest.raises(ValidationFailed) as refused:
        restore.run(backup)
    assert refused.value.message == (
        "a reference backup needs its blobs in the target storage: "
        "t-acme/demo/1.0/demo.whl is missing from the target storage"
    )


def test_a_missing_table_file_or_a_garbled_row_is_refused_and_loads_nothing(target, tmp_path: Path) -> None:
    restore, store, _ = target
    backup = _backup(tmp_path / "backup", store, tables={"tenants": 1})
    with pytest.raises(ValidationFailed) as missing:
        restore.run(backup)
    assert missing.value.message == f"{backup / 'metadata' / 'tenants.jsonl'} is missing from the backup"
    (backup / "metadata").mkdir()
    (backup / "metadata" / "tenants.jsonl").write_text("{broken\n")
    with pytest.raises(ValidationFailed) as garbled:
        restore.run(backup)
    assert garbled.value.message.startswith(f"{backup / 'metadata' / 'tenants.jsonl'} line 1 is not a valid row: ")
    assert store.tenants.list_tenants() == []
