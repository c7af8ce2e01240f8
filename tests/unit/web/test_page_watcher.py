"""The page watcher starts from the store's current serial, hands every later batch of changes to the refresh once,
and keeps going from the newest serial even when a refresh fails."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from pyregistry_application.index_versions import IndexChanges
from pyregistry_web.page_watcher import PageWatcher


def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


class ChangeLog:
    """An in-memory change feed: each ``record`` is a write with the next serial."""

    def __init__(self) -> None:
        self.serial = 5
        self.writes: list[tuple[int, str, str]] = []
        self.asked: list[int | None] = []
        self.lock = threading.Lock()

    def record(self, tenant_id: str, project: str) -> None:
        with self.lock:
            self.serial += 1
            self.writes.append((self.serial, tenant_id, project))

    def changes_since(self, serial: int | None) -> IndexChanges:
        with self.lock:
            self.asked.append(serial)
            if serial is None:
                return IndexChanges(serial=self.serial)
            later = [(tenant_id, project) for found, tenant_id, project in self.writes if found > serial]
            return IndexChanges(
                serial=self.serial, listings=sorted({tenant_id for tenant_id, _ in later}), projects=later
            )


def test_changes_after_the_start_are_refreshed_once_and_the_watcher_stops() -> None:
    log = ChangeLog()
    log.record("t1", "before-start")
    refreshed: list[IndexChanges] = []
    done = threading.Event()

    def refresh(changes: IndexChanges) -> int:
        refreshed.append(changes)
        done.set()
        return 2

    watcher = PageWatcher(log.changes_since, refresh, interval=0.01)
    watcher.start()
    try:
        _until(lambda: bool(log.asked))
        log.record("t1", "alpha")
        assert done.wait(10)
        time.sleep(0.1)
    finally:
        watcher.stop()
    assert log.asked[0] is None
    assert [(changes.listings, changes.projects) for changes in refreshed] == [(["t1"], [("t1", "alpha")])]
    assert watcher.refreshed == 2
    asked = len(log.asked)
    time.sleep(0.05)
    assert len(log.asked) == asked, "the watcher polls no more once stopped"


def test_a_failing_refresh_is_not_retried_forever() -> None:
    log = ChangeLog()
    calls: list[IndexChanges] = []
    second = threading.Event()

    def refresh(changes: IndexChanges) -> int:
        calls.append(changes)
        if len(calls) == 1:
            raise RuntimeError("render failed")
        second.set()
        return 1

    watcher = PageWatcher(log.changes_since, refresh, interval=0.01)
    watcher.start()
    try:
        _until(lambda: bool(log.asked))
        log.record("t1", "broken")
        _until(lambda: bool(calls))
        log.record("t1", "fine")
        assert second.wait(10)
    finally:
        watcher.stop()
    assert [changes.projects for changes in calls] == [[("t1", "broken")], [("t1", "fine")]]


def test_caught_up_polls_at_once_and_returns_after_the_change_is_rendered() -> None:
    log = ChangeLog()
    rendered: list[str] = []
    watcher = PageWatcher(
        log.changes_since, lambda changes: len([rendered.append(p) for _, p in changes.projects]), interval=60
    )
    assert not watcher.caught_up(1), "a watcher that is not running cannot catch up"
    watcher.start()
    try:
        _until(lambda: bool(log.asked))
        log.record("t1", "alpha")
        started = time.monotonic()
        assert watcher.caught_up(10)
        assert rendered == ["alpha"]
        assert time.monotonic() - started < 5, "the poll waited for its 60 s interval"
        assert watcher.caught_up(10)
        assert rendered == ["alpha"] and watcher.refreshed == 1
    finally:
        watcher.stop()


def test_caught_up_gives_up_at_its_bound_while_a_render_runs() -> None:
    log = ChangeLog()
    release = threading.Event()
    watcher = PageWatcher(log.changes_since, lambda changes: int(release.wait(10)), interval=60)
    watcher.start()
    try:
        _until(lambda: bool(log.asked))
        log.record("t1", "slow")
        assert not watcher.caught_up(0.05)
        release.set()
        assert watcher.caught_up(10)
    finally:
        watcher.stop()
