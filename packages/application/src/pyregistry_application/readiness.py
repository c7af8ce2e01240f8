"""Readiness: does every dependency a request needs answer right now?"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import msgspec

__all__ = ["Readiness", "ReadinessProbe", "ReadinessReport"]


class ReadinessProbe(Protocol):
    """One dependency; ``check`` raises when it does not answer."""

    @property
    def name(self) -> str:
        """What the readiness answer calls it: ``database``, ``storage``, ``shared_store``."""
        ...

    def check(self) -> None:
        """Return when the dependency answers; raise otherwise."""


class ReadinessReport(msgspec.Struct, frozen=True):
    """Which dependencies answered and which did not (names only: no addresses, no error texts)."""

    ready: bool
    checked: list[str]
    failed: list[str]


class Readiness:
    """Asks every probe in turn; a raising probe is reported by name (its error is returned for the log)."""

    def __init__(self, probes: Sequence[ReadinessProbe]) -> None:
        self._probes = list(probes)

    def check(self) -> tuple[ReadinessReport, dict[str, Exception]]:
        """The report and, for the log only, each failed probe's error."""
        errors: dict[str, Exception] = {}
        for probe in self._probes:
            try:
                probe.check()
            except Exception as exc:
                errors[probe.name] = exc
        report = ReadinessReport(ready=not errors, checked=[probe.name for probe in self._probes], failed=list(errors))
        return report, errors
