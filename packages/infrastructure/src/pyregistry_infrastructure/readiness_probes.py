"""Readiness probes for the metadata store and the artifact storage."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["CallableProbe"]


@dataclass(frozen=True, slots=True)
class CallableProbe:
    """Implements ``ReadinessProbe`` by calling ``answer`` (e.g. a store's ``ping``, a storage's ``check_ready``)."""

    name: str
    answer: Callable[[], None]

    def check(self) -> None:
        """Raise when ``answer`` raises."""
        self.answer()
