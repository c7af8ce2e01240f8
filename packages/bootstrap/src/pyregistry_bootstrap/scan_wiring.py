"""Wiring of the wheel scanners, shared by the security commands and the mirror's scan before serve."""

from __future__ import annotations

from pathlib import Path

from pyregistry_application.audit import AuditTrail
from pyregistry_application.metadata_backend import MetadataBackend
from pyregistry_application.mirror_scanning import ScanBeforeServe, TenantBlockSeverity
from pyregistry_application.ports import Clock
from pyregistry_application.security.findings import Severity
from pyregistry_application.security.ports import Scanner
from pyregistry_application.security.wheel_scan import ScanWheel
from pyregistry_infrastructure.config import ConfigError
from pyregistry_infrastructure.scanning.ast_checks import AstScanner
from pyregistry_infrastructure.scanning.foxguard import FoxguardScanner
from pyregistry_infrastructure.scanning.heuristics import HeuristicScanner
from pyregistry_infrastructure.scanning.unpack import SafeWheelUnpacker
from pyregistry_infrastructure.scanning.yara_rules import YaraScanner, resolve_rules_dir
from pyregistry_infrastructure.settings import SecuritySettings

__all__ = ["build_scan_gate", "build_scanners", "yara_scanner_for"]


def yara_scanner_for(directory: str | Path | None) -> Scanner:
    """A YARA scanner over ``directory`` (the supplied rules when it is unusable)."""
    return YaraScanner(resolve_rules_dir(directory))


def build_scanners(security: SecuritySettings) -> list[Scanner]:
    """Every configured scanner: heuristics, AST checks, FoxGuard and YARA (rules compile on first use)."""
    return [
        HeuristicScanner(),
        AstScanner(),
        FoxguardScanner(security.foxguard_path),
        yara_scanner_for(security.yara_rules_path),
    ]


def build_scan_gate(
    security: SecuritySettings,
    store: MetadataBackend,
    trail: AuditTrail,
    clock: Clock,
    per_tenant: TenantBlockSeverity | None = None,
) -> ScanBeforeServe | None:
    """Scan before serve for mirrored files; ``None`` when ``security.mirror_scan_enabled`` is off. With
    ``per_tenant`` (the release policies) each tenant's own block severity applies."""
    if not security.mirror_scan_enabled:
        return None
    try:
        block = Severity.parse(security.mirror_block_severity)
    except ValueError as exc:
        raise ConfigError(f"key 'security.mirror_block_severity': {exc}") from None
    wheel_scan = ScanWheel(SafeWheelUnpacker(), build_scanners(security))
    return ScanBeforeServe(wheel_scan, store.scans, store.tenants, store.catalogue, trail, clock, block, per_tenant)
