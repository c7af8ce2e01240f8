"""Ports the security use cases need, as ``typing.Protocol``."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from pyregistry_application.security.findings import Finding
from pyregistry_application.security.vulnerability_model import (
    Advisory,
    Notification,
    PackageVersion,
    PackageVulnerability,
)

__all__ = [
    "ArchiveVerifier",
    "Notifier",
    "Scanner",
    "VulnerabilityChecker",
    "VulnerabilitySource",
    "WheelFetcher",
    "WheelUnpacker",
]


class Scanner(Protocol):
    """Looks at an unpacked wheel and reports findings."""

    name: str

    def scan(self, wheel: Path, unpacked: Path) -> list[Finding]:
        """Findings for the wheel at ``wheel`` already unpacked safely into ``unpacked``."""
        ...


class WheelUnpacker(Protocol):
    """Checks an archive is safe and extracts it."""

    def unpack(self, wheel: Path, target: Path) -> None:
        """Extract ``wheel`` into the empty directory ``target``; raise ``InvalidDistribution`` when unsafe."""
        ...


class WheelFetcher(Protocol):
    """Downloads a wheel from the configured upstream index."""

    def fetch(self, project: str, filename: str, target_dir: Path) -> Path:
        """Download ``filename`` of ``project`` into ``target_dir``; raise ``NotFound`` when absent."""
        ...


class ArchiveVerifier(Protocol):
    """Fully reads an archive and refuses corrupt or unsafe ones."""

    def verify(self, path: Path) -> int:
        """Return the member count; raise ``InvalidDistribution`` otherwise."""
        ...


class VulnerabilitySource(Protocol):
    """Known advisories, looked up by package version or by id."""

    @property
    def configured(self) -> bool:
        """False when no advisory data was configured (every lookup then finds nothing)."""
        ...

    def query(self, name: str, version: str) -> list[Advisory]:
        """Advisories affecting ``name`` at ``version`` (PyPI ecosystem)."""
        ...

    def advisories_for(self, name: str) -> list[Advisory]:
        """Every advisory that mentions ``name``."""
        ...

    def get(self, advisory_id: str) -> Advisory | None:
        """One advisory by id or alias."""
        ...


class Notifier(Protocol):
    """Delivers a notification (a webhook). Must not raise: failures are logged by the adapter."""

    def send(self, notification: Notification) -> bool:
        """True when delivered."""
        ...


class VulnerabilityChecker(Protocol):
    """Checks many package versions at once (pysentry, or the local advisory database)."""

    name: str

    def check(self, packages: list[PackageVersion]) -> list[PackageVulnerability]:
        """Every advisory affecting any of ``packages``."""
        ...
