"""/readyz on a real server: ready on PostgreSQL, 503 naming the dependency once the database or storage is gone,
while /healthz (liveness) stays 200."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.support.postgres import ADMIN_URL, postgres_schema
from tests.support.server import RunningRegistry, start_registry

pytestmark = pytest.mark.e2e

CHECKED = ["database", "storage"]


def probe_around(registry: RunningRegistry, lose: Callable[[], None]) -> tuple[httpx.Response, ...]:
    """``/readyz`` before and after ``lose()`` takes a dependency away, then ``/healthz``; stops the server."""
    try:
        ready = httpx.get(f"{registry.base_url}/readyz", timeout=10)
        lose()
        lost = httpx.get(f"{registry.base_url}/readyz", timeout=10)
        alive = httpx.get(f"{registry.base_url}/healthz", timeout=10)
    finally:
        registry.stop()
    assert (ready.status_code, ready.json()) == (200, {"ready": True, "checked": CHECKED, "failed": []})
    assert alive.status_code == 200
    assert lost.status_code == 503
    assert lost.headers["cache-control"] == "no-store"
    return ready, lost, alive


def test_readyz_follows_the_postgresql_schema(tmp_path: Path) -> None:
    with postgres_schema() as database_url:
        schema = database_url.rpartition("search_path%3D")[2]

        def drop_schema() -> None:
            with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')

        registry = start_registry(tmp_path, {"DATABASE_STORE": "postgres", "DATABASE_URL": database_url})
        _, lost, _ = probe_around(registry, drop_schema)

    assert lost.json() == {"ready": False, "checked": CHECKED, "failed": ["database"]}
    assert "127.0.0.1" not in lost.text and schema not in lost.text


def test_readyz_fails_when_the_storage_directory_is_gone(tmp_path: Path) -> None:
    registry = start_registry(tmp_path)
    _, lost, _ = probe_around(registry, lambda: shutil.rmtree(tmp_path / ".pyregistry" / "blobs"))

    assert lost.json() == {"ready": False, "checked": CHECKED, "failed": ["storage"]}
    assert str(tmp_path) not in lost.text


def test_readyz_is_not_rate_limited(tmp_path: Path) -> None:
    registry = start_registry(
        tmp_path, {"RATE_LIMIT_ENABLED": "true", "RATE_LIMIT_BURST": "1", "RATE_LIMIT_REQUESTS_PER_MINUTE": "1"}
    )
    try:
        limited = [httpx.get(f"{registry.base_url}/t/x/simple/", timeout=10).status_code for _ in range(2)]
        probes = [httpx.get(f"{registry.base_url}/readyz", timeout=10).status_code for _ in range(5)]
    finally:
        registry.stop()

    assert limited == [401, 429]
    assert probes == [200] * 5
