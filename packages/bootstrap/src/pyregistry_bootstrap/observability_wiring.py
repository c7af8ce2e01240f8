"""Observability wiring: the Prometheus adapter and its multi-worker directory, the readiness probes, tracing."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import TYPE_CHECKING

from litestar import Litestar
from litestar.utils import normalize_path

from pyregistry_application.readiness import Readiness, ReadinessProbe
from pyregistry_infrastructure.blob_storage.opendal_storage import OpenDalStorage
from pyregistry_infrastructure.config import ConfigError
from pyregistry_infrastructure.readiness_probes import CallableProbe
from pyregistry_infrastructure.settings import Settings
from pyregistry_web.request_metrics import RouteResolver
from pyregistry_web.routes.operations import MetricsAccess

if TYPE_CHECKING:
    from pyregistry_infrastructure.otel_tracing import OpenTelemetryTracer
    from pyregistry_infrastructure.prometheus_metrics import PrometheusMetrics

__all__ = [
    "POOL_SAMPLE_SECONDS",
    "build_metrics",
    "build_readiness",
    "build_tracer",
    "metrics_access",
    "metrics_lifespan",
    "prepare_worker_metrics",
    "route_resolver",
    "trace_storage",
    "tracing_lifespan",
]

POOL_SAMPLE_SECONDS = 10.0
"""How often each process copies its database pool counters into the pool gauge."""


def build_metrics(settings: Settings, pool_stats: Callable[[], dict[str, int]] | None) -> PrometheusMetrics | None:
    """The Prometheus adapter (``None`` with ``metrics.enabled = false``); imported only when it is used."""
    if not settings.metrics.enabled:
        return None
    from pyregistry_infrastructure.prometheus_metrics import PrometheusMetrics

    return PrometheusMetrics(pool_stats)


def build_tracer(settings: Settings) -> OpenTelemetryTracer | None:
    """The OpenTelemetry tracer when ``tracing.enabled`` (the SDK is imported only then)."""
    if not settings.tracing.enabled:
        return None
    try:
        from pyregistry_infrastructure.otel_tracing import OpenTelemetryTracer, tracer_provider
    except ImportError as exc:
        raise ConfigError(
            f"key 'tracing.enabled': the OpenTelemetry SDK is not installed ({exc.name}); install the "
            "'pyregistry-infrastructure[tracing]' extra"
        ) from None
    try:
        return OpenTelemetryTracer(tracer_provider())
    except ValueError as exc:
        raise ConfigError(f"key 'tracing.enabled': {exc}") from None


def trace_storage(tracer: OpenTelemetryTracer, storage: OpenDalStorage) -> None:
    """Open child spans for every storage backend call (the metadata backend is given the tracer when built)."""
    from pyregistry_infrastructure.otel_tracing import TracedCalls

    storage.wrap_operator(lambda operator: TracedCalls(operator, "storage", tracer))


def tracing_lifespan(tracer: OpenTelemetryTracer) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """Export buffered spans when the server stops."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await asyncio.to_thread(tracer.shutdown)

    return lifespan


def prepare_worker_metrics(settings: Settings) -> None:
    """Before uvicorn starts several workers: point prometheus-client's multiprocess mode at an emptied directory
    under the data directory, unless ``PROMETHEUS_MULTIPROC_DIR`` is already set by the operator."""
    if not settings.metrics.enabled:
        return
    from pyregistry_infrastructure.prometheus_metrics import MULTIPROC_ENV, prepare_multiprocess_dir

    if os.environ.get(MULTIPROC_ENV):
        return
    directory = Path(settings.data_dir) / "metrics"
    prepare_multiprocess_dir(directory)
    os.environ[MULTIPROC_ENV] = str(directory)


def metrics_access(settings: Settings) -> MetricsAccess:
    """The token, or loopback-only scraping while neither a token nor API network rules are configured."""
    return MetricsAccess(
        token=settings.metrics.token,
        loopback_only=settings.metrics.token is None and not settings.network_source.api_allowed_cidrs,
    )


def metrics_lifespan(metrics: PrometheusMetrics) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """Sample the pool gauge periodically; at shutdown remove this process's live gauges."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncIterator[None]:
        async def sample() -> None:
            while True:
                metrics.sample_pool()
                await asyncio.sleep(POOL_SAMPLE_SECONDS)

        task = asyncio.create_task(sample(), name="metrics:pool")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            metrics.mark_process_dead()

    return lifespan


def route_resolver(app: Litestar) -> RouteResolver:
    """The route template the app's router would pick for ``(method, path)``, or ``None``."""

    def resolve(method: str, path: str) -> str | None:
        try:
            return app.asgi_router.handle_routing(path=normalize_path(path), method=method)[4]
        except Exception:
            return None

    return resolve


def build_readiness(database_ping: Callable[[], None] | None, storage: OpenDalStorage) -> Readiness:
    """Probes for the SQL database (``None``: the in-memory backend needs none) and the artifact storage.

    A shared store (sessions, rate limits, caches shared by nodes) adds its ``CallableProbe("shared_store", ...)``
    here once one exists.
    """
    probes: list[ReadinessProbe] = []
    if database_ping is not None:
        probes.append(CallableProbe("database", database_ping))
    probes.append(CallableProbe("storage", storage.check_ready))
    return Readiness(probes)
