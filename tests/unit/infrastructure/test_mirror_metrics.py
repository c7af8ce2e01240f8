"""Mirroring counts into the real Prometheus adapter: downloads by source, refreshes and their errors, and the
background download jobs (queued, running, finished)."""

from __future__ import annotations

import time
from pathlib import Path

from pyregistry_application.index import PackageIndex
from pyregistry_application.mirroring import MirrorOptions
from pyregistry_infrastructure.prometheus_metrics import PrometheusMetrics
from tests.support.background import mirror_service, scheduled_updater
from tests.support.dists import build_wheel
from tests.support.memory_upstream import MemoryUpstream
from tests.support.metrics_scrape import Samples
from tests.unit.application.test_admin_use_cases import SteppingClock
from tests.unit.application.test_application_without_web import App

WHEELS = ("tool-1.0-py3-none-any.whl", "tool-2.0-py3-none-any.whl")


class MeteredMirror:
    """Tenant ``corp`` mirroring ``Tool`` 1.0 and 2.0 from an in-process upstream, counted by Prometheus."""

    def __init__(self, root: Path) -> None:
        clock = SteppingClock()
        self.app = App(root, clock)
        self.app.tenants.create_tenant(
            slug="corp", display_name="corp", admin_email=None, admin_password=None, mirroring_enabled=True, actor="t"
        )
        self.metrics = PrometheusMetrics()
        self.upstream = MemoryUpstream()
        self.upstream.serve("Tool", [build_wheel(root / "up", "Tool", version) for version in ("1.0", "2.0")])
        options = MirrorOptions(
            download_concurrency=2, eager_download_percent=50, max_attempts=1, metadata_ttl_seconds=3600
        )
        store = self.app.store
        self.service = mirror_service(
            store, self.app.storage, self.upstream, clock, self.app.audit, root / "spool", options, metrics=self.metrics
        )
        self.index = PackageIndex(
            store.catalogue, self.app.storage, self.app.access, self.service, metrics=self.metrics
        )
        self.reader = self.app.tokens.issue(tenant_slug="corp", name="pip", scopes=["read"], actor="t").secret

    def samples(self) -> Samples:
        body, _ = self.metrics.exposition()
        return Samples(body.decode())

    def download(self, filename: str, version: str) -> None:
        download = self.index.download("corp", self.reader, "tool", filename, version=version)
        assert b"".join(self.index.chunks(download.file))


def test_first_download_streams_from_upstream_then_from_the_cache(tmp_path: Path) -> None:
    mirror = MeteredMirror(tmp_path)
    mirror.index.project_page("corp", mirror.reader, "tool")
    mirror.service.wait_idle(10)
    before = mirror.samples()

    mirror.download(WHEELS[0], "1.0")
    mirror.download(WHEELS[0], "1.0")
    after = mirror.samples()

    assert after.changed(before, "pyregistry_downloads_total") == {
        ("pyregistry_downloads_total", frozenset({("source", "upstream")})): 1.0,
        ("pyregistry_downloads_total", frozenset({("source", "mirror_cache")})): 1.0,
    }


def test_refresh_counts_its_outcome_errors_and_download_jobs(tmp_path: Path) -> None:
    mirror = MeteredMirror(tmp_path)
    report = mirror.service.refresh("corp", "tool", actor="t")
    assert report.errors == []
    mirror.upstream.faults["tool"] = ["down"]
    failed = mirror.service.refresh("corp", "tool", actor="t")
    samples = mirror.samples()

    assert len(failed.errors) == 1
    assert samples.get("pyregistry_mirror_refreshes_total", outcome="ok") == 1
    assert samples.get("pyregistry_mirror_refreshes_total", outcome="errors") == 1
    assert samples.get("pyregistry_mirror_refresh_errors_total") == 1
    assert samples.get("pyregistry_background_jobs_finished_total", kind="mirror_download", outcome="ok") == 1
    assert samples.get("pyregistry_background_jobs_queued", kind="mirror_download") == 0
    assert samples.get("pyregistry_background_jobs_running", kind="mirror_download") == 0


def test_a_failed_background_download_is_counted_as_failed(tmp_path: Path) -> None:
    mirror = MeteredMirror(tmp_path)
    mirror.upstream.faults["https://files.example/packages/" + WHEELS[1]] = ["corrupt"]
    report = mirror.service.refresh("corp", "tool", actor="t")
    samples = mirror.samples()

    assert len(report.errors) == 1
    assert samples.get("pyregistry_background_jobs_finished_total", kind="mirror_download", outcome="failed") == 1
    assert samples.get("pyregistry_mirror_refreshes_total", outcome="errors") == 1


def test_each_updater_pass_is_a_finished_background_job(tmp_path: Path) -> None:
    mirror = MeteredMirror(tmp_path)
    mirror.service.refresh("corp", "tool", actor="t")
    updater, updates = scheduled_updater(mirror.service, interval_seconds=60, on_startup=True)
    deadline = time.monotonic() + 10
    while updater.runs == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert updates.executor.wait_idle(5)
    samples = mirror.samples()

    assert updater.runs == 1
    assert samples.get("pyregistry_background_jobs_finished_total", kind="mirror_update", outcome="ok") == 1
    assert samples.get("pyregistry_background_jobs_running", kind="mirror_update") == 0
    assert samples.get("pyregistry_mirror_refreshes_total", outcome="ok") == 2


def test_a_download_waiting_on_upstream_shows_as_running_until_it_ends(tmp_path: Path) -> None:
    mirror = MeteredMirror(tmp_path)
    mirror.upstream.gate.clear()
    try:
        mirror.index.project_page("corp", mirror.reader, "tool")  # queues the eager download of 2.0
        deadline = time.monotonic() + 10
        while mirror.samples().get("pyregistry_background_jobs_running", kind="mirror_download") != 1:
            assert time.monotonic() < deadline, "the download never started"
            time.sleep(0.01)
        waiting = mirror.samples()
    finally:
        mirror.upstream.gate.set()
    mirror.service.wait_idle(10)
    done = mirror.samples()

    assert waiting.get("pyregistry_background_jobs_queued", kind="mirror_download") == 0
    assert waiting.get("pyregistry_background_jobs_finished_total", kind="mirror_download", outcome="ok") == 0
    assert done.get("pyregistry_background_jobs_running", kind="mirror_download") == 0
    assert done.get("pyregistry_background_jobs_finished_total", kind="mirror_download", outcome="ok") == 1
