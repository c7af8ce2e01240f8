"""PostgreSQL's change notifications: every write to a table a stamp read joins notifies the schema's listeners,
and the stamp reads keep answers only while their listener is trusted and nothing was notified or written here."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest

from pyregistry_application.index_versions import StampInputs
from pyregistry_application.metadata_backend import MetadataBackend
from pyregistry_domain.tenants import Tenant
from pyregistry_infrastructure.metadata_stores.pool import PoolLimits
from pyregistry_infrastructure.metadata_stores.postgres import PostgresDatabase
from pyregistry_infrastructure.metadata_stores.postgres_changes import CHANNEL, ChangeCounter, ChangeListener
from pyregistry_infrastructure.metadata_stores.postgres_stamps import PostgresStampReads
from pyregistry_infrastructure.metadata_stores.sql_backend import sql_backend
from tests.contract.metadata_builders import read_token
from tests.support.postgres import ADMIN_URL, postgres_schema

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 1, 1, tzinfo=UTC)
_APPLICATION = "pyregistry-change-notifications-test"
STAMP_TABLES = (
    "api_tokens",
    "tenants",
    "tenant_listings",
    "projects",
    "releases",
    "release_files",
    "project_statuses",
)


def _database(url: str, *, listen: bool = True) -> PostgresDatabase:
    limits = PoolLimits(max_connections=3, min_connections=0, acquire_timeout_seconds=5)
    return PostgresDatabase(f"{url}&application_name={_APPLICATION}", limits, listen_for_changes=listen)


def _backend(url: str, *, listen: bool = True) -> MetadataBackend:
    return sql_backend(_database(url, listen=listen))


@pytest.fixture
def schema_url() -> Iterator[str]:
    with postgres_schema() as url:
        store = _backend(url, listen=False)
        store.tenants.add_tenant(Tenant("t1", "one", "One", mirroring_enabled=False, created_at=NOW))
        store.tokens.add_token(read_token("t1"))
        store.close()
        yield url


@pytest.fixture
def database(schema_url: str) -> PostgresDatabase:
    return _database(schema_url)


@pytest.fixture
def backend(database: PostgresDatabase) -> Iterator[MetadataBackend]:
    store = sql_backend(database)
    try:
        yield store
    finally:
        store.close()


def _reads(store: MetadataBackend) -> PostgresStampReads:
    reads = store.awaited_stamps
    assert isinstance(reads, PostgresStampReads)
    return reads


def _schema(url: str) -> str:
    with psycopg.connect(url, autocommit=True) as conn:
        found = conn.execute("SELECT current_schema()").fetchone()
        assert found is not None
        return str(found[0])


def _revoke_elsewhere(url: str, when: str | None, *, notify: bool = True) -> None:
    """Another node's write to the token (``notify=False``: with triggers off, as no pyregistry write ever is)."""
    with psycopg.connect(url, autocommit=True) as conn:
        if not notify:
            conn.execute("SET session_replication_role = replica")
        conn.execute("UPDATE api_tokens SET revoked_at = %s WHERE key_id = 'k1'", (when,))


def _revoked(found: StampInputs) -> bool:
    assert found.token is not None
    return found.token.revoked_at is not None


def test_every_write_to_a_table_of_the_stamp_read_notifies_its_schema(schema_url: str) -> None:
    schema = _schema(schema_url)
    with psycopg.connect(schema_url, autocommit=True) as listener, psycopg.connect(schema_url) as writer:
        listener.execute(f"LISTEN {CHANNEL}")
        heard: dict[str, list[str]] = {}
        for table in (*STAMP_TABLES, "audit_events"):
            # a statement trigger fires for every statement, also one that changes no row
            writer.execute(f"DELETE FROM {table} WHERE 1 = 0")
            writer.execute(f"DELETE FROM {table} WHERE 1 = 0")
            writer.commit()
            heard[table] = [
                note.payload for note in listener.notifies(timeout=0.3) if note.payload == schema
            ]  # other tests' schemas and probes share the channel
    assert {table: heard[table] for table in STAMP_TABLES} == {table: [schema] for table in STAMP_TABLES}
    assert heard["audit_events"] == [], "a table no stamp read joins notifies nobody"


