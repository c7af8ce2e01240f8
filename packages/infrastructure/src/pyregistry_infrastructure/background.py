"""Periodic background jobs tied to the server's lifespan (e.g. the mirror updater).

Register jobs before the app starts; ``running()`` starts them and, on shutdown, asks each loop to stop,
lets a run that is under way finish within ``grace_seconds``, then cancels whatever is still running.
Blocking jobs run in a worker thread so they never stall the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field

import structlog

from pyregistry_application.metrics_ports import Metrics, NoMetrics

__all__ = ["BackgroundJobs", "Job"]

_log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Job:
    """A named callable run every ``interval_seconds`` (first run at once when ``run_at_start``)."""

    name: str
    run: Callable[[], Awaitable[None]] | Callable[[], None]
    interval_seconds: float
    run_at_start: bool = True
    blocking: bool = False


@dataclass(slots=True)
class BackgroundJobs:
    """The set of jobs one server process runs."""

    grace_seconds: float = 20.0
    jobs: list[Job] = field(default_factory=list)
    runs: dict[str, int] = field(default_factory=dict)
    metrics: Metrics = field(default_factory=NoMetrics)

    def add(
        self,
        name: str,
        run: Callable[[], Awaitable[None]] | Callable[[], None],
        *,
        interval_seconds: float,
        run_at_start: bool = True,
        blocking: bool = False,
    ) -> None:
        """Register a job; ``blocking=True`` for a plain function that does I/O synchronously."""
        if interval_seconds <= 0:
            raise ValueError(f"job {name!r}: interval_seconds must be greater than zero")
        self.jobs.append(Job(name, run, interval_seconds, run_at_start, blocking))

    async def _run_once(self, job: Job) -> None:
        try:
            with self.metrics.job_running(job.name):
                if job.blocking:
                    await asyncio.to_thread(job.run)
                else:
                    result = job.run()
                    if result is not None:
                        await result
        except Exception:
            _log.exception("background.job_failed", job=job.name)
        finally:
            self.runs[job.name] = self.runs.get(job.name, 0) + 1

    async def _loop(self, job: Job, stop: asyncio.Event) -> None:
        if not job.run_at_start:
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), job.interval_seconds)
        while not stop.is_set():
            await self._run_once(job)
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), job.interval_seconds)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run every registered job until the block exits, then stop them cleanly."""
        stop = asyncio.Event()
        tasks = {asyncio.create_task(self._loop(job, stop), name=f"job:{job.name}"): job for job in self.jobs}
        for job in self.jobs:
            _log.info("background.job_started", job=job.name, interval_seconds=job.interval_seconds)
        try:
            yield
        finally:
            stop.set()
            if tasks:
                _done, pending = await asyncio.wait(tasks, timeout=self.grace_seconds)
                for task in pending:
                    _log.warning("background.job_cancelled", job=tasks[task].name)
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
            for job in self.jobs:
                _log.info("background.job_stopped", job=job.name, runs=self.runs.get(job.name, 0))
