"""An in-process LRU of rendered index pages, trusted only while the page's version stamp still matches."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from pyregistry_application.metrics_ports import Metrics, NoMetrics

__all__ = ["PageKey", "RenderedPageCache"]

PageKey = tuple[str, str, str]
"""``(tenant id, project name or "" for the root index, format)``."""


class RenderedPageCache:
    """Maps a page key to ``(version, body)``; a body is served only for the exact version it was rendered at.

    The version is read from the store on every request, so the cache can never serve a page older than the
    database, even when another process changed it. ``max_bytes`` bounds the memory held (0 disables caching).
    """

    def __init__(self, max_bytes: int, metrics: Metrics | None = None) -> None:
        self._max_bytes = max_bytes
        self._metrics: Metrics = metrics or NoMetrics()
        self._entries: OrderedDict[PageKey, tuple[str, bytes]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get_or_render(self, key: PageKey, version: str | None, render: Callable[[], bytes]) -> bytes:
        """The cached body for ``version``, or ``render()`` (kept for next time unless ``version`` is None)."""
        if version is not None:
            with self._lock:
                entry = self._entries.get(key)
                cached = entry[1] if entry is not None and entry[0] == version else None
                if cached is not None:
                    self._entries.move_to_end(key)
                    self.hits += 1
            if cached is not None:
                self._metrics.page_cache_lookup(hit=True)
                return cached
        self._metrics.page_cache_lookup(hit=False)
        body = render()
        with self._lock:
            self.misses += 1
            if version is not None and len(body) <= self._max_bytes:
                self._store(key, version, body)
        return body

    def _store(self, key: PageKey, version: str, body: bytes) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self._size -= len(old[1])
        self._entries[key] = (version, body)
        self._size += len(body)
        while self._size > self._max_bytes and self._entries:
            _, (_, evicted) = self._entries.popitem(last=False)
            self._size -= len(evicted)
