"""Wiring for mirroring: the upstream client, the mirror store adapter and the updater lifespan."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, cast

import structlog
from litestar import Litestar

from pyregistry_application.audit import AuditTrail
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
from pyregistry_application.upload_times import UploadTimeRecorder
from pyregistry_bootstrap.scan_wiring import build_scan_gate
from pyregistry_infrastructure.config import ConfigError
from pyregistry_infrastructure.settings import PypiSettings, Settings
from pyregistry_infrastructure.sigstore_attestations import SigstoreAttestationVerifier
from pyregistry_infrastructure.upstream.pypi import HttpUpstreamIndex

if TYPE_CHECKING:
    from pyregistry_infrastructure.otel_tracing import OpenTelemetryTracer

__all__ = ["build_mirror_service", "build_upstream_index", "mirror_updater_lifespan"]

_log = structlog.get_logger(__name__)
MIRROR_SHUTDOWN_SECONDS = 5.0
"""How long shutdown waits for mirror work under way (a refresh's current page, running downloads)."""


def build_upstream_index(pypi: PypiSettings) -> HttpUpstreamIndex:
    """The one upstream client of ``[pypi]`` (origins, CA bundle, proxy, credentials, limits), for the mirror and
    for fetching wheels to audit."""
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
    malware: MalwareBlocklist | None = None,
    metrics: Metrics | None = None,
    tracer: OpenTelemetryTracer | None = None,
    policies: ReleasePolicies | None = None,
) -> MirrorService | None:
    """The mirroring use case for ``[pypi]`` over the backend's ports. With ``policies`` scan before serve uses each
    tenant's block severity; the upstream's upload times are recorded for the release cooldown."""
    pypi = settings.pypi
    upstream = build_upstream_index(pypi)
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

        index = cast(UpstreamIndex, TracedCalls(upstream, "upstream", tracer))
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
    )


def mirror_updater_lifespan(
    settings: Settings, mirror: MirrorService
) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """A Litestar lifespan: runs the background updater (when enabled); on shutdown mirroring stops first (so
    the updater's pass ends at its next project or download and upstream waits end), then the updater."""

    @asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncIterator[None]:
        updater = None
        if settings.pypi.mirror_update_enabled:
            updater = MirrorUpdater(
                mirror,
                settings.pypi.mirror_update_interval_seconds,
                on_startup=settings.pypi.mirror_update_on_startup,
            )
            updater.start()
        try:
            yield
        finally:
            finished = await asyncio.to_thread(mirror.close, MIRROR_SHUTDOWN_SECONDS)
            if updater is not None:
                await asyncio.to_thread(updater.stop, 1.0 if finished else 0.0)

    return lifespan
