"""The background executor and side work of a use-case test's mirror: real worker threads, started."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pyregistry_application.audit import AuditTrail
from pyregistry_application.metadata_backend import MetadataBackend
from pyregistry_application.mirror_ports import UpstreamIndex
from pyregistry_application.mirror_read_through import MirrorOptions
from pyregistry_application.mirror_updater import MirrorUpdater
from pyregistry_application.mirroring import MirrorService
from pyregistry_application.ports import ArtifactStorage, Clock
from pyregistry_infrastructure.background.in_process import InProcessExecutor
from pyregistry_infrastructure.background.side_threads import SideThreads

__all__ = ["TestBackground", "background", "mirror_service", "scheduled_updater", "stop_all"]

_started: list[TestBackground] = []


class TestBackground:
    """An in-process executor (short retry backoff) plus side threads, started; :func:`stop_all` (run after every
    test) shuts them down."""

    __test__ = False

    def __init__(self, workers: int = 4) -> None:
        self.executor = InProcessExecutor(workers, initial_backoff_seconds=0.05, max_backoff_seconds=0.2)
        self.side_work = SideThreads(name="test-side-work")

    def start(self) -> TestBackground:
        self.executor.start()
        _started.append(self)
        return self

    def stop(self) -> None:
        self.side_work.shutdown()
        self.executor.shutdown(2.0)


def stop_all() -> None:
    """Shut down every background started since the last call."""
    while _started:
        _started.pop().stop()


def background(workers: int = 4) -> dict[str, Any]:
    """``executor`` and ``side_work`` keyword arguments for a ``MirrorService``, already started."""
    started = TestBackground(workers).start()
    return {"executor": started.executor, "side_work": started.side_work}


def mirror_service(
    store: MetadataBackend,
    storage: ArtifactStorage,
    upstream: UpstreamIndex,
    clock: Clock,
    audit: AuditTrail,
    spool: Path,
    options: MirrorOptions,
    **collaborators: Any,
) -> MirrorService:
    """A mirror on ``store``'s tenants, catalogue and mirror store spooling to ``spool``, its background started;
    ``collaborators`` are the mirror's optional ones by name (``malware``, ``metrics``, ``gate``, ...)."""
    tenants, catalogue, mirror = store.tenants, store.catalogue, store.mirror
    return MirrorService(
        tenants, catalogue, mirror, storage, upstream, clock, audit, spool, options, **collaborators, **background()
    )


def scheduled_updater(
    mirror: MirrorService, interval_seconds: float, *, on_startup: bool
) -> tuple[MirrorUpdater, TestBackground]:
    """The mirror updater scheduled on a background of its own, started (stopped after the test)."""
    updates = TestBackground(workers=2)
    updater = MirrorUpdater(mirror, updates.executor, interval_seconds, on_startup=on_startup)
    updater.schedule()
    updates.start()
    return updater, updates
