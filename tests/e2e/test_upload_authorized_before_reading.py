"""An upload the token may not make is refused from its headers (or the form's ``name``), before the file is read.

Each case starts a 50 MiB upload over a raw socket and keeps sending until the answer arrives: the refusal comes
after a few hundred KiB (what loopback buffers hold), the connection is closed, and the refusal is audited.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_core_clients import twine_upload
from tests.support.dists import build_sdist, build_wheel
from tests.support.raw_upload import RawUpload, multipart_envelope
from tests.support.server import BIN_DIR, RunningRegistry, clean_client_env, start_registry

pytestmark = pytest.mark.e2e

TENANT = "gate"
BODY_BYTES = 50 * 1024 * 1024
BLOCK = b"\0" * (256 * 1024)
MAX_SENT_BEFORE_ANSWER = 8 * 1024 * 1024
MAX_READ_BEFORE_ANSWER = 2 * 1024 * 1024
WHEEL = "big_pkg-1.0.0-py3-none-any.whl"


@pytest.fixture(scope="module")
def tokens(registry: RunningRegistry) -> dict[str, str]:
    registry.create_tenant(TENANT)
    registry.create_tenant("elsewhere")
    return {
        "read-only": registry.issue_token(TENANT, "read", name="reader"),
        "other-tenant": registry.issue_token("elsewhere", "publish", "read", name="foreign"),
        "other-project": registry.issue_token(TENANT, "publish", project="allowed-pkg", name="scoped"),
        "invalid": "pyr_AAAAAAAAAAAA_" + "A" * 43,
        "publish": registry.issue_token(TENANT, "publish", "read", name="publisher"),
    }


@dataclass
class EarlyAnswer:
    status: int
    raw: bytes
    sent: int
    server_read: int

    @property
    def headers(self) -> str:
        return self.raw.split(b"\r\n\r\n", 1)[0].decode("latin-1").lower()


def _bytes_read_by(registry: RunningRegistry) -> int:
    assert registry.process is not None
    for line in Path(f"/proc/{registry.process.pid}/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar")


def _start_big_upload(
    registry: RunningRegistry, token: str, name: str = "big-pkg", head: bytes | None = None
) -> EarlyAnswer:
    """Send the form fields, then zeros as the file, until the server answers or 50 MiB are sent."""
    fields, tail = multipart_envelope(name, "1.0.0", WHEEL, b"")
    head = fields if head is None else head
    read_before = _bytes_read_by(registry)
    upload = RawUpload(registry.port, TENANT, token, content_length=len(head) + BODY_BYTES + len(tail))
    try:
        upload.send(head)
        try:
            while upload.sent < BODY_BYTES and not upload.answered():
                upload.send(BLOCK)
            if not upload.answered():
                upload.send(tail)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed while we were still sending
        status, raw = upload.response(timeout=20)
    finally:
        upload.close()
    return EarlyAnswer(status, raw, upload.sent, _bytes_read_by(registry) - read_before)


def _spool_and_blobs(registry: RunningRegistry) -> list[Path]:
    data = registry.workdir / ".pyregistry"
    return sorted(
        path
        for root in (data / "tmp", data / "blobs")
        if root.exists()
        for path in root.rglob("*")
        if path.is_file() and path.suffix != ".lock"
    )


def _refusals(registry: RunningRegistry) -> list[tuple[str, str, str, dict[str, str]]]:
    with sqlite3.connect(registry.workdir / ".pyregistry" / "pyregistry.sqlite3") as db:
        rows = db.execute(
            "select actor, target, source_ip, details from audit_events where action = 'upload.refused' "
            "order by occurred_at"
        ).fetchall()
    return [(actor, target, source_ip, json.loads(details)) for actor, target, source_ip, details in rows]


@pytest.mark.parametrize(
    ("case", "status", "reason", "actor", "target"),
    [
        ("read-only", 403, "this token lacks the 'publish' scope", "token:reader", TENANT),
        ("other-tenant", 403, "this token belongs to another tenant", "token:foreign", TENANT),
        ("other-project", 403, "this token is limited to project 'allowed-pkg'", "token:scoped", f"{TENANT}/big-pkg"),
        ("invalid", 401, "the token is not valid", "anonymous", TENANT),
    ],
)
def test_a_refused_upload_is_answered_before_the_body_is_read(
    registry: RunningRegistry, tokens: dict[str, str], case: str, status: int, reason: str, actor: str, target: str
) -> None:
    before = _spool_and_blobs(registry)
    audited = len(_refusals(registry))
    answer = _start_big_upload(registry, tokens[case])
    print(f"\n{case}: {status} after {answer.sent} bytes sent, server read {answer.server_read} bytes")
    assert answer.status == status, answer.raw[:300]
    assert f"{status} {reason}".encode() in answer.raw
    assert "connection: close" in answer.headers
    assert answer.sent < MAX_SENT_BEFORE_ANSWER, answer.sent
    assert answer.server_read < MAX_READ_BEFORE_ANSWER, answer.server_read
    assert _spool_and_blobs(registry) == before
    refusals = _refusals(registry)
    assert len(refusals) == audited + 1
    logged_actor, logged_target, source_ip, details = refusals[-1]
    assert (logged_actor, logged_target, source_ip) == (actor, target, "127.0.0.1")
    assert details["reason"] == reason
    assert tokens[case] not in json.dumps(refusals)


def test_a_project_scoped_token_must_name_the_project_before_the_file(
    registry: RunningRegistry, tokens: dict[str, str]
) -> None:
    fields, _ = multipart_envelope("allowed-pkg", "1.0.0", WHEEL, b"")
    file_first = fields[
        fields.index(b'--pyregistry-test-boundary-7f3a9c\r\nContent-Disposition: form-data; name="content"') :
    ]
    answer = _start_big_upload(registry, tokens["other-project"], head=file_first)
    assert answer.status == 400, answer.raw[:300]
    assert (
        b"this token is limited to project 'allowed-pkg': send the form's 'name' field before the 'content' file"
        in answer.raw
    )
    assert answer.sent < MAX_SENT_BEFORE_ANSWER
    assert _refusals(registry)[-1][3]["reason"].startswith("this token is limited to project 'allowed-pkg'")


def test_a_project_scoped_token_still_publishes_its_project_with_twine_and_uv(
    registry: RunningRegistry, tokens: dict[str, str], tmp_path: Path
) -> None:
    wheel = build_wheel(tmp_path, "allowed-pkg", "1.0.0")
    sdist = build_sdist(tmp_path, "allowed-pkg", "1.0.0")
    result = twine_upload(registry, TENANT, tokens["other-project"], wheel)
    assert result.returncode == 0, result.stdout + result.stderr
    publish = [str(BIN_DIR / "uv"), "publish", "--publish-url", registry.upload_url(TENANT), "--username", "__token__"]
    uv = subprocess.run(
        [*publish, str(sdist)],
        capture_output=True,
        text=True,
        timeout=180,
        env=clean_client_env({"UV_PUBLISH_PASSWORD": tokens["other-project"]}),
        check=False,
    )
    assert uv.returncode == 0, uv.stdout + uv.stderr
    for built in (wheel, sdist):
        stored = httpx.get(
            f"{registry.base_url}/t/{TENANT}/files/allowed-pkg/1.0.0/{built.name}",
            auth=("__token__", tokens["publish"]),
        )
        assert stored.content == built.read_bytes()


@pytest.mark.parametrize(
    ("case", "status", "reason"),
    [
        ("read-only", "403 Forbidden", "this token lacks the 'publish' scope"),
        ("other-project", "403 Forbidden", "this token is limited to project 'allowed-pkg'"),
        ("invalid", "401 Unauthorized", "the token is not valid"),
    ],
)
def test_twine_shows_the_early_refusal_of_a_large_file(
    registry: RunningRegistry, tokens: dict[str, str], tmp_path: Path, case: str, status: str, reason: str
) -> None:
    payload = os.urandom(24 * 1024 * 1024)
    wheel = build_wheel(tmp_path, "big-pkg", "1.0.0", extra_files={"big_pkg/data.bin": payload})
    result = twine_upload(registry, TENANT, tokens[case], wheel, verbose=False)
    assert result.returncode != 0
    output = " ".join((result.stdout + result.stderr).split())
    assert f"{status} from {registry.upload_url(TENANT)}" in output, output
    assert reason in output, output


def test_the_early_refusal_also_closes_the_connection_on_h11(tmp_path_factory: pytest.TempPathFactory) -> None:
    server = start_registry(tmp_path_factory.mktemp("h11"), {"PYREGISTRY_HTTP": "h11"})
    try:
        server.create_tenant(TENANT)
        answer = _start_big_upload(server, server.issue_token(TENANT, "read", name="reader"))
    finally:
        server.stop()
    assert answer.status == 403, answer.raw[:300]
    assert b"403 this token lacks the 'publish' scope" in answer.raw
    assert "connection: close" in answer.headers
    assert answer.sent < MAX_SENT_BEFORE_ANSWER, answer.sent
    assert answer.server_read < MAX_READ_BEFORE_ANSWER, answer.server_read
