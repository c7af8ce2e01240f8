"""Scan before serve: the first time an upstream file would be served, the wheel scan runs on its verified
bytes; a finding at or above the block severity quarantines the file until an admin releases it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from pyregistry_application.audit import AuditTrail
from pyregistry_application.metadata_ports import CatalogueReader, TenantStore
from pyregistry_application.mirror_ports import MIRROR_ACTOR
from pyregistry_application.ports import Clock
from pyregistry_application.scan_ports import FileRelease, ScanResult, ScanResultStore
from pyregistry_application.security.findings import Severity, WheelScanReport
from pyregistry_domain.distributions import ReleaseFile
from pyregistry_domain.errors import Forbidden, InvalidDistribution, NotFound, ServiceUnavailable, ValidationFailed
from pyregistry_domain.names import normalize_project_name

__all__ = [
    "QUARANTINED_ACTION",
    "RELEASED_ACTION",
    "ArchiveScan",
    "FileQuarantined",
    "ScanBeforeServe",
    "ScanUnavailable",
    "TenantBlockSeverity",
]

QUARANTINED_ACTION = "mirror.file_quarantined"
RELEASED_ACTION = "mirror.file_released"
UNSAFE_ARCHIVE_RULE = "archive/unsafe"
_log = logging.getLogger(__name__)


class ArchiveScan(Protocol):
    """The wheel scan of one distribution archive (a wheel or an sdist)."""

    def scan_archive(self, project: str, archive: Path) -> WheelScanReport:
        """Unpack ``archive`` safely and run every scanner; ``InvalidDistribution`` when it cannot be unpacked."""
        ...


class TenantBlockSeverity(Protocol):
    """A tenant's own block severity (the release policies' per-tenant override)."""

    def block_severity(self, tenant_id: str) -> Severity:
        """Findings at or above this severity quarantine a file in the tenant."""
        ...


class FileQuarantined(Forbidden):
    """The file's scan reached the block severity and no admin released it in this tenant."""


class ScanUnavailable(ServiceUnavailable):
    """A scanner could not run; the file is refused (fail closed) and no verdict is kept."""


def _quarantine_reason(filename: str, result: ScanResult) -> str:
    return (
        f"{filename} is quarantined: security scan finding {result.worst_rule_id} ({result.worst_severity}); "
        "an admin can release it"
    )


