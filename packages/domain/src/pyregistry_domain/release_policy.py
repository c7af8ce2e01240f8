"""Release policies for a tenant's upstream (mirrored) files: the cooldown (minimum release age) with early
approvals, the scan block severity and the vulnerability policy. Pure values and decisions."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from pyregistry_domain.errors import ValidationFailed

__all__ = [
    "POLICY_FIELDS",
    "SEVERITY_NAMES",
    "CooldownHold",
    "PolicyOverride",
    "ReleaseApproval",
    "ReleasePolicy",
    "UnknownUploadTime",
    "VulnerabilityAction",
    "cooldown_hold",
    "format_duration",
    "parse_duration",
    "severity_rank",
]

SEVERITY_NAMES = ("info", "low", "medium", "high", "critical")
"""Severity names from least to most severe (the scanners' and the advisories' common scale)."""

_UNITS = {
    "w": timedelta(weeks=1),
    "d": timedelta(days=1),
    "h": timedelta(hours=1),
    "m": timedelta(minutes=1),
    "s": timedelta(seconds=1),
}
POLICY_FIELDS = (
    "min_release_age",
    "unknown_upload_time",
    "block_severity",
    "vulnerability_action",
    "vulnerability_severity",
)
"""The settings a tenant can override, by name."""
_DURATION_RE = re.compile(r"(\d{1,6})([wdhms])")
MAX_DURATION = timedelta(days=3650)
_E = TypeVar("_E", bound=StrEnum)


def parse_duration(text: str) -> timedelta:
    """``"0"``, ``"7d"``, ``"36h"``, ``"1d12h"``, ``"2w"``, ``"90m"``, ``"30s"``: units w, d, h, m, s, largest
    first, each at most once; :class:`ValidationFailed` names the accepted shape otherwise."""
    cleaned = text.strip().lower().replace(" ", "")
    if cleaned == "0":
        return timedelta(0)
    bad = ValidationFailed(
        f"invalid duration {text!r}: use a number and a unit (w, d, h, m, s), e.g. 7d, 36h, 1d12h or 0"
    )
    parts = _DURATION_RE.findall(cleaned)
    if not cleaned or "".join(number + unit for number, unit in parts) != cleaned:
        raise bad
    units = [unit for _, unit in parts]
    order = list(_UNITS)
    if len(set(units)) != len(units) or units != sorted(units, key=order.index):
        raise bad
    total = sum((int(number) * _UNITS[unit] for number, unit in parts), timedelta(0))
    if total > MAX_DURATION:
        raise ValidationFailed(f"duration {text!r} is longer than {MAX_DURATION.days} days")
    return total


def format_duration(value: timedelta) -> str:
    """The shortest text :func:`parse_duration` reads back as ``value`` (whole seconds; ``"0"`` for none)."""
    seconds = int(value.total_seconds())
    if seconds <= 0:
        return "0"
    parts = []
    for unit, size in _UNITS.items():
        if unit == "w":
            continue
        count, seconds = divmod(seconds, int(size.total_seconds()))
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def severity_rank(name: str) -> int:
    """0 for ``info`` up to 4 for ``critical``; :class:`ValidationFailed` names the accepted values."""
    try:
        return SEVERITY_NAMES.index(name.strip().lower())
    except ValueError:
        raise ValidationFailed(f"unknown severity {name!r}: use one of {', '.join(SEVERITY_NAMES)}") from None


class UnknownUploadTime(StrEnum):
    """What the cooldown does with an upstream file whose upload time the upstream did not give."""

    HOLD = "hold"
    ALLOW = "allow"


class VulnerabilityAction(StrEnum):
    """What the vulnerability policy does with an upstream version affected at or above its severity."""

    OFF = "off"
    MARK = "mark"
    HIDE = "hide"


def _choice(kind: type[_E], text: str, what: str) -> _E:
    try:
        return kind(text.strip().lower())
    except ValueError:
        raise ValidationFailed(f"invalid {what} {text!r}: use one of {', '.join(kind)}") from None


@dataclass(frozen=True, slots=True)
class ReleasePolicy:
    """The policy in force for a tenant (configuration defaults with the tenant's overrides applied)."""

    min_release_age: timedelta = timedelta(0)
    unknown_upload_time: UnknownUploadTime = UnknownUploadTime.HOLD
    block_severity: str = "critical"
    vulnerability_action: VulnerabilityAction = VulnerabilityAction.OFF
    vulnerability_severity: str = "high"

    @property
    def cooldown_enabled(self) -> bool:
        """True when upstream files have to reach an age before they are offered."""
        return self.min_release_age > timedelta(0)


@dataclass(frozen=True, slots=True)
class PolicyOverride:
    """A tenant's own settings, as text; ``None`` keeps the configuration default."""

    min_release_age: str | None = None
    unknown_upload_time: str | None = None
    block_severity: str | None = None
    vulnerability_action: str | None = None
    vulnerability_severity: str | None = None

    def validated(self) -> PolicyOverride:
        """The same override in canonical spelling; :class:`ValidationFailed` for the first invalid value."""
        return PolicyOverride(
            min_release_age=None
            if self.min_release_age is None
            else format_duration(parse_duration(self.min_release_age)),
            unknown_upload_time=None
            if self.unknown_upload_time is None
            else _choice(UnknownUploadTime, self.unknown_upload_time, "unknown upload time rule").value,
            block_severity=None if self.block_severity is None else SEVERITY_NAMES[severity_rank(self.block_severity)],
            vulnerability_action=None
            if self.vulnerability_action is None
            else _choice(VulnerabilityAction, self.vulnerability_action, "vulnerability action").value,
            vulnerability_severity=None
            if self.vulnerability_severity is None
            else SEVERITY_NAMES[severity_rank(self.vulnerability_severity)],
        )

    def merged(self, changes: PolicyOverride, cleared: frozenset[str] = frozenset()) -> PolicyOverride:
        """This override with the values ``changes`` sets, and the fields named in ``cleared`` back to default."""
        result = replace(self, **{name: None for name in cleared})
        return replace(
            result,
            **{name: value for name in POLICY_FIELDS if (value := getattr(changes, name)) is not None},
        )

    def applied_to(self, defaults: ReleasePolicy) -> ReleasePolicy:
        """``defaults`` with this override's values (which must be valid) in place."""
        valid = self.validated()
        return ReleasePolicy(
            min_release_age=defaults.min_release_age
            if valid.min_release_age is None
            else parse_duration(valid.min_release_age),
            unknown_upload_time=defaults.unknown_upload_time
            if valid.unknown_upload_time is None
            else UnknownUploadTime(valid.unknown_upload_time),
            block_severity=valid.block_severity or defaults.block_severity,
            vulnerability_action=defaults.vulnerability_action
            if valid.vulnerability_action is None
            else VulnerabilityAction(valid.vulnerability_action),
            vulnerability_severity=valid.vulnerability_severity or defaults.vulnerability_severity,
        )

    def as_dict(self) -> dict[str, str]:
        """The fields that are set, by name (for the audit trail)."""
        return {name: value for name in POLICY_FIELDS if (value := getattr(self, name)) is not None}


@dataclass(frozen=True, slots=True)
class ReleaseApproval:
    """An admin's early approval of a whole upstream project (``version`` ``None``) or of one version."""

    id: str
    tenant_id: str
    project: str
    version: str | None
    reason: str
    approved_by: str
    approved_at: datetime

    def covers(self, project: str, version: str) -> bool:
        """True for ``version`` of ``project`` (names normalized, versions canonical)."""
        return self.project == project and (self.version is None or self.version == version)


@dataclass(frozen=True, slots=True)
class CooldownHold:
    """Why an upstream file is not offered yet: it clears at ``clears_at`` (``None``: its upload time is unknown)."""

    min_release_age: timedelta
    clears_at: datetime | None

    def message(self, filename: str) -> str:
        """The refusal a client sees, naming the policy and when the file clears."""
        policy = f"the tenant's release cooldown policy (min_release_age = {format_duration(self.min_release_age)})"
        if self.clears_at is None:
            return (
                f"{filename} is held by {policy}: the upstream gave no upload time, so it never clears on its own; "
                "an admin can approve it early"
            )
        clears = self.clears_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return f"{filename} is held by {policy} until {clears} (UTC); an admin can approve it early"


def cooldown_hold(policy: ReleasePolicy, uploaded_at: datetime | None, now: datetime) -> CooldownHold | None:
    """The hold on an upstream file uploaded at ``uploaded_at`` (``None``: unknown), or ``None`` when it is
    offered. Approvals are the caller's: an approved file is never held."""
    if not policy.cooldown_enabled:
        return None
    if uploaded_at is None:
        if policy.unknown_upload_time is UnknownUploadTime.ALLOW:
            return None
        return CooldownHold(policy.min_release_age, None)
    clears_at = uploaded_at + policy.min_release_age
    return CooldownHold(policy.min_release_age, clears_at) if now < clears_at else None
