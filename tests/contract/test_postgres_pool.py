"""The PostgreSQL store's connection pool honours its size limits and acquire timeout."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from pyregistry_infrastructure.metadata_stores.pool import PoolLimits
from pyregistry_infrastructure.metadata_stores.postgres import PostgresDatabase
from pyregistry_infrastructure.metadata_stores.sql_backend import sql_backend
from pyregistry_infrastructure.metadata_stores.sql_base import StoreUnavailable
from pyregistry_infrastructure.metadata_stores.sql_tenants import SqlTenantStore
from tests.support.postgres import postgres_schema
from tests.support.server import free_port

pytestmark = pytest.mark.postgres


@pytest.fixture
def schema_url() -> Iterator[str]:
    with postgres_schema() as url:
        yield url


def test_pool_keeps_min_and_never_exceeds_max(schema_url: str) -> None:
    store = PostgresDatabase(schema_url, PoolLimits(max_connections=3, min_connections=2, acquire_timeout_seconds=5))
    try:
        assert store.pool_stats()["pool_size"] >= 2
        barrier = threading.Barrier(8)
        errors: list[BaseException] = []

        def read() -> None:
            barrier.wait()
            try:
                for _ in range(20):
                    sql_backend(store).catalogue.stats()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=read) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert errors == []
        stats = store.pool_stats()
        assert stats["pool_max"] == 3 and stats["pool_size"] <= 3
    finally:
        store.close()


@pytest.mark.slow
def test_exhausted_pool_fails_after_acquire_timeout_with_clear_error(schema_url: str) -> None:
    store = PostgresDatabase(schema_url, PoolLimits(max_connections=1, min_connections=1, acquire_timeout_seconds=0.5))
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with store.connection():
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(10)
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match=r"within 0.5s \(postgres.max_connections = 1"):
            SqlTenantStore(store).list_tenants()
        assert 0.4 < time.monotonic() - started < 5
    finally:
        release.set()
        holder.join(10)
    assert SqlTenantStore(store).list_tenants() == []
    store.close()


def test_unreachable_server_is_a_clear_error() -> None:
    url = f"postgresql://pyregistry:secret-pw@127.0.0.1:{free_port()}/none"
    with pytest.raises(StoreUnavailable) as caught:
        PostgresDatabase(url, PoolLimits(max_connections=2, min_connections=1, acquire_timeout_seconds=1))
    assert "cannot use PostgreSQL at postgresql://pyregistry:***@127.0.0.1" in str(caught.value)
    assert "secret-pw" not in str(caught.value)