class ScanBeforeServe:
    """Scans mirrored files once per sha256 and keeps quarantined ones from clients."""

    def __init__(
        self,
        wheel_scan: ArchiveScan,
        results: ScanResultStore,
        tenants: TenantStore,
        catalogue: CatalogueReader,
        trail: AuditTrail,
        clock: Clock,
        block_severity: Severity,
        per_tenant: TenantBlockSeverity | None = None,
    ) -> None:
        self._wheel_scan = wheel_scan
        self._results = results
        self._tenants = tenants
        self._catalogue = catalogue
        self._trail = trail
        self._clock = clock
        self._block = block_severity
        self._per_tenant = per_tenant
        self._lock = threading.Lock()
        self._scanning: dict[str, tuple[threading.Lock, int]] = {}
        """Per sha256 being checked: its lock and how many checks use it (removed with the last one)."""

    @property
    def block_severity(self) -> Severity:
        """Findings at or above this severity quarantine a file."""
        return self._block

    def block_severity_for(self, tenant_id: str | None) -> Severity:
        """The tenant's block severity (the configured one without per-tenant settings or a tenant)."""
        if tenant_id is None or self._per_tenant is None:
            return self._block
        return self._per_tenant.block_severity(tenant_id)

    def blocks(self, result: ScanResult, tenant_id: str | None = None) -> bool:
        """True when ``result`` holds a finding at or above the block severity (of ``tenant_id`` when given)."""
        if result.worst_severity is None:
            return False
        return Severity.parse(result.worst_severity).rank >= self.block_severity_for(tenant_id).rank

    def refuse_if_quarantined(self, file: ReleaseFile) -> None:
        """Raise :class:`FileQuarantined` when the file's recorded verdict blocks it in its tenant."""
        result = self._results.get_scan(file.sha256)
        if (
            result is not None
            and self.blocks(result, file.tenant_id)
            and not self._released(file.tenant_id, file.sha256)
        ):
            raise FileQuarantined(_quarantine_reason(file.filename, result))

    def check(self, file: ReleaseFile, archive: Path) -> None:
        """Scan ``archive`` (the verified bytes of ``file``) unless its sha256 was scanned before, then refuse it
        when the verdict blocks it. Concurrent checks of one sha256 in this process scan it once (they share one
        lock until the last of them is done, also when a scan fails)."""
        with self._lock:
            guard, users = self._scanning.get(file.sha256, (threading.Lock(), 0))
            self._scanning[file.sha256] = (guard, users + 1)
        try:
            with guard:
                result = self._verdict(file, archive)
        finally:
            with self._lock:
                guard, users = self._scanning[file.sha256]
                if users > 1:
                    self._scanning[file.sha256] = (guard, users - 1)
                else:
                    del self._scanning[file.sha256]
        if self.blocks(result, file.tenant_id) and not self._released(file.tenant_id, file.sha256):
            _log.warning("mirror.file_quarantined file=%s rule=%s", file.filename, result.worst_rule_id)
            raise FileQuarantined(_quarantine_reason(file.filename, result))

    def _verdict(self, file: ReleaseFile, archive: Path) -> ScanResult:
        """The recorded verdict of the file's sha256, or a new scan's (recorded, and audited when it blocks)."""
        result = self._results.get_scan(file.sha256)
        if result is not None:
            return result
        result = self._scan(file, archive)
        self._results.put_scan(result)
        if self.blocks(result, file.tenant_id):
            self._trail.record(
                actor=MIRROR_ACTOR,
                action=QUARANTINED_ACTION,
                target=f"{file.normalized_name}/{file.filename}",
                tenant_id=file.tenant_id,
                details={
                    "sha256": file.sha256,
                    "rule_id": result.worst_rule_id or "",
                    "severity": result.worst_severity or "",
                },
            )
        return result

    def quarantined(self, tenant_id: str, files: Iterable[ReleaseFile]) -> dict[str, ScanResult]:
        """The blocking verdicts of the tenant's mirrored ``files`` that no admin released, by filename."""
        mirrored = [file for file in files if file.is_mirrored]
        if not mirrored:
            return {}
        scans = self._results.find_scans({file.sha256 for file in mirrored})
        blocking = {sha: result for sha, result in scans.items() if self.blocks(result, tenant_id)}
        if not blocking:
            return {}
        released = self._results.find_releases(tenant_id, blocking)
        return {
            file.filename: blocking[file.sha256]
            for file in mirrored
            if file.sha256 in blocking and file.sha256 not in released
        }

    def release(
        self, tenant_slug: str, project: str, filename: str, *, actor: str, reason: str, source_ip: str | None = None
    ) -> FileRelease:
        """Serve a quarantined file of the tenant from now on; audited as ``mirror.file_released``."""
        if not reason.strip():
            raise ValidationFailed("a reason is required to release a quarantined file")
        tenant = self._tenants.get_tenant_by_slug(tenant_slug)
        if tenant is None:
            raise NotFound(f"tenant {tenant_slug!r} does not exist")
        normalized = normalize_project_name(project)
        file = self._catalogue.get_file(tenant.id, filename)
        if file is None or file.normalized_name != normalized:
            raise NotFound(f"file {filename!r} does not exist in project {normalized!r}")
        if file.filename not in self.quarantined(tenant.id, [file]):
            raise ValidationFailed(f"{filename} is not quarantined in tenant {tenant.slug!r}")
        release = FileRelease(
            tenant_id=tenant.id,
            sha256=file.sha256,
            filename=file.filename,
            released_by=actor,
            reason=reason.strip(),
            released_at=self._clock.now(),
        )
        self._results.add_release(release)
        self._trail.record(
            actor=actor,
            action=RELEASED_ACTION,
            target=f"{normalized}/{file.filename}",
            tenant_id=tenant.id,
            source_ip=source_ip,
            details={"sha256": file.sha256, "reason": release.reason},
        )
        return release

    def _released(self, tenant_id: str, sha256: str) -> bool:
        return bool(self._results.find_releases(tenant_id, [sha256]))

    def _scan(self, file: ReleaseFile, archive: Path) -> ScanResult:
        now = self._clock.now()
        try:
            report = self._wheel_scan.scan_archive(file.normalized_name, archive)
        except InvalidDistribution as exc:
            _log.warning("mirror.unsafe_archive file=%s error=%s", file.filename, exc.message)
            return ScanResult(
                sha256=file.sha256,
                filename=file.filename,
                scanned_at=now,
                findings=1,
                worst_severity=Severity.CRITICAL.value,
                worst_rule_id=UNSAFE_ARCHIVE_RULE,
            )
        if report.scanner_errors:
            failed = "; ".join(f"{name}: {error}" for name, error in sorted(report.scanner_errors.items()))
            raise ScanUnavailable(f"the security scan of {file.filename} could not run ({failed}); it is not served")
        worst = report.findings[0] if report.findings else None
        _log.info(
            "mirror.scanned file=%s sha256=%s findings=%s worst=%s",
            file.filename,
            file.sha256,
            len(report.findings),
            worst.rule_id if worst else "-",
        )
        return ScanResult(
            sha256=file.sha256,
            filename=file.filename,
            scanned_at=now,
            findings=len(report.findings),
            worst_severity=worst.severity.value if worst else None,
            worst_rule_id=worst.rule_id if worst else None,
        )
