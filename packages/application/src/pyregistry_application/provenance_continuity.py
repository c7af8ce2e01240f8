"""The provenance-continuity hold of mirrored releases: which files are held, refusing them, releasing them.

A filter of its own, so it chains with the other serve-time filters of mirrored files (scan quarantine, cooldown):
pages leave held files out, downloads of them are refused with the reason, and an admin's release is audited.
"""

from __future__ import annotations

from collections.abc import Iterable

from pyregistry_application.audit import AuditTrail
from pyregistry_application.metadata_ports import CatalogueReader, TenantStore
from pyregistry_application.ports import Clock
from pyregistry_application.provenance_ports import ContinuityRelease, ProvenanceRecordStore, ProvenanceStatus
from pyregistry_domain.distributions import ReleaseFile
from pyregistry_domain.errors import Forbidden, NotFound, ValidationFailed
from pyregistry_domain.names import normalize_project_name
from pyregistry_domain.provenance_continuity import AttestedFile, continuity_holds
from pyregistry_domain.tenants import Tenant
from pyregistry_domain.versions import canonical_version

__all__ = ["HELD_ACTION", "POLICY_ACTION", "RELEASED_ACTION", "HeldByProvenance", "ProvenanceContinuity"]

RELEASED_ACTION = "mirror.provenance_hold_released"
POLICY_ACTION = "tenant.provenance_continuity"
HELD_ACTION = "mirror.provenance_held"


class HeldByProvenance(Forbidden):
    """A mirrored file held by provenance continuity that no admin released."""


class ProvenanceContinuity:
    """Decides, per tenant, which mirrored files provenance continuity holds (see
    :mod:`pyregistry_domain.provenance_continuity`); ``default`` applies to tenants without their own choice."""

    def __init__(
        self,
        tenants: TenantStore,
        catalogue: CatalogueReader,
        records: ProvenanceRecordStore,
        audit: AuditTrail,
        clock: Clock,
        *,
        default: bool,
    ) -> None:
        self._tenants = tenants
        self._catalogue = catalogue
        self._records = records
        self._audit = audit
        self._clock = clock
        self._default = default

    def enabled(self, tenant_id: str) -> bool:
        """Whether the policy applies to the tenant."""
        chosen = self._records.continuity(tenant_id)
        return self._default if chosen is None else chosen

    def held(self, tenant_id: str, files: Iterable[ReleaseFile]) -> dict[str, str]:
        """The held files among ``files`` (of one or more projects) by filename, with their reasons."""
        by_project: dict[str, list[ReleaseFile]] = {}
        for file in files:
            if file.is_mirrored:
                by_project.setdefault(file.normalized_name, []).append(file)
        if not by_project or not self.enabled(tenant_id):
            return {}
        held: dict[str, str] = {}
        for normalized in by_project:
            held.update(self.project_holds(tenant_id, normalized))
        return held

    def project_holds(self, tenant_id: str, normalized: str) -> dict[str, str]:
        """Every held file of a mirrored project (all its recorded files count as history), by filename."""
        records = self._records.project_provenance(tenant_id, normalized)
        attested = [
            AttestedFile(
                filename=file.filename,
                version=file.version,
                identity=(
                    record.identity
                    if (record := records.get(file.filename)) is not None
                    and record.status is ProvenanceStatus.VERIFIED
                    and record.sha256 == file.sha256
                    else None
                ),
            )
            for file in self._catalogue.list_files(tenant_id, normalized)
            if file.is_mirrored
        ]
        released = self._records.continuity_releases(tenant_id, normalized)
        return continuity_holds(attested, released.keys())

    def refuse_if_held(self, file: ReleaseFile) -> None:
        """Raise :class:`HeldByProvenance` with the reason when ``file`` is held in its tenant."""
        if not file.is_mirrored or not self.enabled(file.tenant_id):
            return
        reason = self.project_holds(file.tenant_id, file.normalized_name).get(file.filename)
        if reason is not None:
            raise HeldByProvenance(f"{reason}; an admin of the tenant can release version {file.version}")

    def release(
        self,
        tenant_slug: str,
        project: str,
        version: str,
        *,
        actor: str,
        reason: str,
        source_ip: str | None = None,
    ) -> ContinuityRelease:
        """Serve a held version from now on; audited as ``mirror.provenance_hold_released``."""
        if not reason.strip():
            raise ValidationFailed("a reason is required to release a version held by provenance continuity")
        tenant = self._tenant(tenant_slug)
        normalized, version = normalize_project_name(project), canonical_version(version)
        holds = self.project_holds(tenant.id, normalized)
        files = [file for file in self._catalogue.list_files(tenant.id, normalized) if file.version == version]
        if not any(file.filename in holds for file in files):
            raise ValidationFailed(f"{normalized} {version} is not held by provenance continuity in {tenant.slug!r}")
        release = ContinuityRelease(
            tenant_id=tenant.id,
            normalized_name=normalized,
            version=version,
            released_by=actor,
            reason=reason.strip(),
            released_at=self._clock.now(),
        )
        self._records.add_continuity_release(release)
        self._audit.record(
            actor=actor,
            action=RELEASED_ACTION,
            target=f"{normalized}=={version}",
            tenant_id=tenant.id,
            source_ip=source_ip,
            details={
                "reason": release.reason,
                "held": "; ".join(holds[f.filename] for f in files if f.filename in holds),
            },
        )
        return release

    def set_enabled(self, tenant_slug: str, enabled: bool | None, *, actor: str, source_ip: str | None = None) -> None:
        """Turn the policy on or off for a tenant (``None``: back to the configured default); audited."""
        tenant = self._tenant(tenant_slug)
        self._records.set_continuity(tenant.id, enabled)
        self._audit.record(
            actor=actor,
            action=POLICY_ACTION,
            target=tenant.slug,
            tenant_id=tenant.id,
            source_ip=source_ip,
            details={"continuity": "default" if enabled is None else ("on" if enabled else "off")},
        )

    def _tenant(self, tenant_slug: str) -> Tenant:
        tenant = self._tenants.get_tenant_by_slug(tenant_slug)
        if tenant is None:
            raise NotFound(f"tenant {tenant_slug!r} does not exist")
        return tenant
