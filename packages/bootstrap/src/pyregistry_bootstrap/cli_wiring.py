"""The few use cases that administrative commands need, wired over the metadata store alone.

Tenant, token and release commands use the same application use cases as the admin UI, without the web,
mirroring, publishing or security wiring, so they start quickly and import no driver they do not use.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pyregistry_application.admin_access import AdminAuthorization
from pyregistry_application.admin_releases import ReleaseAdministration
from pyregistry_application.audit import AuditTrail
from pyregistry_application.backup_ports import MetadataArchive
from pyregistry_application.mirror_scanning import ScanBeforeServe
from pyregistry_application.ports import RegistryStore
from pyregistry_application.project_status import ProjectStatusAdministration, ProjectStatusRecorder
from pyregistry_application.provenance_continuity import ProvenanceContinuity
from pyregistry_application.session_revocation import SessionRevocation
from pyregistry_application.tenant_people import TenantPeople
from pyregistry_application.tenants import TenantAdministration
from pyregistry_application.tokens import TokenIssuer
from pyregistry_bootstrap.store_wiring import build_store, open_existing_store
from pyregistry_domain.users import User
from pyregistry_infrastructure.config import ConfigError
from pyregistry_infrastructure.settings import Settings
from pyregistry_infrastructure.system import RandomIds, ScryptPasswordHasher, SystemClock

__all__ = ["CLI_ACTOR", "CLI_USER", "AdminCommands", "admin_commands", "metadata_archive"]

CLI_ACTOR = "cli"
CLI_USER = User(
    id=CLI_ACTOR, email=CLI_ACTOR, password_hash="", is_superadmin=True, created_at=datetime(1970, 1, 1, tzinfo=UTC)
)
"""Who the command line acts as: an operator with shell access to the registry is its superadmin; the audit trail
records the actor ``cli``."""


@dataclass(slots=True)
class AdminCommands:
    """Use cases over one opened metadata store."""

    settings: Settings
    store: RegistryStore
    tenants: TenantAdministration
    tokens: TokenIssuer
    people: TenantPeople
    authorization: AdminAuthorization
    audit: AuditTrail
    statuses: ProjectStatusAdministration

    def sessions(self) -> SessionRevocation:
        """Revoking admin sessions, on the metadata store's own session table."""
        from pyregistry_bootstrap.wiring import build_session_store

        return SessionRevocation(self.store, build_session_store(self.store), SystemClock(), self.audit)

    def releases(self) -> ReleaseAdministration:
        """Yank and purge; opens the artifact storage, whose blobs a purge removes."""
        from pyregistry_bootstrap.wiring import build_storage

        return ReleaseAdministration(self.store, build_storage(self.settings), self.authorization, self.audit)

    def scan_gate(self) -> ScanBeforeServe | None:
        """Scan before serve over this store (``None`` when ``security.mirror_scan_enabled`` is off)."""
        from pyregistry_bootstrap.scan_wiring import build_scan_gate

        return build_scan_gate(self.settings.security, self.store, self.audit, SystemClock())

    def continuity(self) -> ProvenanceContinuity:
        """The provenance-continuity policy over this store (its records live in the same database)."""
        from pyregistry_bootstrap.mirror_wiring import build_provenance_records

        default = self.settings.security.provenance_continuity
        records = build_provenance_records(self.store)
        return ProvenanceContinuity(self.store, records, self.audit, SystemClock(), default=default)


def admin_commands(settings: Settings, *, create: bool = False) -> AdminCommands:
    """Wire the administrative use cases; unless ``create``, the store must exist already (nothing is created)."""
    store = build_store(settings) if create else open_existing_store(settings)
    clock = SystemClock()
    ids = RandomIds()
    audit = AuditTrail(store, clock, ids)
    hasher = ScryptPasswordHasher()
    return AdminCommands(
        settings=settings,
        store=store,
        tenants=TenantAdministration(store, clock, ids, hasher, audit),
        tokens=TokenIssuer(store, clock, ids, audit),
        people=TenantPeople(store, clock, ids, hasher, audit),
        authorization=AdminAuthorization(store),
        audit=audit,
        statuses=ProjectStatusAdministration(
            store, AdminAuthorization(store), ProjectStatusRecorder(store, audit, clock)
        ),
    )


def metadata_archive(settings: Settings, store: RegistryStore) -> MetadataArchive:
    """Table export and load over the configured SQL store; the in-memory store holds nothing worth backing up."""
    from pyregistry_infrastructure.stores.sql_archive import SqlMetadataArchive
    from pyregistry_infrastructure.stores.sql_base import SqlRegistryStore

    if not isinstance(store, SqlRegistryStore):
        raise ConfigError(
            f"key 'database_store': {settings.database_store!r} keeps nothing on disk; backup and restore need "
            "sqlite, postgres or sqlserver"
        )
    return SqlMetadataArchive(store)
