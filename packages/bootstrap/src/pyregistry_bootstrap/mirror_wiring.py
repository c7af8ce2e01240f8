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
from pyregistry_application.metrics_ports import Metrics
from pyregistry_application.mirror_ports import MirrorStore
from pyregistry_application.mirror_updater import MirrorUpdater
from pyregistry_application.mirroring import MirrorOptions, MirrorService
from pyregistry_application.ports import ArtifactStorage, Clock, RegistryStore
from pyregistry_application.security.malware import MalwareBlocklist
from pyregistry_bootstrap.scan_wiring import build_scan_gate
from pyregistry_infrastructure.config import ConfigError
from pyregistry_infrastructure.settings import PypiSettings, Settings
from pyregistry_infrastructure.stores.memory import MemoryRegistryStore
from pyregistry_infrastructure.stores.memory_mirror import MemoryMirrorStore
from pyregistry_infrastructure.stores.sql_base import SqlRegistryStore
from pyregistry_infrastructure.stores.sql_mirror import SqlMirrorStore
from pyregistry_infrastructure.upstream.pypi import HttpUpstreamIndex

if TYPE_CHECKING:
    from pyregistry_infrastructure.otel_tracing import OpenTelemetryTracer

__all__ = ["build_mirror_service", "build_mirror_store", "build_upstream_index", "mirror_updater_lifespan"]

_log = structlog.get_logger(__name__)
MIRROR_SHUTDOWN_SECONDS = 5.0
"""How long shutdown waits for mirror work under way (a refresh's current page, running downloads)."""


def build_mirror_store(store: RegistryStore) -> MirrorStore | None:
    """The ``MirrorStore`` adapter matching the metadata store, or ``None`` when that store has none yet."""
    if isinstance(store, MemoryRegistryStore):
        return MemoryMirrorStore(store)
    if isinstance(store, SqlRegistryStore):
        return SqlMirrorStore(store)
    return None


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
    store: RegistryStore,
    storage: ArtifactStorage,
    clock: Clock,
    audit: AuditTrail,
    spool_dir: Path,
    *,
    malware: MalwareBlocklist | None = None,
    metrics: Metrics | None = None,
    tracer: OpenTelemetryTracer | None = None,
) -> MirrorService | None:
    """The mirroring use case for ``[pypi]``; ``None`` (mirroring off, logged) when the store has no adapter."""
    mirror_store = build_mirror_store(store)
    if mirror_store is None:
        _log.warning("mirror.unavailable", store=type(store).__name__)
        return None
    pypi = settings.pypi
    upstream = build_upstream_index(pypi)
    options = MirrorOptions(
        download_concurrency=pypi.mirror_download_concurrency,
        eager_download_percent=pypi.mirror_eager_download_percent,
        max_attempts=pypi.artifact_download_max_attempts,
        metadata_ttl_seconds=pypi.mirror_update_interval_seconds,
        verify_whole_max_bytes=pypi.mirror_verify_whole_max_bytes,
    )
    gate = build_scan_gate(settings.security, store, audit, clock)
    if tracer is not None:
        from pyregistry_infrastructure.otel_tracing import TracedCalls

        upstream = cast(HttpUpstreamIndex, TracedCalls(upstream, "upstream", tracer))
    return MirrorService(
        store, mirror_store, storage, upstream, clock, audit, spool_dir, options, malware, metrics, gate
    )


def mirror_updater_lifespan(
    settings: Settings, mirror: MirrorService, *, own_updater: bool = True
) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """A Litestar lifespan: runs the background updater (when enabled and ``own_updater``: False when the durable
    job table runs it on one node at a time); on shutdown mirroring stops first (so the updater's pass ends at its
    next project or download and upstream waits end), then the updater."""

    @asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncIterator[None]:
        updater = None
        if settings.pypi.mirror_update_enabled and own_updater:
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
