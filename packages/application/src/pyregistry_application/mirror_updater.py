"""The background mirror updater: refreshes already-mirrored projects every interval."""

from __future__ import annotations

import logging
import threading

from pyregistry_application.mirroring import MirrorService

__all__ = ["MirrorUpdater"]

_log = logging.getLogger(__name__)


class MirrorUpdater:
    """A daemon thread calling :meth:`MirrorService.refresh_all`; :meth:`stop` ends it promptly."""

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

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the loop to stop and wait for the current pass to end."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        _log.info("mirror.updater_stopped")

    def _loop(self) -> None:
        if not self._on_startup and self._stopping.wait(self._interval):
            return
        while not self._stopping.is_set():
            try:
                reports = self._mirror.refresh_all()
                self.runs += 1
                _log.info(
                    "mirror.updater_pass tenants=%s files_cached=%s",
                    len(reports),
                    sum(report.files_cached for report in reports),
                )
            except Exception:
                _log.exception("mirror.updater_failed")
            if self._stopping.wait(self._interval):
                return
