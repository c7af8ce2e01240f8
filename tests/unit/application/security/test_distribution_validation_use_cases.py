"""Distribution validation driven directly: local files, and every stored blob on disk or in an object store.

Archives are read by the real ``ArchiveInspector``; blobs come from real uploads to the in-memory store.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyregistry_application.security.validation import (
    DistributionStatus,
    DistributionValidation,
    ValidateDistributions,
    is_supported_archive,
)
from pyregistry_domain.distributions import ReleaseFile
from pyregistry_domain.errors import NotFound
from pyregistry_infrastructure.archives import ArchiveInspector
from pyregistry_infrastructure.blob_storage.opendal_storage import OpenDalStorage
from tests.support.dists import build_sdist, build_wheel, sha256_of
from tests.unit.application.test_application_without_web import App


class VanishingStorage(OpenDalStorage):
    """An in-memory object store whose blobs are deleted by someone else just as they are read."""

    def __init__(self) -> None:
        super().__init__("memory", {})

    def iter_chunks(self, key: str, chunk_size: int = 256 * 1024) -> Iterator[bytes]:
        self.delete(key)
        return super().iter_chunks(key, chunk_size)


@pytest.fixture
def app(tmp_path: Path) -> App:
    """Tenant ``acme`` with widget 1.0 (wheel and sdist), widget 2.0 and gadget 1.0; ``other`` with widget 1.0."""
    application = App(tmp_path)
    for slug, projects in (
        ("acme", [("widget", "1.0", True), ("widget", "1.0", False), ("widget", "2.0", True), ("gadget", "1.0", True)]),
        ("other", [("widget", "1.0", True)]),
    ):
        application.tenants.create_tenant(
            slug=slug, display_name=slug, admin_email=None, admin_password=None, mirroring_enabled=False, actor="t"
        )
        secret = application.tokens.issue(tenant_slug=slug, name="ci", scopes=["publish"], actor="t").secret
        for name, version, wheel in projects:
            out = tmp_path / "dists" / slug
            dist = build_wheel(out, name, version) if wheel else build_sdist(out, name, version)
            application.upload(slug, secret, dist, name, version)
    return application


def _validator(app: App, storage: OpenDalStorage | None = None) -> ValidateDistributions:
    return ValidateDistributions(ArchiveInspector(), app.store.tenants, app.store.catalogue, storage or app.storage)


def test_local_files_are_checked_for_digest_format_and_readability(tmp_path: Path, app: App) -> None:
    validator = _validator(app)
    wheel = build_wheel(tmp_path / "local", "good", "1.0")
    digest = sha256_of(wheel)
    ok = validator.validate_file(wheel, f"  {digest.upper()} ")
    assert (ok.status, ok.ok, ok.sha256, ok.expected_sha256, ok.members) == (
        DistributionStatus.OK,
        True,
        digest,
        digest,
        4,
    )
    assert validator.validate_file(wheel).expected_sha256 is None

    missing = validator.validate_file(tmp_path / "absent-1.0.tar.gz")
    assert (missing.status, missing.file, missing.detail) == (
        DistributionStatus.MISSING,
        "absent-1.0.tar.gz",
        "no such file",
    )

    mismatch = validator.validate_file(wheel, "0" * 64, label="renamed.whl")
    assert (mismatch.status, mismatch.file, mismatch.expected_sha256) == (
        DistributionStatus.CHECKSUM_MISMATCH,
        "renamed.whl",
        "0" * 64,
    )
    assert not mismatch.ok

    rar = tmp_path / "good-1.0.rar"
    rar.write_bytes(wheel.read_bytes())
    unsupported = validator.validate_file(rar, sha256_of(rar))
    assert (unsupported.status, unsupported.detail) == (
        DistributionStatus.UNSUPPORTED,
        "expected .whl, .zip, .tar.gz or .tgz",
    )
    assert validator.validate_file(rar, "f" * 64).status is DistributionStatus.CHECKSUM_MISMATCH, "digest first"

    truncated = tmp_path / "cut-1.0-py3-none-any.whl"
    truncated.write_bytes(wheel.read_bytes()[:-40])
    corrupt = validator.validate_file(truncated, sha256_of(truncated))
    assert corrupt.status is DistributionStatus.CORRUPT and corrupt.detail
    assert corrupt.sha256 == sha256_of(truncated)


@pytest.mark.parametrize(
    ("filename", "supported"),
    [
        ("a-1-py3-none-any.WHL", True),
        ("a-1.zip", True),
        ("a-1.tar.gz", True),
        ("a-1.tgz", True),
        ("a-1.tar.bz2", False),
    ],
)
def test_supported_archive_names(filename: str, supported: bool) -> None:
    assert is_supported_archive(filename) is supported


def _names(files: list[tuple[str, ReleaseFile]]) -> list[tuple[str, str]]:
    return sorted((slug, file.filename) for slug, file in files)


def test_stored_files_can_be_narrowed_to_a_tenant_and_a_project(app: App) -> None:
    validator = _validator(app)
    assert len(validator.stored_files()) == 5
    assert _names(validator.stored_files("acme", "Widget")) == [
        ("acme", "widget-1.0-py3-none-any.whl"),
        ("acme", "widget-1.0.tar.gz"),
        ("acme", "widget-2.0-py3-none-any.whl"),
    ]
    assert _names(validator.stored_files(project="gadget")) == [("acme", "gadget-1.0-py3-none-any.whl")]
    assert _names(validator.stored_files("other")) == [("other", "widget-1.0-py3-none-any.whl")]
    assert validator.stored_files("acme", "unknown") == []
    with pytest.raises(NotFound, match="tenant 'nobody' not found"):
        validator.stored_files("nobody")


def test_validating_every_blob_reports_damaged_and_missing_ones(app: App) -> None:
    validator = _validator(app)
    files = validator.stored_files()
    by_name = {(slug, file.filename): file for slug, file in files}
    damaged = by_name[("acme", "widget-2.0-py3-none-any.whl")]
    local = app.storage.local_path(damaged.blob_key)
    assert local is not None
    damaged_bytes = bytearray(local.read_bytes())
    damaged_bytes[len(damaged_bytes) // 2] ^= 0xFF
    local.write_bytes(bytes(damaged_bytes))
    lost = by_name[("other", "widget-1.0-py3-none-any.whl")]
    app.storage.delete(lost.blob_key)

    seen: list[DistributionValidation] = []
    lock = threading.Lock()

    def on_result(result: DistributionValidation) -> None:
        with lock:
            seen.append(result)

    summary = validator.validate_all(files, parallelism=2, on_result=on_result)
    assert summary.checked == 5 and len(seen) == 5
    assert summary.counts == {"ok": 3, "missing": 1, "checksum-mismatch": 1, "corrupt": 0, "unsupported": 0}
    problems = sorted(summary.problems, key=lambda p: p.status.value)
    assert [(p.status, p.tenant, p.project, p.file) for p in problems] == [
        (DistributionStatus.CHECKSUM_MISMATCH, "acme", "widget", damaged.filename),
        (DistributionStatus.MISSING, "other", "widget", lost.filename),
    ]
    assert problems[1].detail == f"blob {lost.blob_key} is missing from storage"
    assert problems[1].expected_sha256 == lost.sha256
    assert {(r.tenant, r.file) for r in seen if r.ok} == {
        ("acme", "widget-1.0-py3-none-any.whl"),
        ("acme", "widget-1.0.tar.gz"),
        ("acme", "gadget-1.0-py3-none-any.whl"),
    }
    assert validator.validate_all([], parallelism=0).checked == 0


def test_blobs_without_a_local_path_are_copied_then_validated(app: App) -> None:
    remote = OpenDalStorage("memory", {})
    vanishing = VanishingStorage()
    files = _validator(app).stored_files("acme")
    for _, file in files:
        for storage in (remote, vanishing):
            storage.put_bytes(file.blob_key, app.storage.read_bytes(file.blob_key))
    results = [_validator(app, remote).validate_stored(slug, file) for slug, file in files]
    assert [(r.status, r.tenant) for r in results] == [(DistributionStatus.OK, "acme")] * 4
    assert [r.sha256 for r in results] == [file.sha256 for _, file in files]

    slug, file = files[0]
    raced = _validator(app, vanishing).validate_stored(slug, file)
    assert (raced.status, raced.detail, raced.tenant, raced.project) == (
        DistributionStatus.MISSING,
        "blob vanished while reading",
        "acme",
        file.normalized_name,
    )
