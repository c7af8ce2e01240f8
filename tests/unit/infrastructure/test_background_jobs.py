"""The lifespan job runner: jobs run periodically, a run under way finishes at shutdown, stuck jobs are cancelled."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from pyregistry_infrastructure.background import BackgroundJobs


def test_jobs_run_and_a_run_under_way_finishes_on_shutdown() -> None:
    events: list[str] = []

    async def slow_job() -> None:
        events.append("start")
        await asyncio.sleep(0.3)
        events.append("end")

    async def scenario() -> None:
        jobs = BackgroundJobs(grace_seconds=5)
        jobs.add("slow", slow_job, interval_seconds=60)
        async with jobs.running():
            await asyncio.sleep(0.05)
        assert jobs.runs == {"slow": 1}

    asyncio.run(scenario())
    assert events == ["start", "end"]


def test_blocking_jobs_run_in_a_thread_and_repeat() -> None:
    threads: list[str] = []

    def blocking_job() -> None:
        threads.append(threading.current_thread().name)
        time.sleep(0.01)

    async def scenario() -> int:
        jobs = BackgroundJobs()
        jobs.add("sync", blocking_job, interval_seconds=0.05, blocking=True)
        jobs.add("later", blocking_job, interval_seconds=60, run_at_start=False, blocking=True)
        async with jobs.running():
            deadline = time.monotonic() + 10
            while jobs.runs.get("sync", 0) < 3 and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
        return jobs.runs.get("sync", 0) + jobs.runs.get("later", 0) * 100

    runs = asyncio.run(scenario())
    assert 3 <= runs < 100, "the periodic job repeated and the delayed one never started"
    assert threading.main_thread().name not in threads


def test_failures_are_logged_and_stuck_jobs_are_cancelled_after_the_grace_period() -> None:
    cancelled: list[bool] = []

    async def failing() -> None:
        raise RuntimeError("upstream down")

    async def stuck() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    async def scenario() -> BackgroundJobs:
        jobs = BackgroundJobs(grace_seconds=0.1)
        jobs.add("failing", failing, interval_seconds=0.02)
        jobs.add("stuck", stuck, interval_seconds=60)
        async with jobs.running():
            deadline = time.monotonic() + 10
            while jobs.runs.get("failing", 0) < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            started = time.monotonic()
        assert time.monotonic() - started < 2, "shutdown waited only for the grace period"
        return jobs

    jobs = asyncio.run(scenario())
    assert jobs.runs["failing"] >= 2, "a failing run does not stop the loop"
    assert cancelled == [True]


def test_intervals_must_be_positive() -> None:
    with pytest.raises(ValueError, match="greater than zero"):
        BackgroundJobs().add("bad", lambda: None, interval_seconds=0)
