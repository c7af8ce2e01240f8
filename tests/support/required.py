"""Preconditions a test cannot run without: a skip on a developer's machine, a failure under CI (``CI=true``)."""

from __future__ import annotations

import os

import pytest

__all__ = ["in_ci", "require"]


def in_ci() -> bool:
    """True when ``CI`` is set to ``true`` (``.ci/run`` sets it), where every declared test must run."""
    return os.environ.get("CI", "").lower() == "true"


def require(condition: bool, reason: str, *, module: bool = False) -> None:
    """Skip with ``reason`` unless ``condition``; under CI fail instead, so a missing tool is never a silent skip."""
    if condition:
        return
    if in_ci():
        pytest.fail(f"{reason} (CI=true: this test must run)", pytrace=False)
    pytest.skip(reason, allow_module_level=module)
