"""Uploads stream to disk under a size limit, and a server killed mid-upload leaves nothing behind."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.dists import build_wheel
from tests.support.raw_upload import RawUpload, form_upload, multipart_envelope
from tests.support.server import RunningRegistry, start_registry

pytestmark = pytest.mark.e2e

LIMIT = 48 * 1024 * 1024
TENANT = "streaming"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    running = start_registry(tmp_path_factory.mktemp("streaming"), {"PYREGISTRY_MAX_UPLOAD_BYTES": str(LIMIT)})
    try:
        running.create_tenant(TENANT)
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def token(server: RunningRegistry) -> str:
    return server.issue_token(TENANT, "publish", "read")


@pytest.fixture(scope="module")
def big_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 40 MiB wheel of incompressible data, below the limit."""
    payload = os.urandom(40 * 1024 * 1024)
    return build_wheel(tmp_path_factory.mktemp("big"), "big-payload", "1.0.0", extra_files={"big_payload/x": payload})


def _data_dir(server: RunningRegistry) -> Path:
    return server.workdir / ".pyregistry"


def _spool_files(server: RunningRegistry) -> list[Path]:
    return [path for path in (_data_dir(server) / "tmp").rglob("*") if path.is_file() and path.suffix != ".lock"]


def _incomplete_blobs(server: RunningRegistry) -> list[Path]:
    root = _data_dir(server) / "blobs" / ".incomplete"
    return [path for path in root.rglob("*") if path.is_file() and path.suffix != ".lock"] if root.exists() else []


def _visible_blobs(server: RunningRegistry) -> list[Path]:
    root = _data_dir(server) / "blobs"
    return [path for path in root.rglob("*") if path.is_file() and ".incomplete" not in path.parts]


def _rows(server: RunningRegistry) -> dict[str, int]:
    with sqlite3.connect(_data_dir(server) / "pyregistry.sqlite3") as db:
        tables = [row[0] for row in db.execute("select name from sqlite_master where type = 'table'")]
        return {table: db.execute(f'select count(*) from "{table}"').fetchone()[0] for table in tables}


def _peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def _random_wheel_upload(out: Path, name: str, payload_bytes: int) -> tuple[Path, bytes, bytes, bytes]:
    """A wheel carrying ``payload_bytes`` of random data, its bytes, and the multipart text around them."""
    module = name.replace("-", "_")
    wheel = build_wheel(out, name, "1.0.0", extra_files={f"{module}/x": os.urandom(payload_bytes)})
    content = wheel.read_bytes()
    head, tail = multipart_envelope(name, "1.0.0", wheel.name, content)
    return wheel, content, head, tail


def _upload(server: RunningRegistry, token: str, wheel: Path, name: str) -> httpx.Response:
    return form_upload(server.upload_url(TENANT), token, wheel, name, wheel.name.split("-")[1])


def test_a_large_upload_is_streamed_not_held_in_memory(
    server: RunningRegistry, token: str, big_wheel: Path, tmp_path: Path
) -> None:
    warm = build_wheel(tmp_path, "warm-up", "1.0.0")
    assert _upload(server, token, warm, "warm-up").status_code == 200
    assert server.process is not None
    pid = server.process.pid
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset the peak-RSS counter
    before = _peak_rss_kib(pid)
    response = _upload(server, token, big_wheel, "big-payload")
    assert response.status_code == 200, response.text
    growth_mib = (_peak_rss_kib(pid) - before) / 1024
    size_mib = big_wheel.stat().st_size / 1024 / 1024
    assert growth_mib < size_mib / 3, f"server peak RSS grew {growth_mib:.1f} MiB for a {size_mib:.0f} MiB upload"
    assert _spool_files(server) == []


def _oversized_body(server: RunningRegistry, token: str, content_length: int | None) -> RawUpload:
    """Stream a file part past the limit until the server answers (or the body would be complete); never finish it."""
    head, _tail = multipart_envelope("too-big", "1.0.0", "too_big-1.0.0-py3-none-any.whl", b"")
    upload = RawUpload(server.port, TENANT, token, content_length)
    upload.send(head)
    block = b"\0" * (256 * 1024)
    cap = (content_length or 2 * LIMIT) - len(block)
    try:
        while upload.sent < cap and not upload.answered():
            upload.send(block)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server answered and closed while we were still sending
    return upload


