"""The PostgreSQL stamp reads' own connections: bounded per event loop, a dead idle connection costs no request,
an exhausted set answers with the pool's message, and stopping closes them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest

from pyregistry_application.metadata_backend import MetadataBackend
from pyregistry_domain.tenants import Tenant
from pyregistry_infrastructure.metadata_stores.pool import PoolLimits
from pyregistry_infrastructure.metadata_stores.postgres import PostgresDatabase
from pyregistry_infrastructure.metadata_stores.sql_backend import sql_backend
from pyregistry_infrastructure.metadata_stores.sql_base import StoreUnavailable
from tests.contract.metadata_builders import read_token
from tests.support.postgres import ADMIN_URL, postgres_schema

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 1, 1, tzinfo=UTC)
_APPLICATION = "pyregistry-stamp-reads-test"


@pytest.fixture
def backend() -> Iterator[MetadataBackend]:
    with postgres_schema() as url:
        tagged = f"{url}&application_name={_APPLICATION}"
        limits = PoolLimits(max_connections=2, min_connections=0, acquire_timeout_seconds=0.5)
        store = sql_backend(PostgresDatabase(tagged, limits))
        store.tenants.add_tenant(Tenant("t1", "one", "One", mirroring_enabled=False, created_at=NOW))
        store.tokens.add_token(read_token("t1"))
        try:
            yield store
        finally:
            store.close()


def _server_connections() -> int:
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        row = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (_APPLICATION,))
        found = row.fetchone()
        return 0 if found is None else int(found[0])


def _settled_connections(expected: int) -> int:
    """The count once it is ``expected``, or after 5 s (a closed connection's server process ends a moment after
    the client closed it)."""
    deadline = time.monotonic() + 5
    while (count := _server_connections()) != expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return count


def _terminate_server_connections() -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s", (_APPLICATION,)
        )


def test_concurrent_reads_share_at_most_max_connections_and_stopping_closes_them(backend: MetadataBackend) -> None:
    reads = backend.awaited_stamps
    before = _server_connections()

    async def many() -> tuple[int, int]:
        found = await asyncio.gather(*(reads.stamp_inputs("k1", "one", None) for _ in range(40)))
        assert all(inputs.token is not None and inputs.token.id == "id1" for inputs in found)
        during = await asyncio.to_thread(_server_connections)
        await reads.aclose()
        return during, await asyncio.to_thread(_settled_connections, before)

    during, after = asyncio.run(many())
    assert during - before == 2, "the stamp reads opened their two connections, no more"
    assert after == before


def test_a_connection_the_server_closed_while_idle_costs_no_request(backend: MetadataBackend) -> None:
    reads = backend.awaited_stamps

    async def across_a_restart() -> list[str | None]:
        try:
            first = await reads.stamp_inputs("k1", "one", None)
            await asyncio.to_thread(_terminate_server_connections)
            second = await reads.stamp_inputs("k1", "one", None)
            third = await reads.stamp_inputs("k1", "one", None)
            return [inputs.tenant.id if inputs.tenant else None for inputs in (first, second, third)]
        finally:
            await reads.aclose()

    assert asyncio.run(across_a_restart()) == ["t1", "t1", "t1"]


def test_reads_waiting_longer_than_the_acquire_timeout_are_refused_with_the_pool_message(
    backend: MetadataBackend,
) -> None:
    reads = backend.awaited_stamps

    async def exhausted() -> str:
        holders = [await reads._connections().acquire() for _ in range(2)]  # type: ignore[attr-defined]
        try:
            with pytest.raises(StoreUnavailable) as refused:
                await reads.stamp_inputs("k1", "one", None)
            return str(refused.value)
        finally:
            for cursor in holders:
                await reads._connections().release(cursor)  # type: ignore[attr-defined]
            await reads.aclose()

    message = asyncio.run(exhausted())
    assert "no PostgreSQL connection became free within 0.5s" in message
    assert "postgres.max_connections = 2" in message
