"""The security use cases an entry point is handed by the composition root."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pyregistry_application.security.findings import Severity
from pyregistry_application.security.ports import Scanner, VulnerabilityChecker, VulnerabilitySource
from pyregistry_application.security.validation import ValidateDistributions
from pyregistry_application.security.vulnerabilities import CheckRegistry, ReleaseVulnerabilitySummary
from pyregistry_application.security.wheel_scan import ScanWheel

__all__ = ["SecurityServices"]


@dataclass(slots=True)
class SecurityServices:
    """Wired security use cases plus the adapters entry points choose between."""

    wheel_scan: ScanWheel
    validation: ValidateDistributions
    check_registry: CheckRegistry
    release_vulnerabilities: ReleaseVulnerabilitySummary
    advisories: VulnerabilitySource
    local_checker: VulnerabilityChecker
    yara_for: Callable[[Path], Scanner]
    scan_fail_severity: Severity
    distribution_parallelism: int
