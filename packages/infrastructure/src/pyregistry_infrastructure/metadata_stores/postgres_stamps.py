"""``AwaitedStampReads`` on PostgreSQL: the cached page's one statement awaited on an asyncio psycopg pool."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import psycopg_pool

from pyregistry_application.index_versions import StampInputs
from pyregistry_application.metadata_ports import TokenStore
from pyregistry_application.tracing_ports import Tracer
from pyregistry_infrastructure.metadata_stores.awaited_stamps import TouchInThread
from pyregistry_infrastructure.metadata_stores.pool import PoolLimits
from pyregistry_infrastructure.metadata_stores.sql_base import StoreUnavailable
from pyregistry_infrastructure.metadata_stores.sql_dialect import Dialect
from pyregistry_infrastructure.metadata_stores.sql_index_versions import stamp_inputs_from, stamp_query

__all__ = ["PostgresStampReads"]


class PostgresStampReads(TouchInThread):
    """Reads through an asyncio psycopg pool opened on first use in each event loop (uvicorn runs one per worker
    process); at most ``limits.max_connections`` connections per loop, waits bounded like the blocking pool's."""

    reads_in_place = False

    def __init__(
        self, connection_url: str, dialect: Dialect, limits: PoolLimits, tokens: TokenStore, tracer: Tracer
    ) -> None:
        super().__init__(tokens)
        self._url = connection_url
        self._dialect = dialect
        self._limits = limits
        self._tracer = tracer
        self._pools: dict[asyncio.AbstractEventLoop, psycopg_pool.AsyncConnectionPool[Any]] = {}

    async def stamp_inputs(self, key_id: str, tenant_slug: str, normalized_name: str | None) -> StampInputs:
        """One awaited statement on this loop's pool."""
        sql, params = stamp_query(key_id, tenant_slug, normalized_name)
        pool = await self._pool()
        with self._tracer.span("db.query", {"db.system": self._dialect.name}):
            try:
                async with pool.connection(timeout=self._limits.acquire_timeout_seconds) as conn:
                    cursor = await conn.execute(self._dialect.sql(sql, True), params)
                    found = await cursor.fetchone()
                    names = [column[0] for column in cursor.description or ()]
            except psycopg_pool.PoolTimeout:
                raise StoreUnavailable(self._limits.exhausted("PostgreSQL", "postgres")) from None
            except psycopg.OperationalError as exc:
                raise StoreUnavailable(f"PostgreSQL is unavailable: {str(exc).strip().splitlines()[0]}") from None
        return stamp_inputs_from(None if found is None else dict(zip(names, found, strict=True)))

    async def _pool(self) -> psycopg_pool.AsyncConnectionPool[Any]:
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            pool = self._pools[loop] = psycopg_pool.AsyncConnectionPool(
                self._url,
                min_size=0,
                max_size=self._limits.max_connections,
                timeout=self._limits.acquire_timeout_seconds,
                kwargs={"autocommit": True},
                name="pyregistry-stamps",
                open=False,
            )
            await pool.open(wait=False)
        return pool

    async def aclose(self) -> None:
        """Close this loop's pool, and forget pools of loops that have closed."""
        loop = asyncio.get_running_loop()
        pool = self._pools.pop(loop, None)
        if pool is not None:
            await pool.close()
        for gone in [known for known in self._pools if known.is_closed()]:
            del self._pools[gone]
