"""/metrics with two worker processes: every scrape, whichever worker answers it, adds up all processes."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.metrics_scrape import scrape
from tests.support.server import start_registry

pytestmark = pytest.mark.e2e

REQUESTS = 40


def test_two_workers_count_together(tmp_path: Path) -> None:
    registry = start_registry(tmp_path, {"PYREGISTRY_WORKERS": "2"})
    try:
        for _ in range(REQUESTS):
            with httpx.Client(timeout=10) as client:  # a new connection each time, so both workers get some
                assert client.get(f"{registry.base_url}/readyz").status_code == 200
        scrapes = [scrape(registry.base_url) for _ in range(6)]
        writers = {path.stem.rpartition("_")[2] for path in (tmp_path / ".pyregistry" / "metrics").glob("counter_*.db")}
    finally:
        registry.stop()

    assert len(writers) == 2, writers
    for samples in scrapes:
        assert samples.get("pyregistry_http_requests_total", method="GET", route="/readyz", status="200") == REQUESTS
        count = samples.get("pyregistry_http_request_duration_seconds_count", method="GET", route="/readyz")
        assert count == REQUESTS
