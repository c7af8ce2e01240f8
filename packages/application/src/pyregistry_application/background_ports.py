"""One way to run background work: named job kinds with JSON payloads.

Use cases submit jobs by kind; the deployment picks the executor: in-process worker threads on a single node, or the
durable job table in the metadata store when several nodes share it. Handlers must be idempotent (a job may run again
after a crash of the node that claimed it) and take only what the payload carries (no closures over request state).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

import msgspec

__all__ = ["BackgroundExecutor", "JobHandler", "PendingJob"]

JobHandler = Callable[[Mapping[str, Any]], None]
"""Runs one job of a kind with its payload; raising marks the attempt failed (retried with backoff)."""


class PendingJob(msgspec.Struct, frozen=True):
    """A job to enqueue, possibly together with the change that causes it (in the same transaction);
    ``max_attempts`` overrides the attempts registered for its kind (needed when no executor enqueues it)."""

    kind: str
    payload: dict[str, Any]
    dedupe_key: str | None = None
    max_attempts: int | None = None


class BackgroundExecutor(Protocol):
    """Runs submitted jobs and periodic tasks outside the request that caused them."""

    def register(self, kind: str, handler: JobHandler, *, max_attempts: int = 5) -> None:
        """Name the handler for a job kind; every kind is registered before ``start``."""
        ...

    def submit(self, job: PendingJob) -> None:
        """Run the job later; with a ``dedupe_key``, a job of the same kind and key still waiting is not added twice."""
        ...

    def every(self, kind: str, interval_seconds: float, *, exclusive: bool = False) -> None:
        """Run ``kind``'s handler with an empty payload every ``interval_seconds``; ``exclusive`` means on one node
        at a time (a lease another node takes over when the holder dies)."""
        ...

    def start(self) -> None:
        """Start the workers (idempotent)."""
        ...

    def shutdown(self, grace_seconds: float) -> None:
        """Stop taking work, let running jobs finish within ``grace_seconds``, leave the rest for the next start."""
        ...
