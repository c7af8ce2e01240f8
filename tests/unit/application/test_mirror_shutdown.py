"""Stopping the mirror: passes end before their next project, downloads at their next chunk, and waits are bounded."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from pyregistry_application.audit import AuditTrail
from pyregistry_application.dto import AuditQuery
from pyregistry_application.metadata_backend import MetadataBackend
from pyregistry_application.mirror_ports import UpstreamProject, UpstreamStream
from pyregistry_application.mirroring import REFRESH_ACTION, MirrorRefreshReport, MirrorService
from pyregistry_application.tenants import TenantAdministration
from pyregistry_domain.distributions import DistributionKind, ReleaseFile
from pyregistry_domain.errors import UpstreamUnavailable
from pyregistry_infrastructure.metadata_stores.memory_backend import memory_backend
from pyregistry_infrastructure.system import RandomIds, ScryptPasswordHasher, SystemClock
from tests.support.background import scheduled_updater
from tests.unit.application.test_mirror_refresh_status import GatedUpstream, _mirror


class RecordingUpstream(GatedUpstream):
    """A gated upstream that remembers which pages were asked for; ``open_file`` streams ``body`` in two
    chunks, the second only once ``second_chunk`` is set."""

    def __init__(self, body: bytes = b"") -> None:
        super().__init__()
        self.fetched: list[str] = []
        self.body = body
        self.second_chunk = threading.Event()
        self.first_chunk_sent = threading.Event()

    def fetch_project(self, normalized_name: str) -> UpstreamProject:
        self.fetched.append(normalized_name)
        return super().fetch_project(normalized_name)

    @contextmanager
    def open_file(self, url: str) -> Iterator[UpstreamStream]:
        def chunks() -> Iterator[bytes]:
            half = len(self.body) // 2
            yield self.body[:half]
            self.first_chunk_sent.set()
            assert self.second_chunk.wait(10)
            yield self.body[half:]

        yield UpstreamStream(size=len(self.body), chunks=chunks())


def _wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[MirrorService, RecordingUpstream, MetadataBackend]]:
    store = memory_backend()
    clock = SystemClock()
    TenantAdministration(
        store.tenants,
        store.users,
        clock,
        RandomIds(),
        ScryptPasswordHasher(),
        AuditTrail(store.audit_log, clock, RandomIds()),
    ).create_tenant(
        slug="corp", display_name="Corp", admin_email=None, admin_password=None, mirroring_enabled=True, actor="t"
    )
    upstream = RecordingUpstream(body=b"wheel bytes " * 100)
    mirror = _mirror(store, upstream, tmp_path)
    upstream.gate.set()
    corp = store.tenants.get_tenant_by_slug("corp")
    assert corp is not None
    for name in ("alpha", "beta"):
        mirror.refresh_project(corp, name)
    upstream.gate.clear()
    upstream.fetched.clear()
    yield mirror, upstream, store
    upstream.gate.set()
    upstream.second_chunk.set()
    mirror.close(timeout=5)


def test_close_bounds_its_wait_and_the_pass_stops_before_the_next_project(setup) -> None:
    mirror, upstream, _ = setup
    reports: list[MirrorRefreshReport] = []
    thread = threading.Thread(target=lambda: reports.append(mirror.refresh("corp", actor="t")))
    thread.start()
    _wait_for(lambda: upstream.fetched == ["alpha"])
    started = time.monotonic()
    assert mirror.close(timeout=0.2) is False, "the page under way has not answered"
    assert time.monotonic() - started < 1
    upstream.gate.set()
    thread.join(5)
    assert upstream.fetched == ["alpha"], "no project may be fetched after close"
    assert reports[0].stopped and reports[0].errors == []
    assert mirror.close(timeout=1) is True


def test_shutdown_ends_the_updaters_pass_before_the_next_project(setup, caplog: pytest.LogCaptureFixture) -> None:
    mirror, upstream, store = setup
    caplog.set_level(logging.INFO, logger="pyregistry_application.mirror_updater")
    updater, updates = scheduled_updater(mirror, 3600, on_startup=True)
    _wait_for(lambda: upstream.fetched == ["alpha"])
    started = time.monotonic()
    assert mirror.close(timeout=0.1) is False, "the page under way has not answered"
    updates.executor.shutdown(0.1)
    assert time.monotonic() - started < 2
    updater.report_stopped()
    assert "mirror.updater_stopped runs=0 pass_abandoned=true" in caplog.messages
    upstream.gate.set()
    _wait_for(lambda: not mirror.status("corp").refreshing)
    assert upstream.fetched == ["alpha"]
    event = store.audit_log.list_audit_events(AuditQuery(action=REFRESH_ACTION)).items[0]
    assert (event.details["stopped"], event.details["errors"]) == ("yes", "0")
    assert not [record for record in caplog.records if record.exc_info]


def test_a_running_download_ends_at_its_next_chunk_after_close(setup, tmp_path: Path) -> None:
    mirror, upstream, store = setup
    corp = store.tenants.get_tenant_by_slug("corp")
    assert corp is not None
    wheel, now, key = "alpha-1.0-py3-none-any.whl", SystemClock().now(), "mirror/alpha-1.0-py3-none-any.whl"
    digest = hashlib.sha256(upstream.body).hexdigest()
    file = ReleaseFile(corp.id, "alpha", "alpha", "1.0", wheel, DistributionKind.WHEEL, digest, 0, key, now, "mirror")
    file = replace(file, origin="mirror", upstream_url=f"https://up.example/{wheel}", cached=False)
    failures: list[BaseException] = []

    def download() -> None:
        try:
            mirror.cache_file(file)
        except UpstreamUnavailable as exc:
            failures.append(exc)

    thread = threading.Thread(target=download)
    thread.start()
    assert upstream.first_chunk_sent.wait(5)
    assert mirror.close(timeout=1) is True
    upstream.second_chunk.set()
    thread.join(5)
    assert [str(exc) for exc in failures] == ["the mirror is shutting down"]
    assert not list((tmp_path / "blobs").rglob("*.whl")), "a stopped download stores nothing"
    assert not list((tmp_path / "spool").iterdir()), "its spool file is removed"
