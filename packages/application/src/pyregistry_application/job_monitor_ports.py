"""What the admin UI sees of durable background work: counts per state, recent jobs, retrying a failed one."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, Protocol

import msgspec

from pyregistry_application.background_ports import PendingJob

__all__ = ["JOB_STATES", "ClaimedJob", "JobCounts", "JobMonitor", "JobQueue", "JobRecord"]

JOB_STATES = ("waiting", "running", "failed", "done")


class JobCounts(msgspec.Struct, frozen=True):
    """How many jobs are in each state."""

    waiting: int = 0
    running: int = 0
    failed: int = 0
    done: int = 0


class JobRecord(msgspec.Struct, frozen=True):
    """One job as the admin UI lists it."""

    id: str
    kind: str
    state: str
    attempts: int
    max_attempts: int
    run_at: datetime
    created_at: datetime
    claimed_by: str | None = None
    last_error: str | None = None
    finished_at: datetime | None = None


class JobMonitor(Protocol):
    """Reads and repairs the job table (implemented by the durable executor's table)."""

    def counts(self) -> JobCounts:
        """Jobs per state."""
        ...

    def recent(self, state: str | None, limit: int) -> list[JobRecord]:
        """The newest jobs (of ``state`` when given), newest first."""
        ...

    def retry(self, job_id: str) -> bool:
        """Put a failed job back to waiting with a fresh attempt count; False when no failed job has that id."""
        ...


class ClaimedJob(msgspec.Struct, frozen=True):
    """A job this node now runs (``attempts`` counts this run)."""

    id: str
    kind: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int


class JobQueue(JobMonitor, Protocol):
    """The durable job table the durable executor runs on: the queue, its leases and the periodic-task leases."""

    def enqueue(self, job: PendingJob, max_attempts: int) -> str | None:
        """Add ``job`` in its own transaction; its id, or None when a waiting job has the same kind and dedupe key."""
        ...

    def claim(self, kinds: Collection[str], node: str, lease_seconds: float) -> ClaimedJob | None:
        """Take the oldest due job of one of ``kinds`` (waiting, or running on an expired lease) for ``node``."""
        ...

    def complete(self, job_id: str, node: str) -> bool:
        """Mark the job done; False when ``node`` no longer holds it."""
        ...

    def fail(self, job: ClaimedJob, node: str, error: str, retry_in_seconds: float) -> str:
        """Record a failed attempt (waiting again later, or failed for good); the job's new state."""
        ...

    def renew(self, node: str, lease_seconds: float) -> int:
        """Extend the leases of every job and periodic task ``node`` holds; the number of jobs renewed."""
        ...

    def prune(self, finished_before: datetime) -> int:
        """Delete done jobs finished before the given time (failed ones stay for the admin)."""
        ...

    def hold_lease(self, name: str, node: str, lease_seconds: float) -> bool:
        """Take or keep the lease of periodic task ``name``; True when ``node`` holds it now."""
        ...

    def lease_due(self, name: str) -> bool:
        """True when periodic task ``name`` should run now."""
        ...

    def ran(self, name: str, node: str, interval_seconds: float) -> None:
        """Record that ``node`` ran periodic task ``name``: the next run is due ``interval_seconds`` from now."""
        ...

    def lease_holder(self, name: str) -> str | None:
        """The node holding periodic task ``name``'s lease now, if any."""
        ...

    def release_leases(self, node: str) -> None:
        """Give up every periodic-task lease ``node`` holds, so another node takes over at once."""
        ...
