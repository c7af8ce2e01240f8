"""The background mirror updater: passes over mirrored projects, survives failures, stops promptly."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pyregistry_application.dto import AuditQuery
from tests.support.background import scheduled_updater
from tests.unit.application.test_mirroring_use_cases import Mirror


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[Mirror]:
    """The mirror world with ``tool`` already mirrored by one page view."""
    world = Mirror(tmp_path)
    world.index.project_page("corp", world.reader, "tool")
    world.service.wait_idle(10)
    yield world
    world.service.close()


def _eventually(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "the updater never got there"
        time.sleep(0.01)


def test_a_pass_runs_at_startup_and_only_once_per_interval(mirror: Mirror) -> None:
    updater, updates = scheduled_updater(mirror.service, interval_seconds=60, on_startup=True)
    updates.executor.start()  # idempotent
    _eventually(lambda: updater.runs == 1)
    time.sleep(0.3)
    started = time.monotonic()
    updates.stop()
    assert time.monotonic() - started < 5, "stopping does not wait for the interval"
    assert updater.runs == 1 and mirror.upstream.requests["tool"] == 2
    events = mirror.app.audit.query(AuditQuery(action="mirror.refresh")).items
    assert [(e.actor, e.target) for e in events] == [("mirror-updater", "corp/*")]


def test_without_on_startup_nothing_runs_before_the_first_interval(mirror: Mirror) -> None:
    updater, updates = scheduled_updater(mirror.service, interval_seconds=60, on_startup=False)
    time.sleep(0.3)
    updates.stop()
    assert updater.runs == 0 and mirror.upstream.requests["tool"] == 1


@pytest.mark.slow
def test_a_failing_pass_is_logged_and_the_loop_keeps_going(mirror: Mirror, caplog: pytest.LogCaptureFixture) -> None:
    mirror.upstream.fail("tool", "crash")
    with caplog.at_level(logging.ERROR):
        updater, updates = scheduled_updater(mirror.service, interval_seconds=0, on_startup=True)
        _eventually(lambda: any(r.getMessage() == "mirror.updater_failed" for r in caplog.records))
        _eventually(lambda: updater.runs == 1)
        updates.stop()
    assert mirror.upstream.requests["tool"] >= 3, "page view, failed pass, then the next pass one second later"
    [failed] = [r for r in caplog.records if r.getMessage() == "mirror.updater_failed"]
    assert failed.exc_info is not None and "adapter bug while reading tool" in str(failed.exc_info[1])


def test_the_stop_report_says_whether_a_pass_was_left_running(mirror: Mirror, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pyregistry_application.mirror_updater")
    updater, updates = scheduled_updater(mirror.service, interval_seconds=60, on_startup=True)
    _eventually(lambda: updater.runs == 1)
    updates.stop()
    updater.report_stopped()
    assert "mirror.updater_stopped runs=1" in caplog.messages


def test_a_pass_due_while_another_runs_is_skipped(mirror: Mirror, monkeypatch: pytest.MonkeyPatch) -> None:
    running, finish = threading.Event(), threading.Event()
    passes: list[int] = []

    def slow_refresh_all(**_options: object) -> list[object]:
        passes.append(1)
        running.set()
        assert finish.wait(10)
        return []

    monkeypatch.setattr(mirror.service, "refresh_all", slow_refresh_all)
    updater, updates = scheduled_updater(mirror.service, interval_seconds=60, on_startup=True)
    assert running.wait(10), "the start-up pass runs"
    updater.run_pass({})  # the periodic pass falls due while the start-up pass still runs
    finish.set()
    _eventually(lambda: updater.runs == 1)
    updates.stop()
    assert passes == [1] and updater.runs == 1
