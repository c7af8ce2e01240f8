"""The TenantStore contract, held by every backend: memory, SQLite, PostgreSQL and SQL Server."""

from __future__ import annotations

import pytest

from pyregistry_application.metadata_backend import MetadataBackend
from pyregistry_domain.errors import AlreadyExists, NotFound
from tests.contract.conftest import STORE_PARAMS
from tests.contract.metadata_builders import tenant

pytestmark = pytest.mark.parametrize("store_location", STORE_PARAMS, indirect=True)


def test_tenants_round_trip_and_unique_slug(store: MetadataBackend) -> None:
    store.tenants.add_tenant(tenant("acme"))
    store.tenants.add_tenant(tenant("globex"))
    assert store.tenants.get_tenant("t-acme") == tenant("acme")
    assert store.tenants.get_tenant_by_slug("globex") == tenant("globex")
    assert store.tenants.get_tenant("nope") is None
    assert [t.slug for t in store.tenants.list_tenants()] == ["acme", "globex"]
    with pytest.raises(AlreadyExists):
        store.tenants.add_tenant(tenant("acme", tenant_id="other-id"))
    store.tenants.set_tenant_mirroring("t-acme", True)
    assert store.tenants.get_tenant("t-acme").mirroring_enabled is True  # type: ignore[union-attr]
    with pytest.raises(NotFound):
        store.tenants.set_tenant_mirroring("missing", True)
