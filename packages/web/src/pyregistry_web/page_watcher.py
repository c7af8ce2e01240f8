"""Cached pages re-rendered soon after any change to the data behind them, wherever the change was made."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import structlog

from pyregistry_application.index_versions import IndexChanges

__all__ = ["PAGES_CAUGHT_UP_SECONDS", "PageWatcher", "pages_caught_up"]

_log = structlog.get_logger(__name__)

DEFAULT_INTERVAL_SECONDS = 0.2
"""How often the store is asked for changes: one or two reads by key, whatever the number of projects."""
PAGES_CAUGHT_UP_SECONDS = 10.0
"""How long a change made through this process waits for its pages to be rendered again before answering."""


class PageWatcher:
    """Polls ``changes_since`` on a background thread and hands each batch of changes to ``refresh``.

    Uploads through this process already rebuild their pages at once; the watcher covers every other writer
    (yank and purge through the admin pages or the CLI, project status changes, mirror refreshes, other nodes
    sharing the database), so a reader after any change finds the page rendered. ``refreshed`` counts the
    pages ``refresh`` rendered. A writer in this process calls :meth:`caught_up` to have its change rendered
    before it answers.
    """

    def __init__(
        self,
        changes_since: Callable[[int | None], IndexChanges],
        refresh: Callable[[IndexChanges], int],
        interval: float = DEFAULT_INTERVAL_SECONDS,
    ) -> None:
        self._changes_since = changes_since
        self._refresh = refresh
        self._interval = interval
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._rounds = threading.Condition()
        self._asked = 0
        self._done = 0
        self.refreshed = 0

    def start(self) -> None:
        """Start polling from the store's current serial (earlier changes are already reflected)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="page-watcher", daemon=True)
        self._thread.start()

    def caught_up(self, timeout: float) -> bool:
        """Poll at once and wait (at most ``timeout`` seconds) until every change committed before this call is
        rendered; ``False`` when the watcher is not running or the wait ran out."""
        if self._thread is None:
            return False
        with self._rounds:
            self._asked += 1
            wanted = self._asked
            self._wake.set()
            return self._rounds.wait_for(lambda: self._done >= wanted, timeout)

    def stop(self) -> None:
        """Stop polling and wait for the thread."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    @asynccontextmanager
    async def running(self, _app: Any = None) -> AsyncIterator[None]:
        """An application lifespan: poll while the app runs."""
        self.start()
        try:
            yield
        finally:
            self.stop()

    def _run(self) -> None:
        serial: int | None = None
        while not self._stop.is_set():
            with self._rounds:
                self._wake.clear()
                answering = self._asked
            try:
                changes = self._changes_since(serial)
                previous, serial = serial, changes.serial
                if previous is not None and (changes.listings or changes.projects):
                    self._apply(changes)
            except Exception as exc:
                _log.warning("pages.watch_failed", error=str(exc) or type(exc).__name__)
            with self._rounds:
                self._done = answering
                self._rounds.notify_all()
            self._wake.wait(self._interval)

    def _apply(self, changes: IndexChanges) -> None:
        rendered = self._refresh(changes)
        self.refreshed += rendered
        projects = ",".join(project for _, project in changes.projects)
        _log.debug("pages.refreshed", tenants=",".join(changes.listings), projects=projects, rendered=rendered)


def pages_caught_up(state: Mapping[str, Any]) -> bool:
    """After a change through the admin pages: wait for the app's watcher to render it (see
    :meth:`PageWatcher.caught_up`), so the install that follows reads cached pages."""
    watcher = state.get("page_watcher")
    return isinstance(watcher, PageWatcher) and watcher.caught_up(PAGES_CAUGHT_UP_SECONDS)
