"""An in-process LRU of rendered index pages, trusted only while the page's version stamp still matches."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from pyregistry_application.metrics_ports import Metrics, NoMetrics

__all__ = ["PageKey", "RenderedPageCache"]

PageKey = tuple[str, str, str]
"""``(tenant id, project name or "" for the root index, format)``."""


class _Flight:
    """The render lock of one page key and how many threads hold or wait for it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.waiting = 0


class RenderedPageCache:
    """Maps a page key to ``(version, body)``; a body is served only for the exact version it was rendered at.

    The version is read from the store on every request, so the cache can never serve a page older than the
    database, even when another process changed it. ``max_bytes`` bounds the memory held (0 disables caching).
    Concurrent readers of a missing or stale page share one render: the first renders, the others wait for it.
    """

    def __init__(self, max_bytes: int, metrics: Metrics | None = None) -> None:
        self._max_bytes = max_bytes
        self._metrics: Metrics = metrics or NoMetrics()
        self._entries: OrderedDict[PageKey, tuple[str, bytes]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self._flights: dict[PageKey, _Flight] = {}
        self.hits = 0
        self.misses = 0

    def get_or_render(
        self, key: PageKey, version: str | None, render: Callable[[], bytes], *, counted: bool = True
    ) -> bytes:
        """The cached body for ``version``, or ``render()`` (kept for next time unless ``version`` is None).
        ``counted``: a reader's lookup, exported as a page-cache hit or miss (a background rebuild is not).

        While one thread renders ``key``, other threads asking for it wait and then reuse that body when it was
        rendered at the version they need."""
        if version is None:
            with self._lock:
                self.misses += 1
            if counted:
                self._metrics.page_cache_lookup(hit=False)
            return render()
        cached = self._lookup(key, version)
        if counted:
            self._metrics.page_cache_lookup(hit=cached is not None)
        if cached is not None:
            return cached
        flight = self._join(key)
        try:
            with flight.lock:
                cached = self._lookup(key, version)
                if cached is not None:
                    return cached
                body = render()
                with self._lock:
                    self.misses += 1
                    if len(body) <= self._max_bytes:
                        self._store(key, version, body)
                return body
        finally:
            self._leave(key, flight)

    def cached(self, key: PageKey, version: str | None) -> bytes | None:
        """The body kept for ``key`` at exactly ``version`` (a reader's lookup, counted as a hit or miss), else
        ``None``: render it with :meth:`get_or_render` (``counted=False``), away from the event loop."""
        if version is None:
            return None
        found = self._lookup(key, version)
        self._metrics.page_cache_lookup(hit=found is not None)
        return found

    def cached_keys(self, tenant_id: str, project: str) -> list[PageKey]:
        """Keys held for the tenant's root index (``project`` ``""``) or one project page, in every variant."""
        with self._lock:
            return [key for key in self._entries if key[0] == tenant_id and key[1] == project]

    def _lookup(self, key: PageKey, version: str) -> bytes | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != version:
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[1]

    def _join(self, key: PageKey) -> _Flight:
        with self._lock:
            flight = self._flights.get(key)
            if flight is None:
                flight = self._flights[key] = _Flight()
            flight.waiting += 1
            return flight

    def _leave(self, key: PageKey, flight: _Flight) -> None:
        with self._lock:
            flight.waiting -= 1
            if flight.waiting == 0:
                del self._flights[key]

    def _store(self, key: PageKey, version: str, body: bytes) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self._size -= len(old[1])
        self._entries[key] = (version, body)
        self._size += len(body)
        while self._size > self._max_bytes and self._entries:
            _, (_, evicted) = self._entries.popitem(last=False)
            self._size -= len(evicted)
