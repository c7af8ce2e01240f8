"""Read-through mirroring: upstream project pages recorded per tenant, files cached on first download.

:class:`MirrorService` puts the three parts together for the layers above: serving files
(:mod:`~pyregistry_application.mirror_read_through`), refreshing pages (:mod:`~pyregistry_application.mirror_refresh`)
and the dashboard's status (:mod:`~pyregistry_application.mirror_status`); it owns their shutdown.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from pyregistry_application.audit import AuditTrail
from pyregistry_application.background_ports import BackgroundExecutor
from pyregistry_application.metadata_ports import CatalogueReader, TenantStore
from pyregistry_application.metrics_ports import Metrics, NoMetrics
from pyregistry_application.mirror_ports import MirrorStore, UpstreamIndex
from pyregistry_application.mirror_provenance import MirroredProvenance
from pyregistry_application.mirror_read_through import (
    SHUTTING_DOWN,
    ChecksumMismatch,
    MirrorOptions,
    MirrorReadThrough,
)
from pyregistry_application.mirror_refresh import MirrorRefresher, StopRequested, newest_versions
from pyregistry_application.mirror_scanning import ScanBeforeServe
from pyregistry_application.mirror_status import (
    REFRESH_ACTION,
    REFRESH_REQUEST_ACTION,
    MirrorActivity,
    MirrorProjectStatus,
    MirrorRefreshReport,
    MirrorRefreshRun,
    MirrorStatus,
    MirrorStatusReader,
)
from pyregistry_application.ports import ArtifactStorage, Clock
from pyregistry_application.provenance_continuity import ProvenanceContinuity
from pyregistry_application.security.malware import MalwareBlocklist
from pyregistry_application.side_work_ports import SideWork
from pyregistry_domain.distributions import ReleaseFile
from pyregistry_domain.projects import Project
from pyregistry_domain.tenants import Tenant

__all__ = [
    "REFRESH_ACTION",
    "REFRESH_REQUEST_ACTION",
    "ChecksumMismatch",
    "MirrorOptions",
    "MirrorProjectStatus",
    "MirrorRefreshReport",
    "MirrorRefreshRun",
    "MirrorService",
    "MirrorStatus",
    "newest_versions",
]

_log = logging.getLogger(__name__)


class MirrorService:
    """Mirrors upstream projects into a tenant and caches their files, verified by sha256.

    Background work (eager downloads, admin-requested refreshes) runs as jobs on ``executor``; the verification a
    streamed first download waits on runs as ``side_work``.
    """

    def __init__(
        self,
        tenants: TenantStore,
        catalogue: CatalogueReader,
        mirror_store: MirrorStore,
        storage: ArtifactStorage,
        upstream: UpstreamIndex,
        clock: Clock,
        audit: AuditTrail,
        spool_dir: Path,
        options: MirrorOptions,
        malware: MalwareBlocklist | None = None,
        metrics: Metrics | None = None,
        gate: ScanBeforeServe | None = None,
        provenance: MirroredProvenance | None = None,
        continuity: ProvenanceContinuity | None = None,
        *,
        executor: BackgroundExecutor,
        side_work: SideWork,
    ) -> None:
        self._continuity = continuity
        self._upstream = upstream
        self._metrics: Metrics = metrics or NoMetrics()
        self._closing = threading.Event()
        self._activity = MirrorActivity()
        self.files = MirrorReadThrough(
            catalogue,
            mirror_store,
            storage,
            upstream,
            spool_dir,
            options,
            executor=executor,
            side_work=side_work,
            metrics=self._metrics,
            closing=self._closing,
            gate=gate,
        )
        """Serving files: read-through, streamed first downloads, core metadata."""
        self.pages = MirrorRefresher(
            tenants,
            catalogue,
            mirror_store,
            upstream,
            clock,
            audit,
            options,
            self.files,
            self._activity,
            executor=executor,
            metrics=self._metrics,
            closing=self._closing,
            malware=malware,
            provenance=provenance,
        )
        """Refreshing pages from upstream."""
        self.refresh = self.pages.refresh
        """Refresh one project or every mirrored project of a tenant: :meth:`MirrorRefresher.refresh`."""
        self._status = MirrorStatusReader(tenants, catalogue, audit, self._activity, self.files.flights.pending)

    @property
    def metrics(self) -> Metrics:
        """Where mirroring counts its refreshes and background jobs (the updater counts its passes there too)."""
        return self._metrics

    @property
    def gate(self) -> ScanBeforeServe | None:
        """Scan before serve, when it is configured."""
        return self.files.gate

    @property
    def closing(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closing.is_set()

    # read side, called by PackageIndex

    def project(self, tenant: Tenant, normalized: str, recorded: Project | None) -> Project:
        """See :meth:`MirrorRefresher.project`."""
        return self.pages.project(tenant, normalized, recorded)

    @property
    def continuity(self) -> ProvenanceContinuity | None:
        """The provenance-continuity hold, when it is configured."""
        return self._continuity

    def servable(self, tenant_id: str, files: list[ReleaseFile]) -> list[ReleaseFile]:
        """``files`` without the quarantined ones (:meth:`MirrorReadThrough.servable`) and those held by provenance
        continuity: pages offer only what a download would serve."""
        files = self.files.servable(tenant_id, files)
        if self._continuity is None:
            return files
        held = self._continuity.held(tenant_id, files)
        return [file for file in files if file.filename not in held] if held else files

    def refuse_if_held(self, file: ReleaseFile) -> None:
        """Refuse a download of a file held by provenance continuity (cached or not) with the reason."""
        if self._continuity is not None:
            self._continuity.refuse_if_held(file)

    def read_through(self, file: ReleaseFile) -> ReleaseFile:
        """See :meth:`MirrorReadThrough.read_through`."""
        return self.files.read_through(file)

    def streams(self, file: ReleaseFile) -> bool:
        """See :meth:`MirrorReadThrough.streams`."""
        return self.files.streams(file)

    def stream_through(self, file: ReleaseFile) -> Iterator[bytes]:
        """See :meth:`MirrorReadThrough.stream_through`."""
        return self.files.stream_through(file)

    def core_metadata(self, file: ReleaseFile) -> bytes:
        """See :meth:`MirrorReadThrough.core_metadata`."""
        return self.files.core_metadata(file)

    def cache_file(self, file: ReleaseFile) -> None:
        """See :meth:`MirrorReadThrough.cache_file`."""
        self.files.cache_file(file)

    # refresh, called by the CLI, the admin UI and the background updater

    def refresh_project(self, tenant: Tenant, normalized: str, *, eager: bool = True) -> Project:
        """See :meth:`MirrorRefresher.refresh_project`."""
        return self.pages.refresh_project(tenant, normalized, eager=eager)

    def eager_files(self, tenant: Tenant, normalized: str) -> list[ReleaseFile]:
        """See :meth:`MirrorRefresher.eager_files`."""
        return self.pages.eager_files(tenant, normalized)

    def refresh_in_background(
        self, tenant_slug: str, project: str | None = None, *, actor: str, source_ip: str | None = None
    ) -> bool:
        """See :meth:`MirrorRefresher.refresh_in_background`."""
        return self.pages.refresh_in_background(tenant_slug, project, actor=actor, source_ip=source_ip)

    def refresh_all(
        self, *, actor: str = "mirror-updater", should_stop: StopRequested | None = None
    ) -> list[MirrorRefreshReport]:
        """See :meth:`MirrorRefresher.refresh_all`."""
        return self.pages.refresh_all(actor=actor, should_stop=should_stop)

    def mirrored_projects(self, tenant: Tenant) -> list[str]:
        """See :meth:`MirrorRefresher.mirrored_projects`."""
        return self.pages.mirrored_projects(tenant)

    # status and lifecycle

    def status(self, tenant_slug: str) -> MirrorStatus:
        """See :meth:`MirrorStatusReader.status`."""
        return self._status.status(tenant_slug)

    def wait_idle(self, timeout: float | None = None) -> None:
        """Block until queued and running downloads finish (used by tests and the CLI)."""
        self.files.flights.wait_idle(timeout)

    def close(self, timeout: float = 5.0) -> bool:
        """Stop mirroring: refreshes end before their next project or download, queued downloads are dropped,
        running ones end at their next chunk, and upstream retry waits end. Waits up to ``timeout`` seconds for
        the work under way; ``False`` when some is still running (an upstream request that has not answered yet):
        it is left to its thread, which ends with the process, and stores nothing half-written.
        """
        self._closing.set()
        self.files.flights.drop_queued(SHUTTING_DOWN)
        self._upstream.close()
        deadline = time.monotonic() + timeout
        idle = self._activity.wait_idle(timeout) and self.files.flights.wait_idle(deadline - time.monotonic())
        if not idle:
            _log.warning(
                "mirror.close_abandoned refreshes=%s downloads=%s",
                self._activity.running(),
                self.files.flights.count(),
            )
        return idle
