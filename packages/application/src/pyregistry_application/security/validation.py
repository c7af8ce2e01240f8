"""Distribution validation: checksums and full, safe reads of local files and stored blobs."""

from __future__ import annotations

import hashlib
import hmac
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from enum import StrEnum
from pathlib import Path

import msgspec

from pyregistry_application.metadata_ports import CatalogueReader, TenantStore
from pyregistry_application.ports import ArtifactStorage
from pyregistry_application.security.ports import ArchiveVerifier
from pyregistry_domain.distributions import ReleaseFile
from pyregistry_domain.errors import InvalidDistribution, NotFound
from pyregistry_domain.names import normalize_project_name

__all__ = [
    "DistributionStatus",
    "DistributionValidation",
    "ValidateDistributions",
    "ValidationSummary",
    "file_sha256",
    "is_supported_archive",
    "validate_local_file",
]

_SUFFIXES = (".whl", ".zip", ".tar.gz", ".tgz")


def is_supported_archive(filename: str) -> bool:
    """True for ``.whl``, ``.zip``, ``.tar.gz`` and ``.tgz`` names."""
    return filename.lower().endswith(_SUFFIXES)


class DistributionStatus(StrEnum):
    """Outcome of validating one distribution."""

    OK = "ok"
    MISSING = "missing"
    CHECKSUM_MISMATCH = "checksum-mismatch"
    CORRUPT = "corrupt"
    UNSUPPORTED = "unsupported"


class DistributionValidation(msgspec.Struct, frozen=True, kw_only=True):
    """Result for one file."""

    file: str
    status: DistributionStatus
    sha256: str | None = None
    expected_sha256: str | None = None
    members: int | None = None
    detail: str = ""
    tenant: str | None = None
    project: str | None = None

    @property
    def ok(self) -> bool:
        """True when the file passed every check."""
        return self.status is DistributionStatus.OK


class ValidationSummary(msgspec.Struct, frozen=True, kw_only=True):
    """Counts per status plus every problem found."""

    checked: int
    counts: dict[str, int]
    problems: list[DistributionValidation]


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def validate_local_file(
    verifier: ArchiveVerifier, path: Path, expected_sha256: str | None = None, label: str | None = None
) -> DistributionValidation:
    """Compare the SHA-256 with ``expected_sha256`` (when given), then read the archive fully."""
    name = label or path.name
    if not path.is_file():
        return DistributionValidation(file=name, status=DistributionStatus.MISSING, detail="no such file")
    actual = file_sha256(path)
    expected = expected_sha256.strip().lower() if expected_sha256 else None
    if expected is not None and not hmac.compare_digest(expected.encode(), actual.encode()):
        return DistributionValidation(
            file=name,
            status=DistributionStatus.CHECKSUM_MISMATCH,
            sha256=actual,
            expected_sha256=expected,
            detail="the SHA-256 of the content differs from the expected digest",
        )
    if not is_supported_archive(name):
        return DistributionValidation(
            file=name,
            status=DistributionStatus.UNSUPPORTED,
            sha256=actual,
            detail="expected .whl, .zip, .tar.gz or .tgz",
        )
    try:
        members = verifier.verify(path)
    except InvalidDistribution as exc:
        return DistributionValidation(
            file=name, status=DistributionStatus.CORRUPT, sha256=actual, expected_sha256=expected, detail=exc.message
        )
    return DistributionValidation(
        file=name, status=DistributionStatus.OK, sha256=actual, expected_sha256=expected, members=members
    )


class ValidateDistributions:
    """Validates one local file, or every stored blob in parallel."""

    def __init__(
        self, verifier: ArchiveVerifier, tenants: TenantStore, catalogue: CatalogueReader, storage: ArtifactStorage
    ) -> None:
        self._verifier = verifier
        self._tenants = tenants
        self._catalogue = catalogue
        self._storage = storage

    def validate_file(
        self, path: Path, expected_sha256: str | None = None, label: str | None = None
    ) -> DistributionValidation:
        """Checksum then full read of one local file."""
        return validate_local_file(self._verifier, path, expected_sha256, label)

    def stored_files(self, tenant_slug: str | None = None, project: str | None = None) -> list[tuple[str, ReleaseFile]]:
        """Every stored (tenant slug, file), optionally narrowed to one tenant and project."""
        tenants = self._tenants.list_tenants()
        if tenant_slug is not None:
            tenants = [t for t in tenants if t.slug == tenant_slug]
            if not tenants:
                raise NotFound(f"tenant {tenant_slug!r} not found")
        wanted = normalize_project_name(project) if project else None
        files: list[tuple[str, ReleaseFile]] = []
        for tenant in tenants:
            for stored_project in self._catalogue.list_projects(tenant.id):
                if wanted is not None and stored_project.normalized_name != wanted:
                    continue
                files.extend(
                    (tenant.slug, f) for f in self._catalogue.list_files(tenant.id, stored_project.normalized_name)
                )
        return files

    def validate_stored(self, tenant_slug: str, file: ReleaseFile) -> DistributionValidation:
        """Validate one stored blob against the digest recorded at upload."""
        if self._storage.stat(file.blob_key) is None:
            return DistributionValidation(
                file=file.filename,
                status=DistributionStatus.MISSING,
                expected_sha256=file.sha256,
                detail=f"blob {file.blob_key} is missing from storage",
                tenant=tenant_slug,
                project=file.normalized_name,
            )
        result = self._with_local_copy(file)
        return msgspec.structs.replace(result, tenant=tenant_slug, project=file.normalized_name)

    def _with_local_copy(self, file: ReleaseFile) -> DistributionValidation:
        local = self._storage.local_path(file.blob_key)
        if local is not None:
            return self.validate_file(local, file.sha256, label=file.filename)
        with tempfile.TemporaryDirectory(prefix="pyregistry-validate-") as tmp:
            target = Path(tmp) / "blob"
            try:
                with target.open("wb") as handle:
                    for chunk in self._storage.iter_chunks(file.blob_key):
                        handle.write(chunk)
            except NotFound:
                return DistributionValidation(
                    file=file.filename, status=DistributionStatus.MISSING, detail="blob vanished while reading"
                )
            return self.validate_file(target, file.sha256, label=file.filename)

    def validate_all(
        self,
        files: list[tuple[str, ReleaseFile]],
        parallelism: int,
        on_result: Callable[[DistributionValidation], None] | None = None,
    ) -> ValidationSummary:
        """Validate ``files`` with ``parallelism`` workers; ``on_result`` is called as each one finishes."""
        counts = {status.value: 0 for status in DistributionStatus}
        problems: list[DistributionValidation] = []
        for result in self._run(files, max(1, parallelism)):
            counts[result.status.value] += 1
            if not result.ok:
                problems.append(result)
            if on_result is not None:
                on_result(result)
        return ValidationSummary(checked=len(files), counts=counts, problems=problems)

    def _run(self, files: list[tuple[str, ReleaseFile]], parallelism: int) -> Iterator[DistributionValidation]:
        with ThreadPoolExecutor(max_workers=parallelism, thread_name_prefix="validate") as pool:
            futures = [pool.submit(self.validate_stored, slug, file) for slug, file in files]
            for future in as_completed(futures):
                yield future.result()
