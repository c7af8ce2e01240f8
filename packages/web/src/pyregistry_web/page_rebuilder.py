"""Pages rebuilt after a change, off the request path, so the next reader finds them cached."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future

import structlog

from pyregistry_domain.errors import DomainError

__all__ = ["PageRebuilder", "Rebuild"]

_log = structlog.get_logger(__name__)

Rebuild = Callable[[str, str], None]
"""``(tenant slug, normalized project name)``: renders that tenant's changed pages."""


class PageRebuilder:
    """Runs ``rebuild`` for each scheduled project on one background thread, started when work arrives.

    Requests for a project already waiting are merged, so a burst of uploads to one project costs one rebuild. A
    rebuild that fails (e.g. the tenant was deleted meanwhile) is logged and dropped: readers then render on
    demand. Each request gets a future that is done once its rebuild has run (or was dropped), so an upload can
    answer after its pages are ready.
    """

    def __init__(self, rebuild: Rebuild) -> None:
        self._rebuild = rebuild
        self._pending: dict[tuple[str, str], Future[None]] = {}
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()
        self._worker: threading.Thread | None = None

    def schedule(self, tenant: str, project: str) -> Future[None]:
        """Rebuild ``project``'s pages (and the tenant's root index) soon; the future is done when that has run."""
        with self._lock:
            done = self._pending.setdefault((tenant, project), Future())
            self._idle.clear()
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, name="page-rebuilder", daemon=True)
                self._worker.start()
            return done

    def wait_idle(self, timeout: float) -> bool:
        """Block until nothing is pending or running; ``False`` on timeout."""
        return self._idle.wait(timeout)

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._pending:
                    self._worker = None
                    self._idle.set()
                    return
                (tenant, project), done = self._pending.popitem()
            try:
                self._rebuild(tenant, project)
                _log.debug("pages.rebuilt", tenant=tenant, project=project)
            except DomainError as exc:
                _log.debug("pages.rebuild_skipped", tenant=tenant, project=project, reason=exc.message)
            except Exception as exc:
                _log.warning("pages.rebuild_failed", tenant=tenant, project=project, error=str(exc))
            finally:
                if not done.cancelled():
                    done.set_result(None)
