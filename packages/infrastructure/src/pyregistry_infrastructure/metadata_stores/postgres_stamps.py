"""``AwaitedStampReads`` on PostgreSQL: the cached page's one statement awaited on an asyncio psycopg pool."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg

from pyregistry_application.index_versions import DownloadInputs, StampInputs
from pyregistry_application.metadata_ports import TokenStore
from pyregistry_application.tracing_ports import Tracer
from pyregistry_infrastructure.metadata_stores.awaited_stamps import TouchInThread
from pyregistry_infrastructure.metadata_stores.pool import PoolLimits
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
        return await asyncio.wait_for(self._idle.get(), self._timeout)

    async def release(self, cursor: psycopg.AsyncCursor[Any]) -> None:
        """Give a cursor back; one whose connection broke is closed and forgotten."""
        if cursor.connection.broken or cursor.connection.closed:
            self._opened -= 1
            await cursor.connection.close()
            return
        self._idle.put_nowait(cursor)

    async def close(self) -> None:
        """Close every idle connection (the server is stopping)."""
        while not self._idle.empty():
            cursor = self._idle.get_nowait()
            self._opened -= 1
            await cursor.connection.close()


class PostgresStampReads(TouchInThread):
    """Reads on connections of each event loop's own (uvicorn runs one loop per worker process), opened on first
    use: at most ``limits.max_connections`` per loop, waits bounded by ``limits.acquire_timeout_seconds`` like the
    blocking pool's."""

    def __init__(
        self, connection_url: str, dialect: Dialect, limits: PoolLimits, tokens: TokenStore, tracer: Tracer
    ) -> None:
        super().__init__(tokens)
        self._url = connection_url
        self._dialect = dialect
        self._limits = limits
        self._tracer = tracer
        self._loops: dict[asyncio.AbstractEventLoop, _LoopConnections] = {}

    async def stamp_inputs(self, key_id: str, tenant_slug: str, normalized_name: str | None) -> StampInputs:
        """One awaited statement on a connection of this loop."""
        return stamp_inputs_from(await self._read(*stamp_query(key_id, tenant_slug, normalized_name)))

    async def download_inputs(
        self, key_id: str, tenant_slug: str, normalized_name: str, filename: str
    ) -> DownloadInputs:
        """One awaited statement on a connection of this loop."""
        return download_inputs_from(await self._read(*download_query(key_id, tenant_slug, normalized_name, filename)))

    async def _read(self, sql: str, params: tuple[str, ...]) -> dict[str, Any] | None:
        """The statement's one row (``None``: none), retried once on another connection when an idle one had
        been closed by the server."""
        connections = self._connections()
        statement = self._dialect.sql(sql, True)
        with self._tracer.span("db.query", {"db.system": self._dialect.name}):
            try:
                row = await self._row(connections, statement, params)
            except _ConnectionLost:
                # an idle connection the server closed (a restart, an idle timeout): once more, on another one
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
        """Close this loop's connections, and forget those of loops that have closed."""
        connections = self._loops.pop(asyncio.get_running_loop(), None)
        if connections is not None:
            await connections.close()
        for gone in [known for known in self._loops if known.is_closed()]:
            del self._loops[gone]


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
