"""The start-up sample: recorded files against artifact storage, on SQLite + filesystem storage wired as served."""

from __future__ import annotations

from pathlib import Path

from pyregistry_application.storage_check import StorageSample, sample_recorded_blobs
from tests.unit.application.test_purge_provenance import Registry


def test_an_empty_registry_has_nothing_to_sample(tmp_path: Path) -> None:
    services = Registry(tmp_path).runtime.services
    sample = sample_recorded_blobs(services.metadata.tenants, services.metadata.catalogue, services.storage)
    assert (sample, sample.none_present) == (StorageSample(checked=0, missing=[]), False)


def test_the_sample_finds_missing_blobs_and_stops_at_its_size(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    services = registry.runtime.services
    files = [registry.upload_wheel("widget", version) for version in ("1.0", "2.0", "3.0")]
    assert sample_recorded_blobs(
        services.metadata.tenants, services.metadata.catalogue, services.storage
    ) == StorageSample(checked=3, missing=[])

    services.storage.delete(files[1].blob_key)
    partial = sample_recorded_blobs(services.metadata.tenants, services.metadata.catalogue, services.storage)
    assert (partial.checked, partial.missing, partial.none_present) == (3, [files[1].blob_key], False)

    for file in files:
        services.storage.delete(file.blob_key)
    limited = sample_recorded_blobs(services.metadata.tenants, services.metadata.catalogue, services.storage, size=2)
    assert (limited.checked, len(limited.missing), limited.none_present) == (2, 2, True)
    assert set(limited.missing) <= {file.blob_key for file in files}
