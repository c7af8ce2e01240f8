"""Purging a file, a release or a project from the admin use cases also deletes the stored provenance objects
(SQLite metadata, filesystem blobs, wired exactly as the server wires them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.attestations import github_attested, gitlab_attested, needs_attestations
from tests.support.in_process_registry import Registry


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    return Registry(tmp_path)


@needs_attestations
def test_purging_a_file_deletes_its_provenance(registry: Registry) -> None:
    purged, kept = registry.upload_attested(gitlab_attested()), registry.upload_attested(github_attested())
    registry.admin.releases.purge_file(registry.superadmin, "acme", "gitlab-oidc-project", purged.filename)
    assert registry.blobs_of(purged) == set()
    assert registry.provenance_stored(kept)


@needs_attestations
def test_purging_a_release_deletes_its_provenance(registry: Registry) -> None:
    purged, kept = registry.upload_attested(gitlab_attested()), registry.upload_attested(github_attested())
    assert registry.admin.releases.purge_release(registry.superadmin, "acme", "gitlab-oidc-project", "0.0.3") == 1
    assert registry.blobs_of(purged) == set()
    assert registry.provenance_stored(kept)


@needs_attestations
def test_purging_a_project_deletes_every_provenance(registry: Registry) -> None:
    purged, kept = registry.upload_attested(gitlab_attested()), registry.upload_attested(github_attested())
    assert registry.admin.releases.purge_project(registry.superadmin, "acme", "gitlab-oidc-project") == 1
    assert registry.blobs_of(purged) == set()
    assert registry.provenance_stored(kept)
