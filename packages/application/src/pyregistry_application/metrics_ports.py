"""The port through which use cases count what they do, without knowing the metrics library."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

__all__ = ["DownloadSource", "Metrics", "MetricsExposition", "NoMetrics"]


class DownloadSource(enum.Enum):
    """Where a served distribution file came from."""

    LOCAL = "local"
    """A file uploaded to this registry."""
    MIRROR_CACHE = "mirror_cache"
    """A mirrored file already cached in storage."""
    UPSTREAM = "upstream"
    """A mirrored file streamed from the upstream index while it is being cached."""


class Metrics(Protocol):
    """Counters and gauges a running registry exports; every method is cheap and never raises."""

    def request_served(self, method: str, route: str, status: int, seconds: float) -> None:
        """One HTTP request answered; ``route`` is the route template, never the raw path."""

    def request_refused(self, reason: str) -> None:
        """A request refused before it reached the app (``rate_limited``, ``source_network``)."""

    def upload_stored(self, size: int) -> None:
        """An accepted upload of ``size`` bytes."""

    def download_served(self, source: DownloadSource) -> None:
        """A distribution file download started."""

    def mirror_refreshed(self, *, errors: int, stopped: bool) -> None:
        """A mirror refresh finished with ``errors`` failed projects or files."""

    def page_cache_lookup(self, *, hit: bool) -> None:
        """A rendered index page was served from the cache (hit) or rendered (miss)."""

    def job_queued(self, kind: str, delta: int = 1) -> None:
        """``delta`` jobs of ``kind`` joined (positive) or left (negative) a queue."""

    def job_running(self, kind: str) -> AbstractContextManager[None]:
        """Counts one job of ``kind`` as running for the block; an exception leaving it counts as a failure."""


class NoMetrics:
    """Implements ``Metrics`` by counting nothing (tests, CLI, metrics turned off)."""

    def request_served(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count nothing."""

    def request_refused(self, reason: str) -> None:
        """Count nothing."""

    def upload_stored(self, size: int) -> None:
        """Count nothing."""

    def download_served(self, source: DownloadSource) -> None:
        """Count nothing."""

    def mirror_refreshed(self, *, errors: int, stopped: bool) -> None:
        """Count nothing."""

    def page_cache_lookup(self, *, hit: bool) -> None:
        """Count nothing."""

    def job_queued(self, kind: str, delta: int = 1) -> None:
        """Count nothing."""

    @contextmanager
    def job_running(self, kind: str) -> Iterator[None]:
        """Run the block, counting nothing."""
        yield


class MetricsExposition(Protocol):
    """Renders the current metrics for a scrape."""

    def exposition(self) -> tuple[bytes, str]:
        """The body and its content type."""
