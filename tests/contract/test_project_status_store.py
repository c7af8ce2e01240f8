"""Project status markers (PEP 792) in every MetadataBackend adapter: memory, SQLite, PostgreSQL and SQL Server."""

from __future__ import annotations

import pytest

from pyregistry_application.metadata_backend import MetadataBackend
from pyregistry_domain.project_status import ACTIVE, ProjectStatus, ProjectStatusKind
from tests.contract.conftest import STORE_PARAMS
from tests.contract.metadata_builders import T0, publish, tenant

pytestmark = pytest.mark.parametrize("store_location", STORE_PARAMS, indirect=True)

ARCHIVED = ProjectStatus(ProjectStatusKind.ARCHIVED, "moved to tools-ng")
QUARANTINED = ProjectStatus(ProjectStatusKind.QUARANTINED, "MAL-2026-1")


def test_status_defaults_to_active_and_round_trips_per_tenant(store: MetadataBackend) -> None:
    store.tenants.add_tenant(tenant("acme"))
    store.tenants.add_tenant(tenant("beta"))
    publish(store, "t-acme", "tools", "1.0")
    publish(store, "t-beta", "tools", "1.0")
    assert store.catalogue.get_project_status("t-acme", "tools") == ACTIVE
    assert store.catalogue.list_project_statuses("t-acme") == {}

    store.catalogue.set_project_status("t-acme", "tools", ARCHIVED, T0)
    store.catalogue.set_project_status("t-beta", "tools", ProjectStatus(ProjectStatusKind.DEPRECATED), T0)

    assert store.catalogue.get_project_status("t-acme", "tools") == ARCHIVED
    assert store.catalogue.get_project_status("t-beta", "tools") == ProjectStatus(ProjectStatusKind.DEPRECATED, None)
    assert store.catalogue.list_project_statuses("t-acme") == {"tools": ARCHIVED}
    assert store.catalogue.list_project_statuses("t-beta") == {
        "tools": ProjectStatus(ProjectStatusKind.DEPRECATED, None)
    }


def test_changing_status_replaces_it_and_bumps_the_serial(store: MetadataBackend) -> None:
    store.tenants.add_tenant(tenant("acme"))
    publish(store, "t-acme", "tools", "1.0")
    serials = [store.catalogue.get_project("t-acme", "tools").serial]  # type: ignore[union-attr]
    for status in (ARCHIVED, QUARANTINED, ACTIVE):
        store.catalogue.set_project_status("t-acme", "tools", status, T0)
        serials.append(store.catalogue.get_project("t-acme", "tools").serial)  # type: ignore[union-attr]
        assert store.catalogue.get_project_status("t-acme", "tools") == status
    assert serials == sorted(set(serials))
    assert store.catalogue.list_project_statuses("t-acme") == {}


def test_status_of_a_name_without_project_outlives_a_purge(store: MetadataBackend) -> None:
    store.tenants.add_tenant(tenant("acme"))
    store.catalogue.set_project_status("t-acme", "evil", QUARANTINED, T0)
    assert store.catalogue.get_project("t-acme", "evil") is None
    assert store.catalogue.get_project_status("t-acme", "evil") == QUARANTINED
    publish(store, "t-acme", "tools", "1.0")
    store.catalogue.set_project_status("t-acme", "tools", ARCHIVED, T0)
    store.catalogue.delete_project("t-acme", "tools")
    assert store.catalogue.get_project_status("t-acme", "tools") == ARCHIVED
