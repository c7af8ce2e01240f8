"""``AwaitedStampReads`` on PostgreSQL: the cached page's one statement awaited on an asyncio psycopg pool, its
answer remembered until PostgreSQL notifies a change (``postgres_changes``) or this process writes."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg

from pyregistry_application.index_versions import DownloadInputs, StampInputs
from pyregistry_application.metadata_ports import TokenStore
from pyregistry_application.tracing_ports import Tracer
from pyregistry_infrastructure.metadata_stores.awaited_stamps import RememberingStampReads
from pyregistry_infrastructure.metadata_stores.pool import PoolLimits
from pyregistry_infrastructure.metadata_stores.postgres_changes import CHANNEL, ChangeCounter, ChangeListener
from pyregistry_infrastructure.metadata_stores.sql_base import StoreUnavailable
from pyregistry_infrastructure.metadata_stores.sql_dialect import Dialect
from pyregistry_infrastructure.metadata_stores.sql_index_versions import (
    download_inputs_from,
    download_query,
    stamp_inputs_from,
    stamp_query,
)

__all__ = ["PostgresStampReads"]


class _LoopConnections:
    """Up to ``size`` autocommit connections of one event loop, each with its own reusable cursor, opened on demand
    and dropped when broken. Lighter than psycopg_pool on this path (which runs for every cached page): no
    checks or statistics per checkout, no new cursor per query."""

    def __init__(self, url: str, size: int, timeout: float) -> None:
        self._url = url
        self._size = size
        self._timeout = timeout
        self._idle: asyncio.Queue[psycopg.AsyncCursor[Any]] = asyncio.Queue()
        self._opened = 0

    async def acquire(self) -> psycopg.AsyncCursor[Any]:
        """An idle connection's cursor, a new connection's while fewer than ``size`` are open, else the next one
        given back (waiting at most ``timeout``: :class:`TimeoutError`)."""
        try:
            return self._idle.get_nowait()
        except asyncio.QueueEmpty:
            pass
        if self._opened < self._size:
            self._opened += 1
            try:
                conn = await psycopg.AsyncConnection.connect(
                    self._url, autocommit=True, connect_timeout=max(1, round(self._timeout))
                )
            except BaseException:
                self._opened -= 1
                raise
            return conn.cursor()
        async with asyncio.timeout(self._timeout):  # not wait_for: on 3.11 it can swallow a cancellation
            return await self._idle.get()

    async def release(self, cursor: psycopg.AsyncCursor[Any]) -> None:
        """Give a cursor back; one whose connection broke is closed and forgotten."""
        if cursor.connection.broken or cursor.connection.closed:
            self._opened -= 1
            await cursor.connection.close()
            return
        self._idle.put_nowait(cursor)

    async def close(self) -> None:
        """Close every idle connection (the server is stopping, or restarted and so closed them all)."""
        while not self._idle.empty():
            cursor = self._idle.get_nowait()
            self._opened -= 1
            await cursor.connection.close()


class PostgresStampReads(RememberingStampReads):
    """Reads on connections of each event loop's own (uvicorn runs one loop per worker process), opened on first
    use: at most ``limits.max_connections`` per loop, waits bounded by ``limits.acquire_timeout_seconds`` like the
    blocking pool's.

    With ``changes`` (a counter this process's writes move too), each loop also listens for PostgreSQL's change
    notifications, and answers are kept under the counter's value while that loop's listener is trusted: a cached
    page then costs no round trip until something it depends on changes.
    """

    def __init__(
        self,
        connection_url: str,
        dialect: Dialect,
        limits: PoolLimits,
        tokens: TokenStore,
        tracer: Tracer,
        changes: ChangeCounter | None = None,
    ) -> None:
        super().__init__(tokens, self._current_version, self._query_stamp, self._query_download)
        self._url = connection_url
        self._dialect = dialect
        self._limits = limits
        self._tracer = tracer
        self._changes = changes
        self._loops: dict[asyncio.AbstractEventLoop, _LoopConnections] = {}
        self._listeners: dict[asyncio.AbstractEventLoop, ChangeListener] = {}

    async def _query_stamp(self, key_id: str, tenant_slug: str, normalized_name: str | None) -> StampInputs:
        """One awaited statement on a connection of this loop."""
        return stamp_inputs_from(await self._read(*stamp_query(key_id, tenant_slug, normalized_name)))

    async def _query_download(
        self, key_id: str, tenant_slug: str, normalized_name: str, filename: str
    ) -> DownloadInputs:
        """One awaited statement on a connection of this loop."""
        return download_inputs_from(await self._read(*download_query(key_id, tenant_slug, normalized_name, filename)))

    async def listening(self, timeout: float = 0.0) -> bool:
        """Start this loop's change listener if it is not running, and wait up to ``timeout`` seconds for it to be
        trusted: ``True`` while answers are being remembered (never when change notifications are off)."""
        listener = self._listener()
        if listener is None:
            return False
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not listener.trusted and loop.time() < deadline:
            await asyncio.sleep(0.01)
        return listener.trusted

    def _current_version(self) -> int | None:
        """The change counter's value if this loop's listener is trusted, else ``None``."""
        listener = self._listener()
        return None if listener is None else listener.version()

    def _listener(self) -> ChangeListener | None:
        """This loop's change listener, started on first use (``None`` when change notifications are off)."""
        if self._changes is None:
            return None
        loop = asyncio.get_running_loop()
        listener = self._listeners.get(loop)
        if listener is None:
            listener = self._listeners[loop] = ChangeListener(self._url, self._changes, self._notify)
            listener.start()
        return listener

    async def _notify(self, payload: str) -> None:
        """Send ``payload`` on the change channel through one of this loop's connections (a listener's probe)."""
        connections = self._connections()
        try:
            cursor = await connections.acquire()
        except TimeoutError:
            raise StoreUnavailable(self._limits.exhausted("PostgreSQL", "postgres")) from None
        try:
            await cursor.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))
        finally:
            await connections.release(cursor)

    async def _read(self, sql: str, params: tuple[str, ...]) -> dict[str, Any] | None:
        """The statement's one row (``None``: none), retried once on another connection when an idle one had
        been closed by the server."""
        connections = self._connections()
        statement = self._dialect.sql(sql, True)
        with self._tracer.span("db.query", {"db.system": self._dialect.name}):
            try:
                row = await self._row(connections, statement, params)
            except _ConnectionLost:
                # an idle connection the server closed (a restart, an idle timeout, which closed the other idle
                # ones too): once more, on a new one
                await connections.close()
                row = await self._row(connections, statement, params, retried=True)
        return row

    async def _row(
        self, connections: _LoopConnections, statement: str, params: tuple[str, ...], *, retried: bool = False
    ) -> dict[str, Any] | None:
        try:
            cursor = await connections.acquire()
        except TimeoutError:
            raise StoreUnavailable(self._limits.exhausted("PostgreSQL", "postgres")) from None
        except psycopg.OperationalError as exc:
            raise _unavailable(exc) from None
        try:
            await cursor.execute(statement, params)
            found = await cursor.fetchone()
            return None if found is None else dict(zip(_column_names(cursor), found, strict=True))
        except psycopg.OperationalError as exc:
            if retried or not cursor.connection.broken:
                raise _unavailable(exc) from None
            raise _ConnectionLost from None
        finally:
            await connections.release(cursor)

    def _connections(self) -> _LoopConnections:
        loop = asyncio.get_running_loop()
        connections = self._loops.get(loop)
        if connections is None:
            connections = self._loops[loop] = _LoopConnections(
                self._url, self._limits.max_connections, self._limits.acquire_timeout_seconds
            )
        return connections

    async def aclose(self) -> None:
        """Stop this loop's listener, close its connections, and forget those of loops that have closed."""
        loop = asyncio.get_running_loop()
        listener = self._listeners.pop(loop, None)
        if listener is not None:
            await listener.aclose()
        connections = self._loops.pop(loop, None)
        if connections is not None:
            await connections.close()
        for gone in [known for known in self._loops if known.is_closed()]:
            del self._loops[gone]
        for gone in [known for known in self._listeners if known.is_closed()]:
            del self._listeners[gone]


class _ConnectionLost(Exception):
    """A connection broke under a statement."""


def _unavailable(error: psycopg.OperationalError) -> StoreUnavailable:
    return StoreUnavailable(f"PostgreSQL is unavailable: {str(error).strip().splitlines()[0]}")


def _column_names(cursor: psycopg.AsyncCursor[Any]) -> list[str]:
    """The result's column names straight from libpq (``description`` builds an object per column per query: a
    third of this read's CPU)."""
    result = cursor.pgresult
    if result is None:
        return []
    return [(result.fname(number) or b"").decode() for number in range(result.nfields)]
