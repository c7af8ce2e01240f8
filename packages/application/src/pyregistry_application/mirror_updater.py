"""The background mirror updater: refreshes already-mirrored projects every interval, as the exclusive periodic
``mirror_update`` job of the background executor."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from pyregistry_application.background_ports import BackgroundExecutor, PendingJob
from pyregistry_application.mirroring import MirrorService

__all__ = ["UPDATE_JOB", "MirrorUpdater"]

_log = logging.getLogger(__name__)
UPDATE_JOB = "mirror_update"


class MirrorUpdater:
    """Runs :meth:`MirrorService.refresh_all` every interval on ``executor`` (one node at a time); a pass under way
    when the mirror closes ends before its next project or download."""

    def __init__(
        self, mirror: MirrorService, executor: BackgroundExecutor, interval_seconds: float, *, on_startup: bool
    ) -> None:
        self._mirror = mirror
        self._executor = executor
        self._interval = max(1.0, interval_seconds)
        self._on_startup = on_startup
        self._in_pass = False
        self._pass = threading.Lock()
        self.runs = 0

    def schedule(self) -> None:
        """Register the pass and its interval (before the executor starts); with ``on_startup``, a first pass is
        queued to run as soon as it does."""
        self._executor.register(UPDATE_JOB, self.run_pass, max_attempts=1)
        self._executor.every(UPDATE_JOB, self._interval, exclusive=True)
        if self._on_startup:
            self._executor.submit(PendingJob(kind=UPDATE_JOB, payload={}, dedupe_key="on-startup"))
        _log.info("mirror.updater_scheduled interval_seconds=%s on_startup=%s", self._interval, self._on_startup)

    def run_pass(self, _payload: Mapping[str, Any]) -> None:
        """One pass over every mirroring tenant; a failure is logged and the next interval tries again. A pass
        due while another runs (the start-up pass outlasting the interval) is skipped."""
        if not self._pass.acquire(blocking=False):
            _log.info("mirror.updater_pass_skipped reason=a pass is running")
            return
        self._in_pass = True
        try:
            with self._mirror.metrics.job_running(UPDATE_JOB):
                reports = self._mirror.refresh_all()
            self.runs += 1
            _log.info(
                "mirror.updater_pass tenants=%s files_cached=%s stopped=%s",
                len(reports),
                sum(report.files_cached for report in reports),
                any(report.stopped for report in reports),
            )
        except Exception as exc:
            if self._mirror.closing:
                _log.info("mirror.updater_pass_interrupted error=%s", str(exc) or type(exc).__name__)
                return
            _log.exception("mirror.updater_failed")
        finally:
            self._in_pass = False
            self._pass.release()

    def report_stopped(self) -> None:
        """Log that the updater stopped (after the executor's shutdown), saying whether a pass was left running."""
        if self._in_pass:
            _log.info("mirror.updater_stopped runs=%s pass_abandoned=true", self.runs)
        else:
            _log.info("mirror.updater_stopped runs=%s", self.runs)
