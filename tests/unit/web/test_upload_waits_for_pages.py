"""An upload answers once its pages are rendered again, but never waits longer than its bound."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from pyregistry_web.page_rebuilder import PageRebuilder
from pyregistry_web.routes import upload


def test_the_wait_ends_at_its_bound_and_the_rebuild_still_finishes(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    rebuilt: list[str] = []

    def slow_rebuild(tenant: str, project: str) -> None:
        release.wait(10)
        rebuilt.append(project)

    rebuilder = PageRebuilder(slow_rebuild)
    monkeypatch.setattr(upload, "PAGES_READY_WAIT_SECONDS", 0.05)
    started = time.monotonic()
    asyncio.run(upload._pages_ready(rebuilder, "corp", "slow"))
    assert time.monotonic() - started < 5
    assert rebuilt == []
    release.set()
    assert rebuilder.wait_idle(10)
    assert rebuilt == ["slow"]


def test_the_wait_ends_as_soon_as_the_pages_are_rendered() -> None:
    rebuilt: list[str] = []
    rebuilder = PageRebuilder(lambda tenant, project: rebuilt.append(project))
    asyncio.run(upload._pages_ready(rebuilder, "corp", "quick"))
    assert rebuilt == ["quick"]
