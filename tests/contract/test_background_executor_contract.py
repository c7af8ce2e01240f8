"""The ``BackgroundExecutor`` contract, run over every executor.

An executor joins the suite with one ``pytest.param`` in ``EXECUTOR_PARAMS``: a factory that takes a scratch
directory and returns a context manager yielding a fresh, not yet started executor with ``workers`` worker slots,
whose retry backoff is short (well under a second) so the retry cases finish quickly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest

from pyregistry_application.background_ports import BackgroundExecutor, PendingJob
from pyregistry_infrastructure.background.in_process import InProcessExecutor
from pyregistry_infrastructure.durable_jobs import DurableJobExecutor, SqlJobTable
from pyregistry_infrastructure.metadata_stores.sqlite import SqliteDatabase

ExecutorFactory = Callable[[Path, int], AbstractContextManager[BackgroundExecutor]]
WAIT = 20.0
"""Upper bound for anything the executor must do "soon" (a loaded CI machine is slow; passing runs take ms)."""


@contextmanager
def _in_process(_scratch: Path, workers: int) -> Iterator[BackgroundExecutor]:
    yield InProcessExecutor(workers, initial_backoff_seconds=0.05, max_backoff_seconds=0.2)


@contextmanager
def _durable_on_sqlite(scratch: Path, workers: int) -> Iterator[BackgroundExecutor]:
    scratch.mkdir(parents=True, exist_ok=True)
    database = SqliteDatabase(scratch / "jobs.sqlite3")
    try:
        yield DurableJobExecutor(
            SqlJobTable(database), workers=workers, poll_seconds=0.05, lease_seconds=2.0, backoff_seconds=0.05
        )
    finally:
        database.close()


EXECUTOR_PARAMS = [
    pytest.param(_in_process, id="in-process"),
    pytest.param(_durable_on_sqlite, id="durable-sqlite"),
]

Make = Callable[..., BackgroundExecutor]


@pytest.fixture(params=EXECUTOR_PARAMS)
def make(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Make]:
    """Builds executors of the parametrized kind; every one built is shut down after the test."""
    factory: ExecutorFactory = request.param
    with ExitStack() as stack:
        built: list[BackgroundExecutor] = []

        def build(workers: int = 2) -> BackgroundExecutor:
            executor = stack.enter_context(factory(tmp_path / f"executor-{len(built)}", workers))
            built.append(executor)
            return executor

        yield build
        for executor in built:
            executor.shutdown(0.5)


class Recorder:
    """A handler that records payloads; ``fail_first`` attempts raise, ``gate`` (when set) blocks each run."""

    def __init__(self, fail_first: int = 0, gate: threading.Event | None = None) -> None:
        self.payloads: list[dict[str, Any]] = []
        self.attempts = 0
        self.fail_first = fail_first
        self.gate = gate
        self.started = threading.Event()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)

    def __call__(self, payload: Mapping[str, Any]) -> None:
        with self._changed:
            self.attempts += 1
            attempt = self.attempts
            self._changed.notify_all()
        self.started.set()
        if self.gate is not None:
            assert self.gate.wait(WAIT), "the test never opened the gate"
        if attempt <= self.fail_first:
            raise RuntimeError(f"attempt {attempt} fails on purpose")
        with self._changed:
            self.payloads.append(dict(payload))
            self._changed.notify_all()

    def wait_for(self, condition: Callable[[], bool], timeout: float = WAIT) -> bool:
        with self._changed:
            return self._changed.wait_for(condition, timeout)


def test_a_submitted_job_runs_with_its_payload(make: Make) -> None:
    executor = make()
    handler = Recorder()
    executor.register("greet", handler)
    executor.start()
    executor.submit(PendingJob(kind="greet", payload={"name": "corp", "files": [1, 2]}))
    assert handler.wait_for(lambda: len(handler.payloads) == 1)
    assert handler.payloads == [{"name": "corp", "files": [1, 2]}]


def test_jobs_submitted_before_start_run_once_it_starts(make: Make) -> None:
    executor = make()
    handler = Recorder()
    executor.register("greet", handler)
    executor.submit(PendingJob(kind="greet", payload={"n": 1}))
    executor.submit(PendingJob(kind="greet", payload={"n": 2}))
    time.sleep(0.2)
    assert handler.attempts == 0, "nothing runs before start"
    executor.start()
    executor.start()  # idempotent
    assert handler.wait_for(lambda: len(handler.payloads) == 2)
    assert sorted(p["n"] for p in handler.payloads) == [1, 2]


def test_a_waiting_job_with_the_same_kind_and_dedupe_key_is_not_added_twice(make: Make) -> None:
    executor = make(workers=1)
    gate = threading.Event()
    blocker = Recorder(gate=gate)
    handler = Recorder()
    executor.register("block", blocker)
    executor.register("download", handler)
    executor.register("other", Recorder())
    executor.start()
    executor.submit(PendingJob(kind="block", payload={}))
    assert blocker.started.wait(WAIT), "the only worker is busy from here on"
    for payload, key in (({"n": 1}, "a"), ({"n": 2}, "a"), ({"n": 3}, "b"), ({"n": 4}, None), ({"n": 5}, None)):
        executor.submit(PendingJob(kind="download", payload=payload, dedupe_key=key))
    executor.submit(PendingJob(kind="other", payload={}, dedupe_key="a"))  # same key, other kind: not a duplicate
    gate.set()
    assert handler.wait_for(lambda: len(handler.payloads) == 4)
    time.sleep(0.3)
    assert sorted(p["n"] for p in handler.payloads) == [1, 3, 4, 5]


def test_a_job_running_does_not_absorb_a_new_one_with_its_key(make: Make) -> None:
    executor = make(workers=1)
    gate = threading.Event()
    handler = Recorder(gate=gate)
    executor.register("download", handler)
    executor.start()
    executor.submit(PendingJob(kind="download", payload={"n": 1}, dedupe_key="a"))
    assert handler.started.wait(WAIT)
    executor.submit(PendingJob(kind="download", payload={"n": 2}, dedupe_key="a"))
    gate.set()
    assert handler.wait_for(lambda: len(handler.payloads) == 2), "the later change needs its own run"


def test_a_failing_job_is_retried_until_it_succeeds(make: Make) -> None:
    executor = make()
    handler = Recorder(fail_first=2)
    executor.register("flaky", handler, max_attempts=3)
    executor.start()
    executor.submit(PendingJob(kind="flaky", payload={"n": 1}))
    assert handler.wait_for(lambda: len(handler.payloads) == 1)
    assert handler.attempts == 3


def test_a_job_gives_up_after_max_attempts(make: Make) -> None:
    executor = make()
    handler = Recorder(fail_first=100)
    executor.register("broken", handler, max_attempts=2)
    executor.start()
    executor.submit(PendingJob(kind="broken", payload={}))
    assert handler.wait_for(lambda: handler.attempts == 2)
    time.sleep(1.0)
    assert (handler.attempts, handler.payloads) == (2, [])


def test_a_failing_job_does_not_stop_the_others(make: Make) -> None:
    executor = make(workers=1)
    broken = Recorder(fail_first=100)
    handler = Recorder()
    executor.register("broken", broken, max_attempts=1)
    executor.register("fine", handler)
    executor.start()
    executor.submit(PendingJob(kind="broken", payload={}))
    executor.submit(PendingJob(kind="fine", payload={"n": 1}))
    assert handler.wait_for(lambda: len(handler.payloads) == 1)
    assert broken.attempts == 1


def test_a_periodic_task_runs_every_interval_with_an_empty_payload(make: Make) -> None:
    executor = make()
    handler = Recorder()
    executor.register("tick", handler)
    executor.every("tick", 0.1, exclusive=True)
    executor.start()
    assert handler.wait_for(lambda: len(handler.payloads) >= 3)
    assert all(payload == {} for payload in handler.payloads)


def test_runs_of_an_exclusive_periodic_task_never_overlap(make: Make) -> None:
    executor = make(workers=3)
    running = 0
    overlapped = threading.Event()
    finished: list[int] = []
    lock = threading.Lock()

    def slow(_payload: Mapping[str, Any]) -> None:
        nonlocal running
        with lock:
            running += 1
            if running > 1:
                overlapped.set()
        time.sleep(0.15)
        with lock:
            running -= 1
            finished.append(1)

    executor.register("slow", slow)
    executor.every("slow", 0.05, exclusive=True)
    executor.start()
    deadline = time.monotonic() + WAIT
    while len(finished) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(finished) >= 3
    assert not overlapped.is_set()


def test_shutdown_lets_a_running_job_finish_within_the_grace(make: Make) -> None:
    executor = make()
    handler = Recorder(gate=threading.Event())
    executor.register("work", handler)
    executor.start()
    executor.submit(PendingJob(kind="work", payload={"n": 1}))
    assert handler.started.wait(WAIT)
    assert handler.gate is not None
    threading.Timer(0.2, handler.gate.set).start()
    executor.shutdown(WAIT)
    assert handler.payloads == [{"n": 1}], "shutdown waited for the job under way"


def test_shutdown_does_not_hang_on_a_job_that_outlasts_the_grace(make: Make) -> None:
    executor = make()
    gate = threading.Event()
    handler = Recorder(gate=gate)
    executor.register("stuck", handler)
    executor.start()
    executor.submit(PendingJob(kind="stuck", payload={}))
    assert handler.started.wait(WAIT)
    started = time.monotonic()
    executor.shutdown(0.3)
    elapsed = time.monotonic() - started
    gate.set()
    assert elapsed < 5, f"shutdown took {elapsed:.1f}s past a 0.3 s grace"


def test_no_job_starts_after_shutdown(make: Make) -> None:
    executor = make(workers=1)
    gate = threading.Event()
    blocker = Recorder(gate=gate)
    handler = Recorder()
    executor.register("block", blocker)
    executor.register("later", handler)
    executor.every("later", 1.0)
    executor.start()
    executor.submit(PendingJob(kind="block", payload={}))
    assert blocker.started.wait(WAIT)
    executor.submit(PendingJob(kind="later", payload={}))
    threading.Timer(0.2, gate.set).start()
    executor.shutdown(WAIT)
    time.sleep(0.3)
    assert handler.attempts == 0
