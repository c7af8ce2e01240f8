"""The wheel scan use case shared by ``pyregistry audit-wheel`` and the package page's "Wheel scan"."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path

from pyregistry_application.metadata_ports import CatalogueReader
from pyregistry_application.ports import ArtifactStorage
from pyregistry_application.security.findings import Finding, WheelScanReport, sort_findings
from pyregistry_application.security.ports import Scanner, WheelFetcher, WheelUnpacker
from pyregistry_application.security.validation import file_sha256
from pyregistry_domain.errors import NotFound, ValidationFailed
from pyregistry_domain.names import normalize_project_name

__all__ = ["ScanWheel"]

_log = logging.getLogger(__name__)


class ScanWheel:
    """Unpacks a wheel safely and runs every scanner over it; findings are merged and sorted."""

    def __init__(
        self,
        unpacker: WheelUnpacker,
        scanners: Sequence[Scanner],
        fetcher: WheelFetcher | None = None,
        catalogue: CatalogueReader | None = None,
        storage: ArtifactStorage | None = None,
    ) -> None:
        self._unpacker = unpacker
        self._scanners = list(scanners)
        self._fetcher = fetcher
        self._catalogue = catalogue
        self._storage = storage

    def scan_file(self, project: str, wheel: Path, overrides: Sequence[Scanner] = ()) -> WheelScanReport:
        """Scan a local wheel file; ``overrides`` replace the configured scanners of the same name."""
        if not wheel.name.endswith(".whl"):
            raise ValidationFailed(f"{wheel.name!r} is not a wheel (.whl)")
        return self.scan_archive(project, wheel, overrides)

    def scan_archive(self, project: str, archive: Path, overrides: Sequence[Scanner] = ()) -> WheelScanReport:
        """Scan a wheel or an sdist (``.tar.gz``, ``.zip``); ``InvalidDistribution`` when it is unsafe to unpack."""
        replaced = {scanner.name: scanner for scanner in overrides}
        scanners = [replaced.pop(scanner.name, scanner) for scanner in self._scanners] + list(replaced.values())
        findings: list[Finding] = []
        errors: dict[str, str] = {}
        with tempfile.TemporaryDirectory(prefix="pyregistry-scan-") as tmp:
            unpacked = Path(tmp) / "unpacked"
            unpacked.mkdir()
            self._unpacker.unpack(archive, unpacked)
            for scanner in scanners:
                try:
                    findings.extend(scanner.scan(archive, unpacked))
                except Exception as exc:
                    _log.warning("scanner %s failed on %s: %s", scanner.name, archive.name, exc)
                    errors[scanner.name] = str(exc) or type(exc).__name__
        return WheelScanReport(
            project=project,
            filename=archive.name,
            sha256=file_sha256(archive),
            findings=sort_findings(findings),
            scanners=[scanner.name for scanner in scanners],
            scanner_errors=errors,
        )

    def scan_upstream(self, project: str, filename: str, overrides: Sequence[Scanner] = ()) -> WheelScanReport:
        """Download ``filename`` from the configured upstream index, then scan it."""
        if self._fetcher is None:
            raise ValidationFailed("no upstream index is configured to download the wheel from")
        with tempfile.TemporaryDirectory(prefix="pyregistry-fetch-") as tmp:
            wheel = self._fetcher.fetch(project, filename, Path(tmp))
            return self.scan_file(project, wheel, overrides)

    def scan_stored(self, tenant_id: str, project: str, filename: str) -> WheelScanReport:
        """Scan a wheel stored in the registry (the package page's "Wheel scan")."""
        if self._catalogue is None or self._storage is None:
            raise ValidationFailed("stored wheels cannot be audited in this process")
        file = self._catalogue.get_file(tenant_id, filename)
        if file is None or file.normalized_name != normalize_project_name(project):
            raise NotFound(f"file {filename!r} not found in project {project!r}")
        local = self._storage.local_path(file.blob_key)
        if local is not None:
            return self._rename_for(file.filename, local, project)
        with tempfile.TemporaryDirectory(prefix="pyregistry-stored-") as tmp:
            target = Path(tmp) / file.filename
            with target.open("wb") as handle:
                for chunk in self._storage.iter_chunks(file.blob_key):
                    handle.write(chunk)
            return self.scan_file(project, target)

    def _rename_for(self, filename: str, local: Path, project: str) -> WheelScanReport:
        if local.name == filename:
            return self.scan_file(project, local)
        with tempfile.TemporaryDirectory(prefix="pyregistry-stored-") as tmp:
            target = Path(tmp) / filename
            target.symlink_to(local.resolve())
            return self.scan_file(project, target)
