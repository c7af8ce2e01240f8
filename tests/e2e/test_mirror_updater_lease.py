"""With the durable job table, the mirror updater runs on one node at a time: two PostgreSQL nodes share one
lease, only its holder refreshes, and when the holder is SIGKILLed the other takes the lease over."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import psycopg
import pytest

from tests.support.postgres import postgres_schema
from tests.support.server import RunningRegistry, free_port, start_registry

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.slow]

LEASE_SECONDS = 3


def _passes(node: RunningRegistry) -> int:
    return node.log_path.read_text().count("mirror.update_pass")


def _holder(url: str) -> str | None:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT holder FROM job_leases WHERE name = 'mirror.update'").fetchone()
    return None if row is None else row[0]


def _wait_for(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_one_node_holds_the_updater_lease_and_another_takes_over_when_it_dies(tmp_path: Path) -> None:
    with postgres_schema() as url:
        env = {
            "DATABASE_STORE": "postgres",
            "DATABASE_URL": url,
            "BLOB_ROOT": str(tmp_path / "blobs"),
            "PYPI_BASE_URL": f"http://127.0.0.1:{free_port()}",  # nothing is mirrored: no request leaves
            "PYPI_MIRROR_UPDATE_ENABLED": "true",
            "PYPI_MIRROR_UPDATE_INTERVAL_SECONDS": "1",
            "BACKGROUND_LEASE_SECONDS": str(LEASE_SECONDS),
        }
        nodes = [
            start_registry(tmp_path / name, {**env, "DATA_DIR": str(tmp_path / name / ".pyregistry")})
            for name in ("node-a", "node-b")
        ]
        try:
            _wait_for(lambda: sum(_passes(node) for node in nodes) >= 3, 60, "three updater passes")
            holder_name = _holder(url)
            assert holder_name is not None
            holder = next(node for node in nodes if node.process and f":{node.process.pid}:" in holder_name)
            other = next(node for node in nodes if node is not holder)
            before = _passes(other)
            time.sleep(3)
            assert _passes(other) == before, "only the lease holder refreshes"

            holder.stop(signal.SIGKILL)
            _wait_for(lambda: _passes(other) >= before + 2, 60, "the other node to take the updater over")
            assert other.process is not None
            taken_over = _holder(url)
            assert taken_over is not None and f":{other.process.pid}:" in taken_over
        finally:
            for node in nodes:
                node.stop()
