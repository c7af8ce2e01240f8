"""Tenants in portable SQL."""

from __future__ import annotations

from pyregistry_domain.errors import AlreadyExists, NotFound
from pyregistry_domain.tenants import Tenant
from pyregistry_infrastructure.metadata_stores.rows import dump_time, tenant_from_row
from pyregistry_infrastructure.metadata_stores.sql_base import SqlDatabase

__all__ = ["SqlTenantStore"]


class SqlTenantStore:
    """Implements ``TenantStore`` on any :class:`SqlDatabase`."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    def add_tenant(self, tenant: Tenant) -> None:
        try:
            with self._db.write() as conn:
                conn.execute(
                    "INSERT INTO tenants (id, slug, display_name, mirroring_enabled, created_at) VALUES (?,?,?,?,?)",
                    (
                        tenant.id,
                        tenant.slug,
                        tenant.display_name,
                        int(tenant.mirroring_enabled),
                        dump_time(tenant.created_at),
                    ),
                )
        except self._db.dialect.integrity_errors:
            raise AlreadyExists(f"tenant {tenant.slug!r} already exists") from None

    def get_tenant(self, tenant_id: str) -> Tenant | None:
        row = self._db.row("SELECT * FROM tenants WHERE id = ?", (tenant_id,))
        return tenant_from_row(row) if row else None

    def get_tenant_by_slug(self, slug: str) -> Tenant | None:
        row = self._db.row("SELECT * FROM tenants WHERE slug = ?", (slug,))
        return tenant_from_row(row) if row else None

    def list_tenants(self) -> list[Tenant]:
        return [tenant_from_row(row) for row in self._db.rows("SELECT * FROM tenants ORDER BY slug")]

    def set_tenant_mirroring(self, tenant_id: str, enabled: bool) -> None:
        with self._db.write() as conn:
            cursor = conn.execute("UPDATE tenants SET mirroring_enabled = ? WHERE id = ?", (int(enabled), tenant_id))
            if cursor.rowcount == 0:
                raise NotFound(f"tenant {tenant_id!r} does not exist")
