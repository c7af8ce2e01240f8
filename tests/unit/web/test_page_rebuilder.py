"""After a change, pages are rebuilt on one background thread; bursts for one project merge into one rebuild."""

from __future__ import annotations

import threading

from pyregistry_domain.errors import Forbidden
from pyregistry_web.page_rebuilder import PageRebuilder


def test_a_burst_of_changes_to_one_project_is_rebuilt_once_with_the_latest_credentials() -> None:
    started = threading.Event()
    release = threading.Event()
    calls: list[tuple[str, str | None, str]] = []

    def rebuild(tenant: str, secret: str | None, project: str) -> None:
        calls.append((tenant, secret, project))
        started.set()
        release.wait(10)

    rebuilder = PageRebuilder(rebuild)
    rebuilder.schedule("corp", "first", "alpha")
    assert started.wait(10)
    for secret in ("second", "third", "fourth"):
        rebuilder.schedule("corp", secret, "beta")
    rebuilder.schedule("corp", "fifth", "alpha")
    assert not rebuilder.wait_idle(0.05)
    release.set()
    assert rebuilder.wait_idle(10)
    assert calls[0] == ("corp", "first", "alpha")
    assert sorted(calls[1:]) == [("corp", "fifth", "alpha"), ("corp", "fourth", "beta")]


def test_refused_and_failed_rebuilds_are_dropped_and_later_work_still_runs() -> None:
    calls: list[str] = []

    def rebuild(tenant: str, secret: str | None, project: str) -> None:
        calls.append(project)
        if project == "denied":
            raise Forbidden("token is limited to another project")
        if project == "broken":
            raise RuntimeError("render failed")

    rebuilder = PageRebuilder(rebuild)
    for project in ("denied", "broken"):
        rebuilder.schedule("corp", None, project)
        assert rebuilder.wait_idle(10)
    rebuilder.schedule("corp", None, "fine")
    assert rebuilder.wait_idle(10)
    assert calls == ["denied", "broken", "fine"]


def test_each_request_is_done_when_its_rebuild_has_run_and_merged_requests_share_it() -> None:
    release = threading.Event()
    started = threading.Event()
    calls: list[str] = []

    def rebuild(tenant: str, secret: str | None, project: str) -> None:
        started.set()
        release.wait(10)
        calls.append(project)
        if project == "broken":
            raise RuntimeError("render failed")

    rebuilder = PageRebuilder(rebuild)
    running = rebuilder.schedule("corp", None, "alpha")
    assert started.wait(10)
    merged = [rebuilder.schedule("corp", secret, "beta") for secret in ("one", "two")]
    broken = rebuilder.schedule("corp", None, "broken")
    assert merged[0] is merged[1]
    assert not any(future.done() for future in (running, *merged, broken))
    release.set()
    assert running.result(10) is None and merged[0].result(10) is None and broken.result(10) is None
    assert sorted(calls) == ["alpha", "beta", "broken"]
