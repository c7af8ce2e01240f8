"""What the admin UI sees of durable background work: counts per state, recent jobs, retrying a failed one."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import msgspec

__all__ = ["JOB_STATES", "JobCounts", "JobMonitor", "JobRecord"]

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
