"""A streamed first download that the client abandons while its file is being verified and scanned.

The stream is a generator: when the client goes away, the server (or Python's garbage collector, on whatever thread
it happens to run, the event loop's or a scanner's) closes it at its heartbeat. Closing must never wait for the
verdict: the verification may need a lock the closing thread holds (the per-file scan lock), which hung the
download and every later download of the same file. The verdict still lands, so the next download is a cached one.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyregistry_application import mirror_read_through
from pyregistry_application.mirror_read_through import MirrorOptions
from pyregistry_application.mirror_scanning import ScanBeforeServe
from pyregistry_application.security.findings import Severity, WheelScanReport
from pyregistry_domain.distributions import ReleaseFile
from pyregistry_infrastructure.metadata_stores.memory_scans import MemoryScanResultStore
from tests.support.background import mirror_service
from tests.support.dists import build_wheel
from tests.unit.application.test_mirroring_use_cases import Mirror

WAIT = 10.0


class HeldAudit:
    """A clean audit that waits for ``release``; ``during`` runs in the scanning thread before it waits."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.calls = 0
        self.during: list[object] = []

    def scan_archive(self, project: str, archive: Path) -> WheelScanReport:
        self.calls += 1
        self.started.set()
        for action in self.during:
            action()  # type: ignore[operator]
        assert self.release.wait(WAIT), "the test never released the scan"
        return WheelScanReport(project=project, filename=archive.name, sha256="", findings=[], scanners=["held"])


class Streamed:
    """Mirror world whose ``big`` wheel (200 KB) is streamed on its first download and scanned by a held audit."""

    def __init__(self, root: Path) -> None:
        self.world = Mirror(root, eager_percent=0)
        self.wheel = build_wheel(root / "up", "big", "1.0", extra_files={"big/blob.bin": os.urandom(200_000)})
        self.world.upstream.serve("big", [self.wheel])
        self.audit = HeldAudit()
        app = self.world.app
        gate = ScanBeforeServe(
            self.audit,
            MemoryScanResultStore(),
            app.store.tenants,
            app.store.catalogue,
            app.audit,
            app.clock,
            Severity.HIGH,
        )
        options = MirrorOptions(eager_download_percent=0, verify_whole_max_bytes=1000)
        self.service = mirror_service(
            app.store, app.storage, self.world.upstream, app.clock, app.audit, root / "stream-spool", options, gate=gate
        )
        tenant = app.store.tenants.get_tenant_by_slug("corp")
        assert tenant is not None
        self.service.refresh_project(tenant, "big", eager=False)

    def file(self) -> ReleaseFile:
        return self.world.file(self.wheel.name)

    def until_heartbeat(self, chunks: Iterator[bytes]) -> bytes:
        """Read ``chunks`` until the first heartbeat (one held byte while the verdict is pending)."""
        received = b""
        for chunk in chunks:
            received += chunk
            if len(chunk) == 1 and self.audit.started.is_set():
                return received
        raise AssertionError("the stream ended without a heartbeat")

    def cached_eventually(self) -> ReleaseFile:
        deadline = time.monotonic() + WAIT
        while not (file := self.file()).cached:
            assert time.monotonic() < deadline, "the verified file was never cached"
            time.sleep(0.02)
        return file


@pytest.fixture
def streamed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Streamed]:
    monkeypatch.setattr(mirror_read_through, "HEARTBEAT_SECONDS", 0.05)
    world = Streamed(tmp_path)
    yield world
    world.audit.release.set()
    world.service.close()
    world.world.service.close()


def _closed_within(chunks: Iterator[bytes], seconds: float) -> bool:
    closer = threading.Thread(target=chunks.close)  # type: ignore[attr-defined]
    closer.start()
    closer.join(seconds)
    return not closer.is_alive()


def test_closing_an_abandoned_stream_does_not_wait_for_the_verdict(streamed: Streamed) -> None:
    chunks = streamed.service.stream_through(streamed.file())
    streamed.until_heartbeat(chunks)
    assert _closed_within(chunks, 2), "closing the stream waited for the scan"
    streamed.audit.release.set()
    cached = streamed.cached_eventually()
    assert streamed.world.app.storage.read_bytes(cached.blob_key) == streamed.wheel.read_bytes()
    deadline = time.monotonic() + WAIT
    while list((streamed.world.spool.parent / "stream-spool").iterdir()):
        assert time.monotonic() < deadline, "the verification left its spool behind"
        time.sleep(0.02)


def test_a_stream_closed_by_the_thread_holding_the_scan_lock_does_not_deadlock(streamed: Streamed) -> None:
    first = streamed.service.stream_through(streamed.file())
    second = streamed.service.stream_through(streamed.file())
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(b"".join(first)))
    second_waiting = threading.Event()
    closed: list[bool] = []

    def close_second_from_the_scanner() -> None:
        # what the garbage collector does when it finalizes an abandoned stream in the scanning thread
        assert second_waiting.wait(WAIT)
        closed.append(_closed_within(second, 2))

    streamed.audit.during.append(close_second_from_the_scanner)
    reader.start()
    assert streamed.audit.started.wait(WAIT), "the first stream's scan holds the file's scan lock from here on"
    streamed.until_heartbeat(second)  # its verification now waits for that lock
    second_waiting.set()
    deadline = time.monotonic() + WAIT
    while not closed and time.monotonic() < deadline:
        time.sleep(0.02)
    streamed.audit.release.set()
    reader.join(WAIT)
    assert closed == [True], "closing the second stream waited for a verdict that needs the lock its closer holds"
    assert not reader.is_alive() and received == [streamed.wheel.read_bytes()]
    assert streamed.cached_eventually().cached
    assert streamed.audit.calls == 1, "the file was scanned once"
