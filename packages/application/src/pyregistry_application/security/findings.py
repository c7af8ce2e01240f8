"""Security findings and reports crossing the application boundary."""

from __future__ import annotations

from enum import StrEnum

import msgspec

__all__ = ["Finding", "Severity", "WheelScanReport", "sort_findings"]


class Severity(StrEnum):
    """Finding severity, ordered from ``info`` to ``critical``."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 for ``info`` up to 4 for ``critical``."""
        return _RANKS[self]

    @classmethod
    def parse(cls, text: str) -> Severity:
        """Case-insensitive lookup; ``ValueError`` names the accepted values."""
        try:
            return cls(text.strip().lower())
        except ValueError:
            accepted = ", ".join(member.value for member in cls)
            raise ValueError(f"unknown severity {text!r}: use one of {accepted}") from None


_RANKS = {Severity.INFO: 0, Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 3, Severity.CRITICAL: 4}


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    """One suspicious thing a scanner saw: where, how bad, and the evidence."""

    rule_id: str
    severity: Severity
    file: str
    message: str
    scanner: str
    line: int | None = None
    offset: int | None = None
    evidence: str = ""


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Most severe first, then by file and position."""
    return sorted(findings, key=lambda f: (-f.severity.rank, f.file, f.line or 0, f.offset or 0, f.rule_id))


class WheelScanReport(msgspec.Struct, frozen=True, kw_only=True):
    """Everything one wheel scan found, plus which scanners ran and which could not."""

    project: str
    filename: str
    sha256: str
    findings: list[Finding]
    scanners: list[str]
    scanner_errors: dict[str, str] = msgspec.field(default_factory=dict)

    def highest(self) -> Severity | None:
        """The worst severity among the findings, or ``None`` when clean."""
        return max((f.severity for f in self.findings), key=lambda s: s.rank, default=None)

    def reaches(self, threshold: Severity) -> bool:
        """True when any finding is at or above ``threshold``."""
        return any(f.severity.rank >= threshold.rank for f in self.findings)
