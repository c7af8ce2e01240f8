"""The few use cases that administrative commands need, wired over the metadata store alone.

Tenant, token and release commands use the same application use cases as the admin UI, without the web,
mirroring, publishing or security wiring, so they start quickly and import no driver they do not use.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyregistry_application.admin_access import AdminAuthorization
from pyregistry_application.admin_releases import ReleaseAdministration
from pyregistry_application.audit import AuditTrail
from pyregistry_application.backup_ports import MetadataArchive
from pyregistry_application.metadata_backend import MetadataBackend
from pyregistry_application.mirror_scanning import ScanBeforeServe
from pyregistry_application.project_status import ProjectStatusAdministration, ProjectStatusRecorder
from pyregistry_application.provenance_continuity import ProvenanceContinuity
from pyregistry_application.release_policy import ReleasePolicies
from pyregistry_application.session_revocation import SessionRevocation
from pyregistry_application.tenant_people import TenantPeople
from pyregistry_application.tenants import TenantAdministration
from pyregistry_application.tokens import TokenIssuer
from pyregistry_bootstrap.store_wiring import build_backend, open_existing_backend
from pyregistry_infrastructure.config import ConfigError
from pyregistry_infrastructure.settings import Settings
from pyregistry_infrastructure.system import RandomIds, ScryptPasswordHasher, SystemClock

__all__ = ["AdminCommands", "admin_commands", "metadata_archive"]


@dataclass(slots=True)
class AdminCommands:
    """Use cases over one opened metadata backend."""

    settings: Settings
    metadata: MetadataBackend
    tenants: TenantAdministration
    tokens: TokenIssuer
    people: TenantPeople
    authorization: AdminAuthorization
    audit: AuditTrail
    statuses: ProjectStatusAdministration

    def sessions(self) -> SessionRevocation:
        """Revoking admin sessions, on the metadata store's own session table."""
        return SessionRevocation(self.metadata.users, self.metadata.sessions, SystemClock(), self.audit)

    def releases(self) -> ReleaseAdministration:
        """Yank and purge; opens the artifact storage, whose blobs a purge removes."""
        from pyregistry_bootstrap.wiring import build_storage

        storage = build_storage(self.settings)
        return ReleaseAdministration(self.metadata.catalogue, storage, self.authorization, self.audit)

    def release_policies(self) -> ReleasePolicies:
        """The release policies' administration (overrides and approvals) over this store."""
        from pyregistry_bootstrap.policy_wiring import build_release_policies

        return build_release_policies(self.settings, self.metadata, SystemClock(), RandomIds(), self.audit)

    def scan_gate(self) -> ScanBeforeServe | None:
        """Scan before serve over this store, with each tenant's block severity (``None`` when
        ``security.mirror_scan_enabled`` is off)."""
        from pyregistry_bootstrap.scan_wiring import build_scan_gate

        return build_scan_gate(
            self.settings.security, self.metadata, self.audit, SystemClock(), self.release_policies()
        )

    def continuity(self) -> ProvenanceContinuity:
        """The provenance-continuity policy over this store (its records live in the same database)."""
        default = self.settings.security.provenance_continuity
        metadata = self.metadata
        return ProvenanceContinuity(
            metadata.tenants,
            metadata.catalogue,
            metadata.provenance_records,
            self.audit,
            SystemClock(),
            default=default,
        )


def admin_commands(settings: Settings, *, create: bool = False) -> AdminCommands:
    """Wire the administrative use cases; unless ``create``, the store must exist already (nothing is created)."""
    store = build_backend(settings) if create else open_existing_backend(settings)
    clock = SystemClock()
    ids = RandomIds()
    audit = AuditTrail(store.audit_log, clock, ids)
    hasher = ScryptPasswordHasher()
    return AdminCommands(
        settings=settings,
        metadata=store,
        tenants=TenantAdministration(store.tenants, store.users, clock, ids, hasher, audit),
        tokens=TokenIssuer(store.tenants, store.tokens, clock, ids, audit),
        people=TenantPeople(store.tenants, store.users, clock, ids, hasher, audit),
        authorization=AdminAuthorization(store.tenants),
        audit=audit,
        statuses=ProjectStatusAdministration(
            store.catalogue, AdminAuthorization(store.tenants), ProjectStatusRecorder(store.catalogue, audit, clock)
        ),
    )


def metadata_archive(settings: Settings, store: MetadataBackend) -> MetadataArchive:
    """Table export and load over the configured SQL backend; the in-memory one holds nothing worth backing up."""
    if store.archive is None:
        raise ConfigError(
            f"key 'database_store': {settings.database_store!r} keeps nothing on disk; backup and restore need "
            "sqlite, postgres or sqlserver"
        )
    return store.archive
