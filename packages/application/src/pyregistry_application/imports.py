"""``pyregistry import``: bring another registry's files into a tenant through the upload checks.

Every new file goes through :meth:`UploadDistribution.import_file` (the checks, records and audit entry of a
twine upload), keeping the source's upload time. A file already in the tenant with the same sha256 is left
alone, so re-running imports only what is new; the same filename with other content is reported as a conflict.
A release is yanked when every one of its files is yanked at the source (PEP 592 yanks files; pyregistry, like
PyPI's UI, yanks releases).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

import msgspec

from pyregistry_application.admin_releases import MAX_YANK_REASON_LENGTH
from pyregistry_application.audit import AuditTrail
from pyregistry_application.import_ports import ImportSource, SourceFile
from pyregistry_application.metadata_ports import Catalogue, TenantStore
from pyregistry_application.ports import Clock
from pyregistry_application.spooled_files import spooled_file
from pyregistry_application.uploads import UploadDistribution
from pyregistry_domain.distributions import ReleaseFile, parse_distribution_filename
from pyregistry_domain.errors import DomainError, NotFound
from pyregistry_domain.tenants import Tenant
from pyregistry_domain.versions import canonical_version

__all__ = ["ImportOutcome", "ImportReport", "RegistryImport"]

Status = Literal["imported", "present", "conflict", "refused"]


class ImportOutcome(msgspec.Struct, frozen=True):
    """What happened to one source file."""

    filename: str
    status: Status
    detail: str = ""


class ImportReport(msgspec.Struct, frozen=True):
    """The outcome of an import: counts, and every file that was not imported cleanly."""

    tenant: str
    source: str
    offered: int
    imported: int
    present: int
    yanked_releases: int
    seconds: float
    conflicts: list[ImportOutcome]
    refused: list[ImportOutcome]


class RegistryImport:
    """Imports every file of an :class:`ImportSource` into one tenant, ``parallelism`` files at a time."""

    def __init__(
        self, tenants: TenantStore, catalogue: Catalogue, uploads: UploadDistribution, clock: Clock, audit: AuditTrail
    ) -> None:
        self._tenants = tenants
        self._catalogue = catalogue
        self._uploads = uploads
        self._clock = clock
        self._audit = audit

    def run(
        self,
        tenant_slug: str,
        source: ImportSource,
        *,
        scratch: Path,
        parallelism: int = 4,
        on_total: Callable[[int], None] | None = None,
        on_done: Callable[[ImportOutcome], None] | None = None,
    ) -> ImportReport:
        """Import what is new, report what conflicts or is refused, then apply the source's yanks."""
        tenant = self._tenants.get_tenant_by_slug(tenant_slug)
        if tenant is None:
            raise NotFound(f"tenant {tenant_slug!r} not found")
        started = self._clock.now()
        files = list(source.list_files())
        if on_total is not None:
            on_total(len(files))
        known = self._known_files(tenant.id)
        actor = f"import:{source.description}"

        def one(file: SourceFile) -> ImportOutcome:
            outcome = self._import_one(tenant, source, file, known.get(file.filename), scratch, actor)
            if on_done is not None:
                on_done(outcome)
            return outcome

        with ThreadPoolExecutor(max_workers=max(1, parallelism)) as pool:
            outcomes = list(pool.map(one, files))
        return ImportReport(
            tenant=tenant.slug,
            source=source.description,
            offered=len(files),
            imported=sum(1 for outcome in outcomes if outcome.status == "imported"),
            present=sum(1 for outcome in outcomes if outcome.status == "present"),
            yanked_releases=self._apply_yanks(tenant.id, files, actor),
            seconds=round((self._clock.now() - started).total_seconds(), 3),
            conflicts=[outcome for outcome in outcomes if outcome.status == "conflict"],
            refused=[outcome for outcome in outcomes if outcome.status == "refused"],
        )

    def _known_files(self, tenant_id: str) -> dict[str, ReleaseFile]:
        return {
            file.filename: file
            for project in self._catalogue.list_projects(tenant_id)
            for file in self._catalogue.list_files(tenant_id, project.normalized_name)
        }

    def _import_one(
        self,
        tenant: Tenant,
        source: ImportSource,
        file: SourceFile,
        existing: ReleaseFile | None,
        scratch: Path,
        actor: str,
    ) -> ImportOutcome:
        if existing is not None and file.sha256 is not None:
            return self._compare(file.filename, existing, file.sha256)
        try:
            with source.fetch(file, scratch) as path:
                content = spooled_file(path, file.filename)
                if existing is not None:
                    return self._compare(file.filename, existing, content.sha256)
                if file.sha256 is not None and content.sha256 != file.sha256:
                    detail = f"downloaded sha256 {content.sha256} differs from the source's {file.sha256}"
                    return ImportOutcome(file.filename, "refused", detail)
                uploaded_at = file.uploaded_at or self._clock.now()
                self._uploads.import_file(tenant, content, uploaded_at=uploaded_at, actor=actor)
        except DomainError as exc:
            return ImportOutcome(file.filename, "refused", exc.message)
        except OSError as exc:
            return ImportOutcome(file.filename, "refused", f"cannot read it: {exc.strerror or exc}")
        return ImportOutcome(file.filename, "imported")

    @staticmethod
    def _compare(filename: str, existing: ReleaseFile, sha256: str) -> ImportOutcome:
        if existing.sha256 == sha256:
            return ImportOutcome(filename, "present")
        detail = f"the tenant already has {filename} with sha256 {existing.sha256}; the source's is {sha256}"
        return ImportOutcome(filename, "conflict", detail)

    def _apply_yanks(self, tenant_id: str, files: list[SourceFile], actor: str) -> int:
        releases: dict[tuple[str, str], list[SourceFile]] = {}
        for file in files:
            try:
                parsed = parse_distribution_filename(file.filename)
                key = (parsed.normalized_name, canonical_version(parsed.version))
            except DomainError:
                continue
            releases.setdefault(key, []).append(file)
        yanked = 0
        for (name, version), release_files in sorted(releases.items()):
            if not all(file.yanked for file in release_files):
                continue
            current = {release.version: release for release in self._catalogue.list_releases(tenant_id, name)}
            if version in current and not current[version].yanked:
                given = next((file.yanked_reason for file in release_files if file.yanked_reason), "")
                reason = " ".join(given.split())[:MAX_YANK_REASON_LENGTH] or None
                self._catalogue.set_release_yanked(tenant_id, name, version, True, reason)
                self._audit.record(
                    actor=actor,
                    action="release.yank",
                    target=f"{name}=={version}",
                    tenant_id=tenant_id,
                    details={"reason": reason or ""},
                )
                yanked += 1
        return yanked
