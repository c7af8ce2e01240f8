"""``AwaitedStampReads`` for the SQL databases: the read every cached page's (or download's) request makes,
without the thread hand-off that costs more CPU than the read itself.

- SQLite: the keyed read of a local WAL database takes microseconds and never waits for a writer, so it runs in
  place on the event loop.
- PostgreSQL: an asyncio psycopg pool per event loop (``postgres_stamps``), so the round trip is awaited.
- SQL Server (and anything else): the read in a worker thread, as every other store call.

Recording a token's use (a write, once a minute per token) always runs in a worker thread.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from pyregistry_application.index_versions import DownloadInputs, IndexVersions, StampInputs
from pyregistry_application.metadata_ports import TokenStore

__all__ = ["InPlaceStampReads", "ThreadedStampReads", "TouchInThread"]


class TouchInThread:
    """Records a token's use in a worker thread."""

    def __init__(self, tokens: TokenStore) -> None:
        self._tokens = tokens

    async def touch_token(self, token_id: str, when: datetime) -> None:
        """The token store's write, off the event loop."""
        await asyncio.to_thread(self._tokens.touch_token, token_id, when)

    async def aclose(self) -> None:
        """Nothing is held per event loop."""


class InPlaceStampReads(TouchInThread):
    """Reads in place on the event loop (SQLite: a local keyed read that no writer holds up)."""

    def __init__(self, versions: IndexVersions, tokens: TokenStore) -> None:
        super().__init__(tokens)
        self._versions = versions

    async def stamp_inputs(self, key_id: str, tenant_slug: str, normalized_name: str | None) -> StampInputs:
        """The versions port's answer, read on the calling thread."""
        return self._versions.stamp_inputs(key_id, tenant_slug, normalized_name)

    async def download_inputs(
        self, key_id: str, tenant_slug: str, normalized_name: str, filename: str
    ) -> DownloadInputs:
        """The versions port's answer, read on the calling thread."""
        return self._versions.download_inputs(key_id, tenant_slug, normalized_name, filename)


class ThreadedStampReads(TouchInThread):
    """Reads in a worker thread (databases with only a blocking driver, e.g. SQL Server through pymssql)."""

    def __init__(self, versions: IndexVersions, tokens: TokenStore) -> None:
        super().__init__(tokens)
        self._versions = versions

    async def stamp_inputs(self, key_id: str, tenant_slug: str, normalized_name: str | None) -> StampInputs:
        """The versions port's answer, read in a worker thread."""
        return await asyncio.to_thread(self._versions.stamp_inputs, key_id, tenant_slug, normalized_name)

    async def download_inputs(
        self, key_id: str, tenant_slug: str, normalized_name: str, filename: str
    ) -> DownloadInputs:
        """The versions port's answer, read in a worker thread."""
        return await asyncio.to_thread(self._versions.download_inputs, key_id, tenant_slug, normalized_name, filename)
