"""After a change, pages are rebuilt on one background thread; bursts for one project merge into one rebuild."""

from __future__ import annotations

import threading

from pyregistry_domain.errors import Forbidden
from pyregistry_web.page_rebuilder import PageRebuilder


def test_a_burst_of_changes_to_one_project_is_rebuilt_once() -> None:
    started = threading.Event()
    release = threading.Event()
    calls: list[tuple[str, str]] = []

    def rebuild(tenant: str, project: str) -> None:
        calls.append((tenant, project))
        started.set()
        release.wait(10)

    rebuilder = PageRebuilder(rebuild)
    rebuilder.schedule("corp", "alpha")
    assert started.wait(10)
    for _ in range(3):
        rebuilder.schedule("corp", "beta")
    rebuilder.schedule("corp", "alpha")
    assert not rebuilder.wait_idle(0.05)
    release.set()
    assert rebuilder.wait_idle(10)
    assert calls[0] == ("corp", "alpha")
    assert sorted(calls[1:]) == [("corp", "alpha"), ("corp", "beta")]


def test_refused_and_failed_rebuilds_are_dropped_and_later_work_still_runs() -> None:
    calls: list[str] = []

    def rebuild(tenant: str, project: str) -> None:
        calls.append(project)
        if project == "denied":
            raise Forbidden("token is limited to another project")
        if project == "broken":
            raise RuntimeError("render failed")

    rebuilder = PageRebuilder(rebuild)
    for project in ("denied", "broken"):
        rebuilder.schedule("corp", project)
        assert rebuilder.wait_idle(10)
    rebuilder.schedule("corp", "fine")
    assert rebuilder.wait_idle(10)
    assert calls == ["denied", "broken", "fine"]


def test_each_request_is_done_when_its_rebuild_has_run_and_merged_requests_share_it() -> None:
    release = threading.Event()
    started = threading.Event()
    calls: list[str] = []

    def rebuild(tenant: str, project: str) -> None:
        started.set()
        release.wait(10)
        calls.append(project)
        if project == "broken":
            raise RuntimeError("render failed")

    rebuilder = PageRebuilder(rebuild)
    running = rebuilder.schedule("corp", "alpha")
    assert started.wait(10)
    merged = [rebuilder.schedule("corp", "beta") for _ in range(2)]
    broken = rebuilder.schedule("corp", "broken")
    assert merged[0] is merged[1]
    assert not any(future.done() for future in (running, *merged, broken))
    release.set()
    assert running.result(10) is None and merged[0].result(10) is None and broken.result(10) is None
    assert sorted(calls) == ["alpha", "beta", "broken"]