@pytest.mark.parametrize("framing", ["chunked-without-length", "length-under-the-form-allowance"])
def test_a_body_over_the_limit_is_refused_with_413_before_it_ends(
    server: RunningRegistry, token: str, framing: str
) -> None:
    announced = None if framing == "chunked-without-length" else LIMIT + 12 * 1024 * 1024
    upload = _oversized_body(server, token, announced)
    try:
        status, raw = upload.response(timeout=20)
    finally:
        upload.close()
    assert status == 413, raw[:300]
    assert b"larger than the limit" in raw
    # answered soon after the limit: what was sent beyond it fits in the loopback socket buffers
    assert upload.sent < LIMIT + 10 * 1024 * 1024, upload.sent - LIMIT
    deadline = time.monotonic() + 5
    while _spool_files(server) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _spool_files(server) == []
    assert httpx.get(f"{server.base_url}/t/{TENANT}/simple/too-big/", auth=("__token__", token)).status_code == 404


def test_a_content_length_that_lies_short_is_a_clean_400(server: RunningRegistry, token: str, tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path, "short-liar", "1.0.0")
    content = wheel.read_bytes()
    head, tail = multipart_envelope("short-liar", "1.0.0", wheel.name, content)
    upload = RawUpload(server.port, TENANT, token, content_length=len(head) + 100)
    try:
        upload.send(head + content + tail)
        status, raw = upload.response(timeout=20)
    finally:
        upload.close()
    assert (status, raw.split(b"\r\n\r\n", 1)[-1]) == (400, b"Invalid HTTP request received."), raw[:300]
    assert b"Traceback" not in raw
    assert httpx.get(f"{server.base_url}/t/{TENANT}/simple/short-liar/", auth=("__token__", token)).status_code == 404


