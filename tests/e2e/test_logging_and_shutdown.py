"""JSON logs with one request id per request, and SIGTERM letting in-flight uploads and downloads finish."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.dists import build_wheel, sha256_of
from tests.support.raw_upload import BOUNDARY, multipart_envelope
from tests.support.server import RunningRegistry, start_registry

pytestmark = pytest.mark.e2e


def _log_events(registry: RunningRegistry) -> list[dict[str, object]]:
    events = []
    for line in registry.log_path.read_text().splitlines():
        if line.startswith("{"):
            events.append(json.loads(line))
    return events


def _multipart(wheel: Path, name: str, version: str) -> tuple[bytes, bytes]:
    """The upload body split in two: all fields plus the first half of the file, then the rest."""
    content = wheel.read_bytes()
    head, tail = multipart_envelope(name, version, wheel.name, content)
    middle = len(content) // 2
    return head + content[:middle], content[middle:] + tail


def _exited_cleanly(registry: RunningRegistry, timeout: float = 30) -> bool:
    """uvicorn re-raises SIGTERM after its graceful shutdown, so -15 with a finished log is a clean exit."""
    assert registry.process is not None
    code = registry.process.wait(timeout=timeout)
    registry.process = None
    finished = any(str(event["event"]).startswith("Finished server process") for event in _log_events(registry))
    return code in (0, -signal.SIGTERM) and finished


@pytest.fixture
def json_registry(tmp_path: Path) -> Iterator[RunningRegistry]:
    server = start_registry(tmp_path / "srv", {"LOG_FORMAT": "json", "LOG_FILTER": "info"})
    try:
        yield server
    finally:
        server.stop()


def test_every_log_line_of_a_request_carries_its_request_id(json_registry: RunningRegistry, tmp_path: Path) -> None:
    json_registry.create_tenant("logs")
    token = json_registry.issue_token("logs", "publish", "read")
    wheel = build_wheel(tmp_path / "dist", "logged-pkg", "1.0.0")
    chosen_id = f"upload-{uuid.uuid4().hex}"
    first, rest = _multipart(wheel, "logged-pkg", "1.0.0")
    upload = httpx.post(
        json_registry.upload_url("logs"),
        auth=("__token__", token),
        content=first + rest,
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}", "X-Request-ID": chosen_id},
        timeout=30,
    )
    assert upload.status_code == 200, upload.text
    assert upload.headers["x-request-id"] == chosen_id
    index_one = httpx.get(f"{json_registry.base_url}/t/logs/simple/", auth=("__token__", token))
    index_two = httpx.get(f"{json_registry.base_url}/t/logs/simple/", auth=("__token__", token))
    generated = {index_one.headers["x-request-id"], index_two.headers["x-request-id"]}
    assert len(generated) == 2, "each request gets its own id"
    time.sleep(0.3)

    events = _log_events(json_registry)
    upload_lines = [event for event in events if event.get("request_id") == chosen_id]
    assert {event["event"] for event in upload_lines} == {"upload.stored", "request finished"}
    stored = next(event for event in upload_lines if event["event"] == "upload.stored")
    assert stored["filename"] == wheel.name
    finished = next(event for event in upload_lines if event["event"] == "request finished")
    assert (finished["method"], finished["path"], finished["status"]) == ("POST", "/t/logs/legacy/", 200)
    for request_id in generated:
        lines = [event for event in events if event.get("request_id") == request_id]
        assert [event["event"] for event in lines] == ["request finished"]
        assert lines[0]["path"] == "/t/logs/simple/"
    assert all("timestamp" in event and "level" in event for event in events)


def test_sigterm_lets_an_in_flight_upload_finish(json_registry: RunningRegistry, tmp_path: Path) -> None:
    json_registry.create_tenant("drain")
    token = json_registry.issue_token("drain", "publish", "read")
    wheel = build_wheel(
        tmp_path / "dist", "drained-pkg", "1.0.0", extra_files={"drained_pkg/blob.bin": os.urandom(2_000_000)}
    )
    first, rest = _multipart(wheel, "drained-pkg", "1.0.0")
    assert json_registry.process is not None
    process = json_registry.process

    def body() -> Iterator[bytes]:
        yield first
        process.send_signal(signal.SIGTERM)
        time.sleep(1.5)
        assert process.poll() is None, "the server must wait for the upload under way"
        yield rest

    upload = httpx.post(
        json_registry.upload_url("drain"),
        auth=("__token__", token),
        content=body(),
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        timeout=30,
    )
    assert upload.status_code == 200, upload.text
    assert _exited_cleanly(json_registry)

    json_registry.start()
    listing = httpx.get(f"{json_registry.base_url}/t/drain/simple/drained-pkg/", auth=("__token__", token))
    assert wheel.name in listing.text
    download = httpx.get(
        f"{json_registry.base_url}/t/drain/files/drained-pkg/1.0.0/{wheel.name}", auth=("__token__", token)
    )
    assert hashlib.sha256(download.content).hexdigest() == sha256_of(wheel)


def test_sigterm_lets_an_in_flight_download_finish(json_registry: RunningRegistry, tmp_path: Path) -> None:
    json_registry.create_tenant("slowdl")
    token = json_registry.issue_token("slowdl", "publish", "read")
    payload = os.urandom(24 * 1024 * 1024)
    wheel = build_wheel(tmp_path / "dist", "big-pkg", "1.0.0", extra_files={"big_pkg/blob.bin": payload})
    first, rest = _multipart(wheel, "big-pkg", "1.0.0")
    upload = httpx.post(
        json_registry.upload_url("slowdl"),
        auth=("__token__", token),
        content=first + rest,
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        timeout=60,
    )
    assert upload.status_code == 200, upload.text
    assert json_registry.process is not None
    process = json_registry.process

    digest = hashlib.sha256()
    received = 0
    url = f"{json_registry.base_url}/t/slowdl/files/big-pkg/1.0.0/{wheel.name}"
    with httpx.stream("GET", url, auth=("__token__", token), timeout=60) as response:
        assert response.status_code == 200
        expected_size = int(response.headers["content-length"])
        chunks = response.iter_bytes(chunk_size=256 * 1024)
        first_chunk = next(chunks)
        digest.update(first_chunk)
        received += len(first_chunk)
        process.send_signal(signal.SIGTERM)
        time.sleep(1.0)
        assert process.poll() is None, "the server must wait for the download under way"
        for chunk in chunks:
            digest.update(chunk)
            received += len(chunk)
            time.sleep(0.002)
    assert received == expected_size == wheel.stat().st_size
    assert digest.hexdigest() == sha256_of(wheel)
    assert _exited_cleanly(json_registry)
    events = [event["event"] for event in _log_events(json_registry)]
    assert "Shutting down" in events
    assert events.index("Shutting down") < max(
        position for position, event in enumerate(events) if event == "request finished"
    ), "the download finished after the shutdown began"
