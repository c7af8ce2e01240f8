"""Wiring for mirroring and background work: the upstream client, the mirror store adapter, and the lifespan that
runs the background executor (with the mirror updater)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, cast

import structlog
from litestar import Litestar

from pyregistry_application.audit import AuditTrail
from pyregistry_application.background_ports import BackgroundExecutor
from pyregistry_application.metadata_backend import MetadataBackend
from pyregistry_application.metrics_ports import Metrics
from pyregistry_application.mirror_ports import UpstreamIndex
from pyregistry_application.mirror_provenance import MirroredProvenance
from pyregistry_application.mirror_updater import MirrorUpdater
from pyregistry_application.mirroring import MirrorOptions, MirrorService
from pyregistry_application.ports import ArtifactStorage, Clock
from pyregistry_application.provenance_continuity import ProvenanceContinuity
from pyregistry_application.release_policy import ReleasePolicies
from pyregistry_application.security.malware import MalwareBlocklist
from pyregistry_application.side_work_ports import SideWork
from pyregistry_application.upload_times import UploadTimeRecorder
from pyregistry_bootstrap.scan_wiring import build_scan_gate
from pyregistry_infrastructure.background.in_process import InProcessExecutor
from pyregistry_infrastructure.background.side_threads import SideThreads
from pyregistry_infrastructure.config import ConfigError
from pyregistry_infrastructure.settings import PypiSettings, Settings
from pyregistry_infrastructure.sigstore_attestations import SigstoreAttestationVerifier
from pyregistry_infrastructure.upstream.pypi import HttpUpstreamIndex

if TYPE_CHECKING:
    from pyregistry_infrastructure.otel_tracing import OpenTelemetryTracer

__all__ = [
    "background_lifespan",
    "background_workers",
    "build_mirror_service",
    "build_upstream_index",
]

_log = structlog.get_logger(__name__)
MIRROR_SHUTDOWN_SECONDS = 5.0
"""How long shutdown waits for mirror work under way (a refresh's current page, running downloads)."""
BACKGROUND_GRACE_SECONDS = 1.0
"""How long shutdown then waits for the background jobs still running (mirror work has stopped by then)."""


def build_upstream_index(pypi: PypiSettings) -> HttpUpstreamIndex:
    """The one upstream client of ``[pypi]`` (origins, CA bundle, proxy, credentials, limits): a process builds it
    once and hands the same instance to the mirror and to the wheel fetcher of the security audit."""
    try:
        return HttpUpstreamIndex(
            pypi.base_url,
            timeout_seconds=pypi.mirror_http_timeout_seconds,
            metadata_max_bytes=pypi.mirror_metadata_max_bytes,
            artifact_max_bytes=pypi.mirror_artifact_max_bytes,
            max_attempts=pypi.artifact_download_max_attempts,
            initial_backoff_millis=pypi.artifact_download_initial_backoff_millis,
            file_hosts=pypi.file_hosts,
            ca_bundle=pypi.ca_bundle,
            proxy_url=pypi.proxy_url,
        )
    except ValueError as exc:
        raise ConfigError(f"key 'pypi.base_url': {exc}") from None


def build_mirror_service(
    settings: Settings,
    store: MetadataBackend,
    storage: ArtifactStorage,
    clock: Clock,
    audit: AuditTrail,
    spool_dir: Path,
    *,
    upstream: HttpUpstreamIndex,
    executor: BackgroundExecutor,
    side_work: SideWork,
    malware: MalwareBlocklist | None = None,
    metrics: Metrics | None = None,
    tracer: OpenTelemetryTracer | None = None,
    policies: ReleasePolicies | None = None,
) -> MirrorService | None:
    """The mirroring use case for ``[pypi]`` over the backend's ports and the process's one ``upstream`` client.
    With ``policies`` scan before serve uses each tenant's block severity; the upstream's upload times are recorded
    for the release cooldown."""
    pypi = settings.pypi
    options = MirrorOptions(
        download_concurrency=pypi.mirror_download_concurrency,
        eager_download_percent=pypi.mirror_eager_download_percent,
        max_attempts=pypi.artifact_download_max_attempts,
        metadata_ttl_seconds=pypi.mirror_update_interval_seconds,
        verify_whole_max_bytes=pypi.mirror_verify_whole_max_bytes,
    )
    gate = build_scan_gate(settings.security, store, audit, clock, policies)
    index: UpstreamIndex = upstream
    if tracer is not None:
        from pyregistry_infrastructure.otel_tracing import TracedCalls

        index = cast(UpstreamIndex, TracedCalls(upstream, "upstream", tracer))  # traced for the mirror only
    index = UploadTimeRecorder(index, store.release_policies)
    provenance, continuity = None, None
    if settings.security.mirror_provenance_enabled:
        records = store.provenance_records
        provenance = MirroredProvenance(records, storage, upstream.fetch_bytes, SigstoreAttestationVerifier(), clock)
        continuity = ProvenanceContinuity(
            store.tenants, store.catalogue, records, audit, clock, default=settings.security.provenance_continuity
        )
    return MirrorService(
        store.tenants,
        store.catalogue,
        store.mirror,
        storage,
        index,
        clock,
        audit,
        spool_dir,
        options,
        malware,
        metrics,
        gate,
        provenance=provenance,
        continuity=continuity,
        executor=executor,
        side_work=side_work,
    )


def background_workers(settings: Settings) -> int:
    """Worker threads of the background executor: the mirror's download concurrency, plus one for a refresh and
    one for the updater's pass."""
    return max(1, settings.pypi.mirror_download_concurrency) + 2


def background_lifespan(
    settings: Settings,
    executor: InProcessExecutor,
    side_work: SideThreads,
    mirror: MirrorService | None,
    *,
    own_updater: bool = True,
) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """A Litestar lifespan: schedules the mirror updater (when enabled and ``own_updater``: False when the durable
    job table runs it on one node at a time) and starts the background executor; on shutdown mirroring stops first
    (the updater's pass ends at its next project or download, queued downloads are dropped, upstream waits end),
    then the executor lets running jobs finish."""

    @asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncIterator[None]:
        updater = None
        if mirror is not None and settings.pypi.mirror_update_enabled and own_updater:
            updater = MirrorUpdater(
                mirror,
                executor,
                settings.pypi.mirror_update_interval_seconds,
                on_startup=settings.pypi.mirror_update_on_startup,
            )
            updater.schedule()
        executor.start()
        try:
            yield
        finally:
            finished = True
            if mirror is not None:
                finished = await asyncio.to_thread(mirror.close, MIRROR_SHUTDOWN_SECONDS)
            side_work.shutdown()
            await asyncio.to_thread(executor.shutdown, BACKGROUND_GRACE_SECONDS if finished else 0.0)
            if updater is not None:
                updater.report_stopped()

    return lifespan
