"""What the in-process executor adds to the contract: clear refusals, the submitter's context variables, idling."""

from __future__ import annotations

import contextvars
import itertools
import threading
import time
from collections.abc import Mapping
from typing import Any

import pytest

from pyregistry_application.background_ports import PendingJob
from pyregistry_infrastructure.background.in_process import InProcessExecutor, UnknownJobKind

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def test_an_unknown_kind_is_refused_with_its_name() -> None:
    executor = InProcessExecutor(1)
    with pytest.raises(UnknownJobKind, match="'nothing'"):
        executor.submit(PendingJob(kind="nothing", payload={}))
    with pytest.raises(UnknownJobKind, match="'nothing'"):
        executor.every("nothing", 1.0)


@pytest.mark.parametrize(
    ("workers", "interval", "attempts"),
    [(0, 1.0, 1), (1, 0.0, 1), (1, 1.0, 0)],
    ids=["workers", "interval", "attempts"],
)
def test_nonsense_settings_are_refused(workers: int, interval: float, attempts: int) -> None:
    with pytest.raises(ValueError, match=r"at least|greater than zero"):
        executor = InProcessExecutor(workers)
        executor.register("kind", lambda _payload: None, max_attempts=attempts)
        executor.every("kind", interval)


def test_a_job_runs_in_its_submitters_context_variables() -> None:
    executor = InProcessExecutor(1)
    seen: list[str] = []
    executor.register("log", lambda _payload: seen.append(REQUEST_ID.get()))
    executor.start()
    try:
        token = REQUEST_ID.set("req-42")
        executor.submit(PendingJob(kind="log", payload={}))
        REQUEST_ID.reset(token)
        assert executor.wait_idle(10)
    finally:
        executor.shutdown(1)
    assert seen == ["req-42"]


def test_wait_idle_waits_for_running_jobs_and_times_out_while_one_is_stuck() -> None:
    executor = InProcessExecutor(2)
    gate = threading.Event()
    done: list[Mapping[str, Any]] = []

    def work(payload: Mapping[str, Any]) -> None:
        gate.wait(10)
        done.append(payload)

    executor.register("work", work)
    executor.start()
    try:
        executor.submit(PendingJob(kind="work", payload={"n": 1}))
        assert not executor.wait_idle(0.2)
        gate.set()
        assert executor.wait_idle(10)
        assert done == [{"n": 1}]
    finally:
        executor.shutdown(1)


def test_retries_back_off_before_the_next_attempt() -> None:
    executor = InProcessExecutor(1, initial_backoff_seconds=0.2, max_backoff_seconds=0.2)
    attempts: list[float] = []

    def flaky(_payload: Mapping[str, Any]) -> None:
        attempts.append(time.monotonic())
        if len(attempts) < 3:
            raise RuntimeError("upstream said no")

    executor.register("flaky", flaky, max_attempts=3)
    executor.start()
    try:
        executor.submit(PendingJob(kind="flaky", payload={}))
        for _ in range(400):
            if len(attempts) == 3:
                break
            time.sleep(0.05)
    finally:
        executor.shutdown(1)
    assert len(attempts) == 3
    assert all(later - earlier >= 0.2 for earlier, later in itertools.pairwise(attempts))
