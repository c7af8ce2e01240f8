"""Release policies per tenant for upstream (mirrored) files: the cooldown with early approvals, the scan block
severity, and the vulnerability policy. Pages offer only what the policies allow and downloads of the rest are
refused with the reason; every change of a policy or an approval is audited."""

from __future__ import annotations

import msgspec

from pyregistry_application.audit import AuditTrail
from pyregistry_application.metadata_ports import TenantStore
from pyregistry_application.ports import Clock, IdGenerator
from pyregistry_application.release_policy_ports import ReleasePolicyStore
from pyregistry_application.security.advisory_severity import advisory_severity
from pyregistry_application.security.findings import Severity
from pyregistry_application.security.ports import VulnerabilitySource
from pyregistry_domain.distributions import ReleaseFile
from pyregistry_domain.errors import Forbidden, NotFound, ValidationFailed
from pyregistry_domain.names import normalize_project_name, validate_project_name
from pyregistry_domain.project_status import is_malware_advisory
from pyregistry_domain.release_policy import (
    POLICY_FIELDS,
    PolicyOverride,
    ReleaseApproval,
    ReleasePolicy,
    VulnerabilityAction,
    cooldown_hold,
    format_duration,
    severity_rank,
)
from pyregistry_domain.tenants import Tenant
from pyregistry_domain.versions import canonical_version

__all__ = [
    "APPROVAL_REVOKED_ACTION",
    "POLICY_CHANGED_ACTION",
    "RELEASE_APPROVED_ACTION",
    "PolicySettings",
    "ReleaseHeld",
    "ReleasePolicies",
    "ScreenedFiles",
    "TenantPolicy",
    "VersionHidden",
    "VulnerabilityMark",
    "policy_settings",
]

POLICY_CHANGED_ACTION = "policy.changed"
RELEASE_APPROVED_ACTION = "policy.release_approved"
APPROVAL_REVOKED_ACTION = "policy.approval_revoked"
MAX_REASON_LENGTH = 500


class ReleaseHeld(Forbidden):
    """An upstream file is inside the tenant's cooldown and no approval covers it."""


class VersionHidden(Forbidden):
    """An upstream version is hidden by the tenant's vulnerability policy."""


class VulnerabilityMark(msgspec.Struct, frozen=True, kw_only=True):
    """One advisory at or above the tenant's vulnerability severity affecting an offered version."""

    id: str
    summary: str
    severity: str
    aliases: list[str]
    fixed_versions: list[str]


class ScreenedFiles(msgspec.Struct, frozen=True, kw_only=True):
    """A project's files after the policies: what is offered, why the rest is not, and the marked versions."""

    files: list[ReleaseFile]
    held: dict[str, str] = msgspec.field(default_factory=dict)
    """Filename -> why the cooldown holds it."""
    hidden_versions: list[str] = msgspec.field(default_factory=list)
    """Versions with upstream files of which none is offered."""
    marks: dict[str, list[VulnerabilityMark]] = msgspec.field(default_factory=dict)
    """Version -> the advisories the ``mark`` vulnerability policy shows for it."""


class PolicySettings(msgspec.Struct, frozen=True, kw_only=True):
    """One policy as text: ``min_release_age`` like ``7d``, the others by their names."""

    min_release_age: str
    unknown_upload_time: str
    block_severity: str
    vulnerability_action: str
    vulnerability_severity: str


def policy_settings(policy: ReleasePolicy) -> PolicySettings:
    """``policy`` spelled as the configuration and the forms spell it."""
    return PolicySettings(
        min_release_age=format_duration(policy.min_release_age),
        unknown_upload_time=policy.unknown_upload_time.value,
        block_severity=policy.block_severity,
        vulnerability_action=policy.vulnerability_action.value,
        vulnerability_severity=policy.vulnerability_severity,
    )


class TenantPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """A tenant's policy: the configuration defaults, its own overrides, the effective result and approvals."""

    tenant: str
    defaults: PolicySettings
    overrides: dict[str, str]
    effective: PolicySettings
    approvals: list[ReleaseApproval]


def _mark(advisory_id: str, summary: str, severity: str, aliases: list[str], fixed: list[str]) -> VulnerabilityMark:
    return VulnerabilityMark(id=advisory_id, summary=summary, severity=severity, aliases=aliases, fixed_versions=fixed)