def test_server_killed_mid_upload_restarts_clean_and_the_upload_then_succeeds(
    server: RunningRegistry, token: str, tmp_path: Path
) -> None:
    wheel, content, head, tail = _random_wheel_upload(tmp_path, "crash-victim", 8 * 1024**2)
    rows_before = _rows(server)
    visible_before = sorted(_visible_blobs(server))
    upload = RawUpload(server.port, TENANT, token, content_length=len(head) + len(content) + len(tail))
    upload.send(head)
    for offset in range(0, len(content) // 2, 256 * 1024):
        upload.send(content[offset : offset + 256 * 1024])
        time.sleep(0.005)
    deadline = time.monotonic() + 10
    while not any(path.stat().st_size > 0 for path in _spool_files(server)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _spool_files(server), "the upload never reached the spool file"

    server.stop(signal.SIGKILL)
    upload.close()
    assert _spool_files(server), "the kill left no spool file: the test did not interrupt an upload"
    stale_incomplete = _data_dir(server) / "blobs" / ".incomplete" / "0123456789abcdef0123456789abcdef"
    stale_incomplete.parent.mkdir(parents=True, exist_ok=True)
    stale_incomplete.write_bytes(b"half a blob from an older version")
    legacy_spool = _data_dir(server) / "tmp" / "uploads" / "upload-legacy.part"
    legacy_spool.parent.mkdir(parents=True, exist_ok=True)
    legacy_spool.write_bytes(b"half an upload from an older version")
    for planted in (stale_incomplete, legacy_spool, legacy_spool.parent):
        old = time.time() - 2 * 3600
        os.utime(planted, (old, old))
    dead_writer = _data_dir(server) / "blobs" / ".incomplete" / "999999-deadbeef0000"
    (dead_writer / "fedcba9876543210").parent.mkdir(parents=True)
    (dead_writer / "fedcba9876543210").write_bytes(b"a fresh half blob whose writer was killed a moment ago")
    dead_writer.with_name(dead_writer.name + ".lock").touch()

    server.start()
    assert _spool_files(server) == []
    assert _incomplete_blobs(server) == []
    assert sorted(_visible_blobs(server)) == visible_before
    assert _rows(server)["projects"] == rows_before["projects"]
    assert _rows(server)["releases"] == rows_before["releases"]
    assert _rows(server)["release_files"] == rows_before["release_files"]
    index = httpx.get(f"{server.base_url}/t/{TENANT}/simple/crash-victim/", auth=("__token__", token))
    assert index.status_code == 404

    response = _upload(server, token, wheel, "crash-victim")
    assert response.status_code == 200, response.text
    stored = httpx.get(
        f"{server.base_url}/t/{TENANT}/files/crash-victim/1.0.0/{wheel.name}", auth=("__token__", token), timeout=30
    )
    assert stored.content == content
    assert _spool_files(server) == []


def test_a_cli_command_during_an_upload_leaves_the_spool_file_alone(
    server: RunningRegistry, token: str, tmp_path: Path
) -> None:
    wheel, content, head, tail = _random_wheel_upload(tmp_path, "cli-overlap", 2 * 1024**2)
    upload = RawUpload(server.port, TENANT, token, content_length=len(head) + len(content) + len(tail))
    try:
        upload.send(head + content[: len(content) // 2])
        deadline = time.monotonic() + 10
        while not _spool_files(server) and time.monotonic() < deadline:
            time.sleep(0.05)
        server.issue_token(TENANT, "read", name="issued-mid-upload")
        upload.send(content[len(content) // 2 :] + tail)
        status, raw = upload.response()
    finally:
        upload.close()
    assert status == 200, raw[:300]
    stored = httpx.get(
        f"{server.base_url}/t/{TENANT}/files/cli-overlap/1.0.0/{wheel.name}", auth=("__token__", token), timeout=30
    )
    assert stored.content == content


def _consistency_problems(server: RunningRegistry) -> list[str]:
    """Rows without files, files without their blob or with other bytes, temporaries left behind."""
    problems = [f"temporary left: {path}" for path in [*_spool_files(server), *_incomplete_blobs(server)]]
    blobs = _data_dir(server) / "blobs"
    with sqlite3.connect(_data_dir(server) / "pyregistry.sqlite3") as db:
        bare_releases = db.execute(
            "select r.normalized_name, r.version from releases r where not exists (select 1 from release_files f "
            "where f.tenant_id = r.tenant_id and f.normalized_name = r.normalized_name and f.version = r.version)"
        ).fetchall()
        bare_projects = db.execute(
            "select p.normalized_name from projects p where p.origin = 'local' and not exists "
            "(select 1 from release_files f where f.tenant_id = p.tenant_id and f.normalized_name = p.normalized_name)"
        ).fetchall()
        files = db.execute("select filename, blob_key, sha256 from release_files where origin = 'local'").fetchall()
    problems += [f"release without files: {row}" for row in bare_releases]
    problems += [f"project without files: {row}" for row in bare_projects]
    for filename, blob_key, sha256 in files:
        blob = blobs / blob_key
        if not blob.is_file() or hashlib.sha256(blob.read_bytes()).hexdigest() != sha256:
            problems.append(f"{filename}: blob missing or altered")
    return problems


def test_kills_at_random_moments_lose_no_acknowledged_upload(
    server: RunningRegistry, token: str, tmp_path: Path
) -> None:
    chooser = random.Random(20261125)
    payload = os.urandom(4 * 1024**2)
    wheels = [
        build_wheel(tmp_path / str(n), "kill-loop", f"1.0.{n}", extra_files={"kill_loop/x": payload + bytes([n])})
        for n in range(5)
    ]
    acknowledged: list[Path] = []
    kills: list[list[int]] = []
    for wheel in wheels:
        outcome: list[int] = []

        def upload(wheel: Path = wheel, outcome: list[int] = outcome) -> None:
            try:
                outcome.append(_upload(server, token, wheel, "kill-loop").status_code)
            except httpx.HTTPError:
                outcome.append(0)

        worker = threading.Thread(target=upload)
        worker.start()
        time.sleep(chooser.uniform(0.02, 0.5))
        server.stop(signal.SIGKILL)
        worker.join(timeout=30)
        if outcome == [200]:
            acknowledged.append(wheel)
        kills.append(outcome)
        server.start()
        assert _consistency_problems(server) == []

    for wheel in wheels:
        retry = _upload(server, token, wheel, "kill-loop")
        if wheel in acknowledged:
            assert retry.status_code == 400 and "File already exists" in retry.text
        else:
            assert retry.status_code in {200, 400}, retry.text
        version = wheel.name.split("-")[1]
        stored = httpx.get(
            f"{server.base_url}/t/{TENANT}/files/kill-loop/{version}/{wheel.name}",
            auth=("__token__", token),
            timeout=30,
        )
        assert stored.content == wheel.read_bytes()
    assert _consistency_problems(server) == []
    with sqlite3.connect(_data_dir(server) / "pyregistry.sqlite3") as db:
        referenced = {row[0] for row in db.execute("select blob_key from release_files")}
    root = _data_dir(server) / "blobs"
    unreferenced = [
        path
        for path in _visible_blobs(server)
        if str(path.relative_to(root)).removesuffix(".metadata") not in referenced
    ]
    print(
        f"\nkill loop: {len(kills)} SIGKILLs, client saw {kills}, {len(acknowledged)} acknowledged, 0 lost, "
        f"{len(unreferenced)} unreferenced (invisible) blobs"
    )
