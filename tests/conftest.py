"""Shared fixtures."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

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


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    """A real server on an ephemeral loopback port, SQLite + filesystem storage, for one test module."""
    server = start_registry(tmp_path_factory.mktemp("registry"))
    try:
        yield server
    finally:
        server.stop()