class ReleasePolicies:
    """The policies of every tenant: screening of pages and downloads, and their administration."""

    def __init__(
        self,
        tenants: TenantStore,
        policies: ReleasePolicyStore,
        defaults: ReleasePolicy,
        clock: Clock,
        ids: IdGenerator,
        audit: AuditTrail,
        advisories: VulnerabilitySource | None = None,
    ) -> None:
        self._tenants = tenants
        self._policies = policies
        self._defaults = defaults
        self._clock = clock
        self._ids = ids
        self._audit = audit
        self._advisories = advisories

    @property
    def defaults(self) -> ReleasePolicy:
        """The configuration defaults."""
        return self._defaults

    def effective(self, tenant_id: str) -> ReleasePolicy:
        """The defaults with the tenant's overrides applied."""
        return self._policies.get_override(tenant_id).applied_to(self._defaults)

    def block_severity(self, tenant_id: str) -> Severity:
        """The scan severity at or above which a mirrored file is quarantined in the tenant."""
        return Severity.parse(self.effective(tenant_id).block_severity)

    # screening

    def screen(self, tenant_id: str, normalized: str, files: list[ReleaseFile]) -> ScreenedFiles:
        """``files`` of one project without the upstream files the tenant's policies hold or hide; local files
        are never held."""
        policy = self.effective(tenant_id)
        mirrored = [file for file in files if file.is_mirrored]
        if not mirrored or (not policy.cooldown_enabled and policy.vulnerability_action is VulnerabilityAction.OFF):
            return ScreenedFiles(files=files)
        held = self._held(tenant_id, normalized, mirrored, policy)
        vulnerable = self._vulnerable(normalized, {file.version for file in mirrored}, policy)
        hidden = set(vulnerable) if policy.vulnerability_action is VulnerabilityAction.HIDE else set()
        offered = [
            file for file in files if file.is_local or (file.filename not in held and file.version not in hidden)
        ]
        offered_versions = {file.version for file in offered}
        gone = sorted({file.version for file in mirrored} - offered_versions)
        marks = vulnerable if policy.vulnerability_action is VulnerabilityAction.MARK else {}
        return ScreenedFiles(files=offered, held=held, hidden_versions=gone, marks=marks)

    def refuse_download(self, file: ReleaseFile) -> None:
        """Raise :class:`ReleaseHeld` or :class:`VersionHidden`, naming the policy, when the tenant's policies keep
        the upstream ``file`` from clients."""
        if file.is_local:
            return
        policy = self.effective(file.tenant_id)
        held = self._held(file.tenant_id, file.normalized_name, [file], policy) if policy.cooldown_enabled else {}
        if file.filename in held:
            raise ReleaseHeld(held[file.filename])
        if policy.vulnerability_action is VulnerabilityAction.HIDE:
            found = self._vulnerable(file.normalized_name, {file.version}, policy).get(file.version)
            if found:
                ids = ", ".join(mark.id for mark in found)
                raise VersionHidden(
                    f"{file.filename} is hidden by the tenant's vulnerability policy (hide versions with advisories "
                    f"at or above {policy.vulnerability_severity}): {ids}"
                )

    def _held(self, tenant_id: str, normalized: str, files: list[ReleaseFile], policy: ReleasePolicy) -> dict[str, str]:
        if not policy.cooldown_enabled:
            return {}
        approvals = [
            approval for approval in self._policies.list_approvals(tenant_id) if approval.project == normalized
        ]
        times = self._policies.upload_times([file.filename for file in files])
        now = self._clock.now()
        held = {}
        for file in files:
            if any(approval.covers(normalized, file.version) for approval in approvals):
                continue
            hold = cooldown_hold(policy, times.get(file.filename), now)
            if hold is not None:
                held[file.filename] = hold.message(file.filename)
        return held

    def _vulnerable(
        self, normalized: str, versions: set[str], policy: ReleasePolicy
    ) -> dict[str, list[VulnerabilityMark]]:
        source = self._advisories
        if policy.vulnerability_action is VulnerabilityAction.OFF or source is None or not source.configured:
            return {}
        threshold = severity_rank(policy.vulnerability_severity)
        relevant = {
            advisory.id: severity
            for advisory in source.advisories_for(normalized)
            if not is_malware_advisory(advisory.id)
            and severity_rank(severity := advisory_severity(advisory.record)) >= threshold
        }
        found: dict[str, list[VulnerabilityMark]] = {}
        if not relevant:
            return found  # the common case: no advisory of the project reaches the severity, no version is matched
        for version in sorted(versions):
            marks = [
                _mark(advisory.id, advisory.summary, relevant[advisory.id], advisory.aliases, advisory.fixed_versions)
                for advisory in source.query(normalized, version)
                if advisory.id in relevant
            ]
            if marks:
                found[version] = marks
        return found

    # administration (the caller checked the actor may manage the tenant's settings)

    def tenant_policy(self, tenant_slug: str) -> TenantPolicy:
        """The tenant's defaults, overrides, effective policy and approvals."""
        tenant = self._tenant(tenant_slug)
        override = self._policies.get_override(tenant.id)
        return TenantPolicy(
            tenant=tenant.slug,
            defaults=policy_settings(self._defaults),
            overrides=override.as_dict(),
            effective=policy_settings(override.applied_to(self._defaults)),
            approvals=self._policies.list_approvals(tenant.id),
        )

    def change(
        self,
        tenant_slug: str,
        changes: PolicyOverride,
        *,
        actor: str,
        cleared: frozenset[str] = frozenset(),
        source_ip: str | None = None,
    ) -> TenantPolicy:
        """Set the overrides ``changes`` names and return those in ``cleared`` to the default; audited as
        ``policy.changed`` with the old and new values of what changed."""
        unknown = sorted(cleared - set(POLICY_FIELDS))
        if unknown:
            raise ValidationFailed(f"unknown policy setting {unknown[0]!r}: use one of {', '.join(POLICY_FIELDS)}")
        tenant = self._tenant(tenant_slug)
        before = self._policies.get_override(tenant.id)
        after = before.merged(changes.validated(), cleared)
        old, new = before.as_dict(), after.as_dict()
        changed = sorted(name for name in POLICY_FIELDS if old.get(name) != new.get(name))
        if changed:
            self._policies.put_override(tenant.id, after)
            self._audit.record(
                actor=actor,
                action=POLICY_CHANGED_ACTION,
                target=tenant.slug,
                tenant_id=tenant.id,
                source_ip=source_ip,
                details={name: f"{old.get(name, 'default')} -> {new.get(name, 'default')}" for name in changed},
            )
        return self.tenant_policy(tenant.slug)

    def approve(
        self,
        tenant_slug: str,
        project: str,
        version: str | None,
        reason: str,
        *,
        actor: str,
        source_ip: str | None = None,
    ) -> ReleaseApproval:
        """Offer a project's upstream files (or one version's) before the cooldown clears them; audited as
        ``policy.release_approved``."""
        reason = reason.strip()
        if not reason:
            raise ValidationFailed("a reason is required to approve a release early")
        if len(reason) > MAX_REASON_LENGTH:
            raise ValidationFailed(f"the reason is longer than {MAX_REASON_LENGTH} characters")
        tenant = self._tenant(tenant_slug)
        normalized = normalize_project_name(validate_project_name(project.strip()))
        canonical = canonical_version(version.strip()) if version and version.strip() else None
        approval = ReleaseApproval(
            id=self._ids.new_id(),
            tenant_id=tenant.id,
            project=normalized,
            version=canonical,
            reason=reason,
            approved_by=actor,
            approved_at=self._clock.now(),
        )
        self._policies.add_approval(approval)
        self._audit.record(
            actor=actor,
            action=RELEASE_APPROVED_ACTION,
            target=f"{normalized}/{canonical}" if canonical else normalized,
            tenant_id=tenant.id,
            source_ip=source_ip,
            details={"approval": approval.id, "version": canonical or "every version", "reason": reason},
        )
        return approval

    def approvals(self, tenant_slug: str, project: str | None = None) -> list[ReleaseApproval]:
        """The tenant's approvals (of one project when ``project`` is given), newest first."""
        tenant = self._tenant(tenant_slug)
        listed = self._policies.list_approvals(tenant.id)
        if project is None:
            return listed
        normalized = normalize_project_name(project)
        return [approval for approval in listed if approval.project == normalized]

    def revoke(
        self, tenant_slug: str, approval_id: str, *, actor: str, source_ip: str | None = None
    ) -> ReleaseApproval:
        """Withdraw an approval (its files are held again until they clear); audited as ``policy.approval_revoked``."""
        tenant = self._tenant(tenant_slug)
        removed = self._policies.remove_approval(tenant.id, approval_id)
        if removed is None:
            raise NotFound(f"approval {approval_id!r} does not exist in tenant {tenant.slug!r}")
        self._audit.record(
            actor=actor,
            action=APPROVAL_REVOKED_ACTION,
            target=f"{removed.project}/{removed.version}" if removed.version else removed.project,
            tenant_id=tenant.id,
            source_ip=source_ip,
            details={"approval": removed.id, "reason": removed.reason},
        )
        return removed

    def _tenant(self, slug: str) -> Tenant:
        tenant = self._tenants.get_tenant_by_slug(slug)
        if tenant is None:
            raise NotFound(f"tenant {slug!r} does not exist")
        return tenant