def test_kept_answers_are_served_until_a_notification_and_another_node_change_is_seen_once_delivered(
    schema_url: str, backend: MetadataBackend
) -> None:
    reads = _reads(backend)

    async def around_changes() -> tuple[bool, bool, float]:
        try:
            assert await reads.listening(10), "the listener's probe came back"
            assert not _revoked(await reads.stamp_inputs("k1", "one", None))
            await asyncio.to_thread(_revoke_elsewhere, schema_url, "2026-01-02T00:00:00+00:00", notify=False)
            unnotified = _revoked(await reads.stamp_inputs("k1", "one", None))
            started = time.perf_counter()
            await asyncio.to_thread(_revoke_elsewhere, schema_url, "2026-01-03T00:00:00+00:00")
            while not (seen := _revoked(await reads.stamp_inputs("k1", "one", None))):
                if time.perf_counter() - started > 5:
                    break
                await asyncio.sleep(0.001)
            return unnotified, seen, time.perf_counter() - started
        finally:
            await reads.aclose()

    unnotified, seen, _delivery = asyncio.run(around_changes())
    assert not unnotified, "with no notification the kept answer is served (no round trip)"
    assert seen, "a notified change by another node is seen once the notification is delivered"


def test_writes_through_this_store_are_seen_by_the_very_next_read(
    database: PostgresDatabase, backend: MetadataBackend
) -> None:
    reads = _reads(backend)

    async def alternate() -> list[bool]:
        try:
            assert await reads.listening(10)
            seen = [_revoked(await reads.stamp_inputs("k1", "one", None))]
            for round_ in range(10):
                if round_ % 2 == 0:
                    await asyncio.to_thread(backend.tokens.revoke_token, "t1", "id1", NOW)
                else:
                    await asyncio.to_thread(_unrevoke, database)
                seen.append(_revoked(await reads.stamp_inputs("k1", "one", None)))
                seen.append(_revoked(await reads.stamp_inputs("k1", "one", None)))
            return seen
        finally:
            await reads.aclose()

    assert asyncio.run(alternate()) == [False] + [True, True, False, False] * 5


def _unrevoke(database: PostgresDatabase) -> None:
    """A write through the same database outside the token port's verbs (no port un-revokes a token)."""
    with database.write() as conn:
        conn.execute("UPDATE api_tokens SET revoked_at = NULL WHERE id = ?", ("id1",))


def _terminate_listener() -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (f"{_APPLICATION}-changes",),
        )


def test_a_lost_listening_connection_sends_reads_to_the_database_until_it_is_back(
    schema_url: str, backend: MetadataBackend
) -> None:
    reads = _reads(backend)

    async def across_a_loss() -> tuple[bool, bool, bool]:
        try:
            assert await reads.listening(10)
            await reads.stamp_inputs("k1", "one", None)
            await asyncio.to_thread(_terminate_listener)
            started = time.perf_counter()
            while await reads.listening() and time.perf_counter() - started < 5:
                await reads.stamp_inputs("k1", "one", None)
                await asyncio.sleep(0.001)
            untrusted = not await reads.listening()
            await asyncio.to_thread(_revoke_elsewhere, schema_url, "2026-01-02T00:00:00+00:00", notify=False)
            read_through = _revoked(await reads.stamp_inputs("k1", "one", None))
            return untrusted, read_through, await reads.listening(15)
        finally:
            await reads.aclose()

    untrusted, read_through, back = asyncio.run(across_a_loss())
    assert untrusted, "the closed connection was noticed"
    assert read_through, "an untrusted listener keeps nothing: the read went to the database"
    assert back, "the listener reconnected and its probe came back"


def test_a_probe_that_never_comes_back_leaves_the_listener_untrusted(schema_url: str) -> None:
    async def swallowed(payload: str) -> None:
        del payload  # a transaction-pooling proxy, say, that loses every notification

    async def probe_lost() -> tuple[bool, int | None]:
        listener = ChangeListener(schema_url, ChangeCounter(), swallowed, probe_timeout=0.2)
        listener.start()
        try:
            await asyncio.sleep(0.6)
            return listener.trusted, listener.version()
        finally:
            await listener.aclose()

    assert asyncio.run(probe_lost()) == (False, None)


def test_without_change_notifications_every_read_goes_to_the_database(schema_url: str) -> None:
    store = _backend(schema_url, listen=False)
    reads = _reads(store)

    async def reads_around_a_silent_change() -> tuple[bool, bool, bool]:
        try:
            listening = await reads.listening(0.5)
            before = _revoked(await reads.stamp_inputs("k1", "one", None))
            await asyncio.to_thread(_revoke_elsewhere, schema_url, "2026-01-02T00:00:00+00:00", notify=False)
            return listening, before, _revoked(await reads.stamp_inputs("k1", "one", None))
        finally:
            await reads.aclose()

    try:
        assert asyncio.run(reads_around_a_silent_change()) == (False, False, True)
    finally:
        store.close()
