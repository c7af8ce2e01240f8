"""The publisher and jti replay stores behave the same in memory and on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pyregistry_application.publishing_ports import JtiReplayStore, PublisherStore
from pyregistry_domain.errors import AlreadyExists
from pyregistry_domain.publishers import PublisherProvider, TrustedPublisher
from pyregistry_domain.tenants import Tenant
from pyregistry_infrastructure.stores.memory_publishers import MemoryJtiReplayStore, MemoryPublisherStore
from pyregistry_infrastructure.stores.sqlite import SqliteRegistryStore
from pyregistry_infrastructure.stores.sqlite_publishers import SqliteJtiReplayStore, SqlitePublisherStore

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[PublisherStore, JtiReplayStore]]:
    if request.param == "memory":
        yield MemoryPublisherStore(), MemoryJtiReplayStore()
        return
    path = tmp_path / "registry.sqlite3"
    registry = SqliteRegistryStore(path)
    for tenant_id in ("t1", "t2"):
        registry.add_tenant(
            Tenant(id=tenant_id, slug=tenant_id, display_name=tenant_id, mirroring_enabled=False, created_at=NOW)
        )
    assert "0500_trusted_publishers" in registry.applied_migrations()
    yield SqlitePublisherStore(path), SqliteJtiReplayStore(path)
    registry.close()


def make(pid: str, tenant: str = "t1", provider: PublisherProvider = PublisherProvider.GITHUB) -> TrustedPublisher:
    return TrustedPublisher(
        id=pid,
        tenant_id=tenant,
        project="acme-tools",
        provider=provider,
        repository="acme/tools",
        workflow="release.yml",
        environment=None,
        created_at=NOW,
        created_by="test",
    )


def test_publishers_round_trip(stores: tuple[PublisherStore, JtiReplayStore]) -> None:
    publishers, _ = stores
    publishers.add_publisher(make("p1"))
    publishers.add_publisher(make("p2", tenant="t2"))
    publishers.add_publisher(make("p3", provider=PublisherProvider.GITLAB))
    with pytest.raises(AlreadyExists):
        publishers.add_publisher(make("p4"))
    listed = sorted(publishers.list_publishers("t1"), key=lambda p: p.id)
    assert listed == [make("p1"), make("p3", provider=PublisherProvider.GITLAB)]
    assert sorted(p.id for p in publishers.publishers_for_provider(PublisherProvider.GITHUB)) == ["p1", "p2"]
    assert not publishers.remove_publisher("t1", "p2")
    assert publishers.remove_publisher("t2", "p2")
    assert [p.id for p in publishers.publishers_for_provider(PublisherProvider.GITHUB)] == ["p1"]


def test_jti_is_refused_until_expiry(stores: tuple[PublisherStore, JtiReplayStore]) -> None:
    _, replays = stores
    expiry = NOW + timedelta(minutes=5)
    assert replays.claim("iss", "j1", expiry, NOW)
    assert not replays.claim("iss", "j1", expiry, NOW + timedelta(minutes=1))
    assert replays.claim("other-iss", "j1", expiry, NOW)
    assert replays.claim("iss", "j1", NOW + timedelta(minutes=20), NOW + timedelta(minutes=6))
