"""The ``Metrics`` port on prometheus-client, with the text exposition for ``/metrics``.

With several worker processes, prometheus-client's multiprocess mode is used: ``PROMETHEUS_MULTIPROC_DIR`` must
name an empty directory before the first worker imports prometheus-client (see :func:`prepare_multiprocess_dir`);
each process then writes its values there and a scrape of any worker adds them all up.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from pyregistry_application.metrics_ports import DownloadSource

__all__ = ["MULTIPROC_ENV", "PrometheusMetrics", "multiprocess_dir", "prepare_multiprocess_dir"]

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
"""Seconds: from a cached index page (about a millisecond) to a large upload."""

PoolStats = Callable[[], dict[str, int]]


def multiprocess_dir() -> Path | None:
    """The multiprocess directory this process writes to, when multiprocess mode is on."""
    value = os.environ.get(MULTIPROC_ENV)
    return Path(value) if value else None


def prepare_multiprocess_dir(directory: Path) -> None:
    """Create ``directory`` and remove a previous run's value files (stale counts would otherwise add up)."""
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()


class PrometheusMetrics:
    """Implements ``Metrics``. Label sets are bounded: route templates, status codes, fixed reasons and kinds."""

    def __init__(self, pool_stats: PoolStats | None = None) -> None:
        self._registry = CollectorRegistry(auto_describe=True)
        self._pool_stats = pool_stats
        self._multiprocess_dir = multiprocess_dir()
        registry = self._registry
        self._requests = Counter(
            "pyregistry_http_requests",
            "HTTP requests answered, by method, route template and status",
            ["method", "route", "status"],
            registry=registry,
        )
        self._latency = Histogram(
            "pyregistry_http_request_duration_seconds",
            "Time from request start to the end of the response, by method and route template",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self._refused = Counter(
            "pyregistry_requests_refused", "Requests refused before routing, by reason", ["reason"], registry=registry
        )
        self._uploads = Counter("pyregistry_uploads", "Distribution files accepted", registry=registry)
        self._uploaded_bytes = Counter(
            "pyregistry_uploaded_bytes", "Bytes of distribution files accepted", registry=registry
        )
        self._downloads = Counter(
            "pyregistry_downloads",
            "Distribution file downloads started, by source (local, mirror_cache, upstream)",
            ["source"],
            registry=registry,
        )
        self._refreshes = Counter(
            "pyregistry_mirror_refreshes",
            "Mirror refreshes finished, by outcome (ok, errors, stopped)",
            ["outcome"],
            registry=registry,
        )
        self._refresh_errors = Counter(
            "pyregistry_mirror_refresh_errors",
            "Projects or files a mirror refresh could not update",
            registry=registry,
        )
        self._page_cache = Counter(
            "pyregistry_page_cache_lookups",
            "Index page requests served from the rendered-page cache (hit) or rendered (miss)",
            ["result"],
            registry=registry,
        )
        self._jobs_queued = Gauge(
            "pyregistry_background_jobs_queued",
            "Background jobs waiting, by kind",
            ["kind"],
            registry=registry,
            multiprocess_mode="livesum",
        )
        self._jobs_running = Gauge(
            "pyregistry_background_jobs_running",
            "Background jobs running, by kind",
            ["kind"],
            registry=registry,
            multiprocess_mode="livesum",
        )
        self._jobs_finished = Counter(
            "pyregistry_background_jobs_finished",
            "Background jobs finished, by kind and outcome (ok, failed)",
            ["kind", "outcome"],
            registry=registry,
        )
        self._pool = Gauge(
            "pyregistry_db_pool_connections",
            "PostgreSQL pool connections by state (size, available, waiting requests, max)",
            ["state"],
            registry=registry,
            multiprocess_mode="livesum",
        )
        self._request_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self._page_cache_hit = self._page_cache.labels("hit")
        self._page_cache_miss = self._page_cache.labels("miss")
        self._download_children = {source: self._downloads.labels(source.value) for source in DownloadSource}

    def request_served(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count the request and observe its latency."""
        key = (method, route, status)
        children = self._request_children.get(key)
        if children is None:
            children = (self._requests.labels(method, route, str(status)), self._latency.labels(method, route))
            self._request_children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def request_refused(self, reason: str) -> None:
        """Count a refusal by reason."""
        self._refused.labels(reason).inc()

    def upload_stored(self, size: int) -> None:
        """Count an accepted file and its bytes."""
        self._uploads.inc()
        self._uploaded_bytes.inc(size)

    def download_served(self, source: DownloadSource) -> None:
        """Count a download by source."""
        self._download_children[source].inc()

    def mirror_refreshed(self, *, errors: int, stopped: bool) -> None:
        """Count a refresh by outcome and its errors."""
        outcome = "stopped" if stopped else "errors" if errors else "ok"
        self._refreshes.labels(outcome).inc()
        if errors:
            self._refresh_errors.inc(errors)

    def page_cache_lookup(self, *, hit: bool) -> None:
        """Count a cache hit or miss."""
        (self._page_cache_hit if hit else self._page_cache_miss).inc()

    def job_queued(self, kind: str, delta: int = 1) -> None:
        """Move the queued gauge of ``kind``."""
        self._jobs_queued.labels(kind).inc(delta)

    @contextmanager
    def job_running(self, kind: str) -> Iterator[None]:
        """Count the block as a running job; its outcome when it ends."""
        running = self._jobs_running.labels(kind)
        running.inc()
        outcome = "failed"
        try:
            yield
            outcome = "ok"
        finally:
            running.dec()
            self._jobs_finished.labels(kind, outcome).inc()

    def sample_pool(self) -> None:
        """Copy the database pool's current counters into the pool gauge (no-op without a pool)."""
        if self._pool_stats is None:
            return
        stats = self._pool_stats()
        self._pool.labels("size").set(stats.get("pool_size", 0))
        self._pool.labels("available").set(stats.get("pool_available", 0))
        self._pool.labels("waiting").set(stats.get("requests_waiting", 0))
        self._pool.labels("max").set(stats.get("pool_max", 0))

    def mark_process_dead(self) -> None:
        """Drop this process's live gauges from the multiprocess directory (called at shutdown)."""
        if self._multiprocess_dir is not None:
            multiprocess.mark_process_dead(os.getpid(), str(self._multiprocess_dir))  # type: ignore[no-untyped-call]

    def exposition(self) -> tuple[bytes, str]:
        """The Prometheus text format of every process's metrics, and its content type."""
        self.sample_pool()
        if self._multiprocess_dir is None:
            return generate_latest(self._registry), CONTENT_TYPE_LATEST
        combined = CollectorRegistry()
        multiprocess.MultiProcessCollector(combined, str(self._multiprocess_dir))  # type: ignore[no-untyped-call]
        return generate_latest(combined), CONTENT_TYPE_LATEST
