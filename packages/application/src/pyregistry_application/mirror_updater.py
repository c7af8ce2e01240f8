"""The background mirror updater: refreshes already-mirrored projects every interval."""

from __future__ import annotations

import logging
import threading

from pyregistry_application.mirroring import MirrorService

__all__ = ["MirrorUpdater"]

_log = logging.getLogger(__name__)
UPDATE_JOB = "mirror_update"


class MirrorUpdater:
    """A daemon thread calling :meth:`MirrorService.refresh_all` every interval; :meth:`stop` ends it."""

    def __init__(self, mirror: MirrorService, interval_seconds: float, *, on_startup: bool) -> None:
        self._mirror = mirror
        self._interval = max(1.0, interval_seconds)
        self._on_startup = on_startup
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs = 0

    def start(self) -> None:
        """Start the loop (idempotent)."""
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="mirror-updater", daemon=True)
        self._thread.start()
        _log.info("mirror.updater_started interval_seconds=%s on_startup=%s", self._interval, self._on_startup)

    def stop(self, timeout: float = 10.0) -> bool:
        """Ask the loop to stop: a pass under way ends before its next project or download. Waits up to
        ``timeout`` seconds for it; ``False`` when it is still waiting on upstream (its daemon thread is left to
        end on its own, or with the process)."""
        self._stopping.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
        finished = thread is None or not thread.is_alive()
        if finished:
            _log.info("mirror.updater_stopped runs=%s", self.runs)
        else:
            _log.info("mirror.updater_stopped runs=%s pass_abandoned=true", self.runs)
        return finished

    def _loop(self) -> None:
        if not self._on_startup and self._stopping.wait(self._interval):
            return
        while not self._stopping.is_set():
            try:
                with self._mirror.metrics.job_running(UPDATE_JOB):
                    reports = self._mirror.refresh_all(should_stop=self._stopping.is_set)
                self.runs += 1
                _log.info(
                    "mirror.updater_pass tenants=%s files_cached=%s stopped=%s",
                    len(reports),
                    sum(report.files_cached for report in reports),
                    any(report.stopped for report in reports),
                )
            except Exception as exc:
                if self._stopping.is_set():
                    _log.info("mirror.updater_pass_interrupted error=%s", str(exc) or type(exc).__name__)
                    return
                _log.exception("mirror.updater_failed")
            if self._stopping.wait(self._interval):
                return
