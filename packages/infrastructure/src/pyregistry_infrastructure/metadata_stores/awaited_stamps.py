"""``AwaitedStampReads`` for the SQL databases: the read every cached page's (or download's) request makes,
without the thread hand-off that costs more CPU than the read itself.

- SQLite: the keyed read of a local WAL database takes microseconds and never waits for a writer, so it runs in
  place on the event loop, and its answer is remembered until any connection commits (``PRAGMA data_version``).
- PostgreSQL: an asyncio psycopg pool per event loop (``postgres_stamps``), so the round trip is awaited, and its
  answer is remembered until PostgreSQL notifies a change (``postgres_changes``).
- SQL Server (and anything else): the read in a worker thread, as every other store call.

Recording a token's use (a write, once a minute per token) always runs in a worker thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

from pyregistry_application.index_versions import DownloadInputs, IndexVersions, StampInputs
from pyregistry_application.metadata_ports import TokenStore

_Inputs = TypeVar("_Inputs", StampInputs, DownloadInputs)

__all__ = [
    "InPlaceStampReads",
    "RememberedStampReads",
    "RememberingStampReads",
    "StampMemo",
    "ThreadedStampReads",
    "TouchInThread",
]


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


class StampMemo:
    """Stamp answers kept under the data version read before each was read; one is served only while the version
    is still that one (``None``: nothing to go by, nothing served or kept). At most ``capacity`` answers."""

    def __init__(self, capacity: int = 4096) -> None:
        self._capacity = capacity
        self._kept: dict[tuple[str, ...], tuple[int, StampInputs | DownloadInputs]] = {}

    def get(self, key: tuple[str, ...], version: int | None) -> StampInputs | DownloadInputs | None:
        """The answer kept for ``key`` under ``version``, if any."""
        kept = self._kept.get(key)
        return kept[1] if kept is not None and version is not None and kept[0] == version else None

    def keep(self, key: tuple[str, ...], version: int | None, found: _Inputs) -> _Inputs:
        """Keep ``found`` under ``version`` (read before it, so it is never served past a change it may miss)."""
        if version is not None:
            if len(self._kept) >= self._capacity:
                self._kept.clear()
            self._kept[key] = (version, found)
        return found


class RememberingStampReads(TouchInThread):
    """Stamp and download answers kept in a :class:`StampMemo` under the database's data version: ``version``
    says what it is now (``None``: nothing to go by, read every time), ``read_stamp`` and ``read_download`` read
    an answer."""

    def __init__(
        self,
        tokens: TokenStore,
        version: Callable[[], int | None],
        read_stamp: Callable[[str, str, str | None], Awaitable[StampInputs]],
        read_download: Callable[[str, str, str, str], Awaitable[DownloadInputs]],
        capacity: int = 4096,
    ) -> None:
        super().__init__(tokens)
        self._memo = StampMemo(capacity)
        self._version = version
        self._read_stamp = read_stamp
        self._read_download = read_download

    async def stamp_inputs(self, key_id: str, tenant_slug: str, normalized_name: str | None) -> StampInputs:
        """The kept answer while the version holds, else a read kept under the version taken before it."""
        key = (key_id, tenant_slug, "" if normalized_name is None else f"/{normalized_name}")
        version = self._version()
        found = self._memo.get(key, version)
        if not isinstance(found, StampInputs):
            found = self._memo.keep(key, version, await self._read_stamp(key_id, tenant_slug, normalized_name))
        return found

    async def download_inputs(
        self, key_id: str, tenant_slug: str, normalized_name: str, filename: str
    ) -> DownloadInputs:
        """The kept answer while the version holds, else a read kept under the version taken before it."""
        key = (key_id, tenant_slug, normalized_name, filename)
        version = self._version()
        found = self._memo.get(key, version)
        if not isinstance(found, DownloadInputs):
            read = await self._read_download(key_id, tenant_slug, normalized_name, filename)
            found = self._memo.keep(key, version, read)
        return found


class RememberedStampReads(RememberingStampReads):
    """Reads in place, each answer kept until the database changes: ``data_version`` must move whenever any
    connection, thread or process commits (SQLite's ``PRAGMA data_version`` on a connection that never writes).

    A cached page's request then costs one pragma instead of the joined read, and a revocation, an upload or any
    other commit anywhere is seen by the next request, as without the memo.
    """

    def __init__(
        self, versions: IndexVersions, tokens: TokenStore, data_version: Callable[[], int], capacity: int = 4096
    ) -> None:
        self._versions = versions
        super().__init__(tokens, data_version, self._read_in_place, self._download_in_place, capacity)

    async def _read_in_place(self, key_id: str, tenant_slug: str, normalized_name: str | None) -> StampInputs:
        return self._versions.stamp_inputs(key_id, tenant_slug, normalized_name)

    async def _download_in_place(
        self, key_id: str, tenant_slug: str, normalized_name: str, filename: str
    ) -> DownloadInputs:
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
