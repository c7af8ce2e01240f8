"""The metrics endpoint in-process (a peer that is not loopback), the PostgreSQL pool gauge, background jobs and
webhook deliveries counted by the real Prometheus adapter."""

from __future__ import annotations

import time
from pathlib import Path

from litestar.testing import TestClient

from pyregistry_application.readiness import Readiness, ReadinessReport
from pyregistry_application.security.vulnerability_model import Notification
from pyregistry_bootstrap.asgi import served_app
from pyregistry_bootstrap.wiring import build_runtime
from pyregistry_infrastructure.metadata_stores.pool import PoolLimits
from pyregistry_infrastructure.metadata_stores.postgres import PostgresDatabase
from pyregistry_infrastructure.prometheus_metrics import PrometheusMetrics
from pyregistry_infrastructure.readiness_probes import CallableProbe
from pyregistry_infrastructure.webhooks import BackgroundNotifier, NullNotifier
from tests.support.metrics_scrape import Samples
from tests.support.postgres import postgres_schema
from tests.support.settings import runtime_settings


def samples(metrics: PrometheusMetrics) -> Samples:
    body, content_type = metrics.exposition()
    assert content_type.startswith("text/plain; version=")
    return Samples(body.decode())


def test_metrics_are_refused_to_a_peer_that_is_not_loopback_without_token_or_network_rules(tmp_path: Path) -> None:
    runtime = build_runtime(runtime_settings(tmp_path), export_metrics=True)
    with TestClient(app=served_app(runtime)) as client:
        response = client.get("/metrics")
        ready = client.get("/readyz")

    assert response.status_code == 403
    assert response.text == (
        "403 metrics are served only to loopback clients until metrics.token or network_source.api_allowed_cidrs "
        "is set\n"
    )
    assert ready.json() == {"ready": True, "checked": ["database", "storage"], "failed": []}


def test_commands_count_nothing(tmp_path: Path) -> None:
    runtime = build_runtime(runtime_settings(tmp_path))

    assert runtime.prometheus is None
    assert type(runtime.services.metrics).__name__ == "NoMetrics"


def test_pool_gauge_copies_the_postgresql_pool_counters() -> None:
    with postgres_schema() as url:
        store = PostgresDatabase(url, PoolLimits(max_connections=5, min_connections=2))
        try:
            metrics = PrometheusMetrics(store.pool_stats)
            scraped = samples(metrics)
        finally:
            store.close()

    assert scraped.get("pyregistry_db_pool_connections", state="size") == 2
    assert scraped.get("pyregistry_db_pool_connections", state="available") == 2
    assert scraped.get("pyregistry_db_pool_connections", state="max") == 5
    assert scraped.get("pyregistry_db_pool_connections", state="waiting") == 0


def test_undelivered_webhooks_are_counted_as_failed_jobs() -> None:
    metrics = PrometheusMetrics()
    notifier = BackgroundNotifier(NullNotifier(), metrics=metrics)
    assert notifier.send(Notification(title="t", body="b"))
    for _ in range(500):
        scraped = samples(metrics)
        if scraped.get("pyregistry_background_jobs_finished_total", kind="webhook", outcome="failed") == 1:
            break
        time.sleep(0.01)

    assert scraped.get("pyregistry_background_jobs_finished_total", kind="webhook", outcome="failed") == 1
    assert scraped.get("pyregistry_background_jobs_queued", kind="webhook") == 0


def test_readiness_names_each_probe_that_raised_and_keeps_its_error_for_the_log() -> None:
    def gone() -> None:
        raise OSError("no such directory: /srv/blobs")

    report, errors = Readiness([CallableProbe("database", lambda: None), CallableProbe("storage", gone)]).check()

    assert report == ReadinessReport(ready=False, checked=["database", "storage"], failed=["storage"])
    assert [str(error) for error in errors.values()] == ["no such directory: /srv/blobs"]
