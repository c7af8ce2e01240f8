"""Shared fixtures."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.support.background import stop_all
from tests.support.server import RunningRegistry, start_registry


def _find_shared_dir() -> Path | None:
    """``shared/`` beside the checkout (CI clones next to it); ``PYREGISTRY_SHARED_DIR`` overrides."""
    override = os.environ.get("PYREGISTRY_SHARED_DIR")
    if override:
        return Path(override)
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared"
        if candidate.is_dir() and (candidate / "notes").is_dir():
            return candidate
    return None


SHARED_DIR = _find_shared_dir()

# Under CI the property and fuzz tests draw the same examples every run (a gate that fails only on a regression);
# on a developer's machine they draw new ones each run and keep failures in `.hypothesis/`.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("explore", print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "explore"))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line per skip reason with its count, so a skipped suite (e.g. SQL Server) shows in every CI log."""
    reasons: Counter[str] = Counter()
    for report in terminalreporter.stats.get("skipped", []):
        if isinstance(report.longrepr, tuple):
            reasons[str(report.longrepr[2]).removeprefix("Skipped: ")] += 1
    if reasons:
        terminalreporter.section("skip reasons")
        for reason, count in reasons.most_common():
            terminalreporter.write_line(f"{count:4d} skipped: {reason}")


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    """A real server on an ephemeral loopback port, SQLite + filesystem storage, for one test module."""
    server = start_registry(tmp_path_factory.mktemp("registry"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _stop_test_backgrounds() -> Iterator[None]:
    """Background executors a test started for its mirror stop with the test."""
    yield
    stop_all()
