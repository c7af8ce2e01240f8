"""In-memory tenants."""

from __future__ import annotations

from dataclasses import replace

from pyregistry_domain.errors import AlreadyExists, NotFound
from pyregistry_domain.tenants import Tenant
from pyregistry_infrastructure.metadata_stores.memory_state import MemoryState

__all__ = ["MemoryTenantStore"]


class MemoryTenantStore:
    """Implements ``TenantStore`` on a :class:`MemoryState`."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state

    def add_tenant(self, tenant: Tenant) -> None:
        with self._state.lock:
            if tenant.id in self._state.tenants or any(t.slug == tenant.slug for t in self._state.tenants.values()):
                raise AlreadyExists(f"tenant {tenant.slug!r} already exists")
            self._state.tenants[tenant.id] = tenant

    def get_tenant(self, tenant_id: str) -> Tenant | None:
        return self._state.tenants.get(tenant_id)

    def get_tenant_by_slug(self, slug: str) -> Tenant | None:
        with self._state.lock:
            return next((tenant for tenant in self._state.tenants.values() if tenant.slug == slug), None)

    def list_tenants(self) -> list[Tenant]:
        with self._state.lock:
            return sorted(self._state.tenants.values(), key=lambda tenant: tenant.slug)

    def set_tenant_mirroring(self, tenant_id: str, enabled: bool) -> None:
        with self._state.lock:
            tenant = self._state.tenants.get(tenant_id)
            if tenant is None:
                raise NotFound(f"tenant {tenant_id!r} does not exist")
            self._state.tenants[tenant_id] = replace(tenant, mirroring_enabled=enabled)
