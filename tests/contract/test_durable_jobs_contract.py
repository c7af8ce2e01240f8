"""The durable job executor behaves the same on every SQL metadata store: SQLite, PostgreSQL, SQL Server.

Each "node" is its own store (its own connections) and executor on one shared database, as separate server
processes would be. A node that dies is simulated by claiming work in its name and never finishing it.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from pyregistry_application.background_ports import PendingJob
from pyregistry_application.metadata_backend import MetadataBackend
from pyregistry_infrastructure.durable_jobs import DurableJobExecutor
from tests.contract.conftest import SQL_STORE_PARAMS, open_store

pytestmark = pytest.mark.parametrize("store_location", SQL_STORE_PARAMS, indirect=True)

LEASE = 1.0
Node = Callable[..., DurableJobExecutor]


@pytest.fixture
def node(store_location: tuple[str, str]) -> Iterator[Node]:
    """Opens another node on the shared database; every node is shut down and closed afterwards."""
    executors: list[DurableJobExecutor] = []
    stores: list[MetadataBackend] = []

    def factory(**options: Any) -> DurableJobExecutor:
        store = open_store(*store_location, max_connections=6)
        assert store.job_queue is not None
        stores.append(store)
        settings: dict[str, Any] = {"poll_seconds": 0.05, "lease_seconds": LEASE, "backoff_seconds": 0.05}
        executor = DurableJobExecutor(store.job_queue, **(settings | options))
        executors.append(executor)
        return executor

    try:
        yield factory
    finally:
        for executor in executors:
            executor.shutdown(5)
        for store in stores:
            store.close()


def _wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


class Recorder:
    """A handler recording the payloads it ran, thread-safe."""

    def __init__(self, fail_times: int = 0) -> None:
        self.seen: list[dict[str, Any]] = []
        self._fail_times = fail_times
        self._lock = threading.Lock()

    def __call__(self, payload: Mapping[str, Any]) -> None:
        with self._lock:
            self.seen.append(dict(payload))
            if len(self.seen) <= self._fail_times:
                raise RuntimeError(f"receiver down (call {len(self.seen)})")


def test_a_submitted_job_runs_once_with_its_payload_and_is_kept_as_done(node: Node) -> None:
    executor = node()
    handler = Recorder()
    executor.register("greet", handler)
    executor.start()
    executor.submit(PendingJob("greet", {"name": "ada", "n": 1}))
    _wait_for(lambda: executor.table.counts().done == 1)
    assert handler.seen == [{"name": "ada", "n": 1}]
    [record] = executor.table.recent("done", 10)
    assert (record.kind, record.attempts, record.claimed_by, record.last_error) == ("greet", 1, executor.node, None)


def test_a_waiting_job_with_the_same_dedupe_key_is_not_added_twice(node: Node) -> None:
    executor = node()
    executor.register("refresh", Recorder())
    for _ in range(3):
        executor.submit(PendingJob("refresh", {"project": "a"}, dedupe_key="a"))
    executor.submit(PendingJob("refresh", {"project": "b"}, dedupe_key="b"))
    assert executor.table.counts().waiting == 2


def test_a_failing_job_is_retried_with_backoff_then_kept_as_failed_and_can_be_retried(node: Node) -> None:
    executor = node(backoff_seconds=0.2)
    handler = Recorder(fail_times=3)
    executor.register("post", handler, max_attempts=3)
    executor.start()
    started = time.monotonic()
    executor.submit(PendingJob("post", {"to": "x"}))
    _wait_for(lambda: executor.table.counts().failed == 1)
    assert time.monotonic() - started >= 0.2 + 0.4  # waits 0.2 s, then 0.4 s between the three attempts
    [failed] = executor.table.recent("failed", 10)
    assert failed.attempts == 3
    assert failed.last_error == "RuntimeError: receiver down (call 3)"
    assert len(handler.seen) == 3

    assert executor.table.retry(failed.id)
    assert not executor.table.retry(failed.id)  # no longer failed
    _wait_for(lambda: executor.table.counts().done == 1)
    assert len(handler.seen) == 4
    assert executor.table.counts().failed == 0


def test_a_job_claimed_by_a_node_that_died_is_run_by_another_after_its_lease(node: Node) -> None:
    dead = node()
    dead.register("post", Recorder())
    dead.submit(PendingJob("post", {"to": "x"}))
    claimed = dead.table.claim(["post"], "dead-node", LEASE)
    assert claimed is not None and claimed.attempts == 1
    survivor = node()
    handler = Recorder()
    survivor.register("post", handler)
    survivor.start()
    time.sleep(LEASE / 2)
    assert handler.seen == []  # the lease still holds
    _wait_for(lambda: survivor.table.counts().done == 1)
    assert handler.seen == [{"to": "x"}]
    record = survivor.table.get(claimed.id)
    assert record is not None and (record.attempts, record.claimed_by) == (2, survivor.node)
    assert not dead.table.complete(claimed.id, "dead-node")  # the dead node's late answer changes nothing


def test_a_lease_expiring_on_the_last_attempt_fails_the_job(node: Node) -> None:
    dead = node()
    dead.register("post", Recorder(), max_attempts=1)
    dead.submit(PendingJob("post", {}))
    assert dead.table.claim(["post"], "dead-node", LEASE) is not None
    survivor = node()
    handler = Recorder()
    survivor.register("post", handler, max_attempts=1)
    survivor.start()
    _wait_for(lambda: survivor.table.counts().failed == 1)
    assert handler.seen == []
    [failed] = survivor.table.recent("failed", 1)
    assert failed.last_error == "the node running its last attempt stopped (lease expired)"


def test_a_long_job_keeps_its_lease_while_it_runs(node: Node) -> None:
    first = node()
    release = threading.Event()
    runs = Recorder()

    def slow(payload: Mapping[str, Any]) -> None:
        runs(payload)
        release.wait(10)

    first.register("slow", slow)
    first.start()
    first.submit(PendingJob("slow", {}))
    _wait_for(lambda: len(runs.seen) == 1)
    second = node()
    second.register("slow", slow)
    second.start()
    time.sleep(3 * LEASE)  # the heartbeat renews the lease, so the second node never takes the job
    release.set()
    _wait_for(lambda: first.table.counts().done == 1)
    assert len(runs.seen) == 1


def test_several_nodes_run_each_job_exactly_once(node: Node) -> None:
    handler = Recorder()
    nodes = [node(workers=2) for _ in range(3)]
    for executor in nodes:
        executor.register("count", handler)
    for number in range(60):
        nodes[number % 3].submit(PendingJob("count", {"n": number}))
    for executor in nodes:
        executor.start()
    _wait_for(lambda: nodes[0].table.counts().done == 60, timeout=60)
    assert Counter(payload["n"] for payload in handler.seen) == Counter(range(60))
    assert nodes[0].table.counts().running == 0


def test_an_exclusive_task_runs_on_one_node_and_another_takes_over_when_it_stops(node: Node) -> None:
    ran_on: list[str] = []
    nodes = [node(), node()]
    for executor in nodes:
        executor.register("mirror-update", lambda _payload, name=executor.node: ran_on.append(name))
        executor.every("mirror-update", 0.2, exclusive=True)
        executor.start()
    _wait_for(lambda: len(ran_on) >= 4)
    holder = nodes[0].table.lease_holder("mirror-update")
    assert holder is not None and set(ran_on) == {holder}
    stopping = next(executor for executor in nodes if executor.node == holder)
    other = next(executor for executor in nodes if executor.node != holder)
    stopping.shutdown(5)
    count = len(ran_on)
    _wait_for(lambda: len(ran_on) >= count + 3)
    assert set(ran_on[count:]) == {other.node}
    assert other.table.lease_holder("mirror-update") == other.node


def test_an_exclusive_lease_held_by_a_dead_node_is_taken_over_after_it_expires(node: Node) -> None:
    table_node = node()
    assert table_node.table.hold_lease("mirror-update", "dead-node", LEASE)
    ran_on: list[str] = []
    survivor = node()
    survivor.register("mirror-update", lambda _payload: ran_on.append(survivor.node))
    survivor.every("mirror-update", 0.2, exclusive=True)
    started = time.monotonic()
    survivor.start()
    _wait_for(lambda: len(ran_on) >= 1)
    assert time.monotonic() - started >= LEASE * 0.5
    assert survivor.table.lease_holder("mirror-update") == survivor.node


def test_jobs_left_waiting_when_a_node_stops_run_on_the_next_node_that_starts(node: Node) -> None:
    first = node()
    first.register("later", Recorder())
    first.submit(PendingJob("later", {"n": 1}))
    first.shutdown(5)
    assert first.table.counts().waiting == 1
    handler = Recorder()
    restarted = node()
    restarted.register("later", handler)
    restarted.start()
    _wait_for(lambda: restarted.table.counts().done == 1)
    assert handler.seen == [{"n": 1}]
