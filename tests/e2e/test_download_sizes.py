"""Small files are read whole, large ones streamed: both answer the same headers, bytes and conditional GETs."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import httpx
import pytest

from tests.support.dists import build_wheel, sha256_of
from tests.support.raw_upload import form_upload
from tests.support.server import RunningRegistry

pytestmark = pytest.mark.e2e

ONE_MIB = 1024 * 1024


@pytest.mark.parametrize(("name", "payload_bytes"), [("tiny-dl", 100), ("huge-dl", 2 * ONE_MIB)])
def test_download_headers_and_bytes_do_not_depend_on_size(
    registry: RunningRegistry, tmp_path: Path, name: str, payload_bytes: int
) -> None:
    tenant = f"size{payload_bytes}"
    registry.create_tenant(tenant)
    publish = registry.issue_token(tenant, "publish", name="ci")
    read = registry.issue_token(tenant, "read", name="reader")
    wheel = build_wheel(tmp_path, name, "1.0", extra_files={"blob.bin": os.urandom(payload_bytes)})
    assert (wheel.stat().st_size > ONE_MIB) == (payload_bytes > ONE_MIB)
    assert form_upload(registry.upload_url(tenant), publish, wheel, name, "1.0").status_code == 200
    url = f"{registry.base_url}/t/{tenant}/files/{name}/1.0/{wheel.name}"

    response = httpx.get(url, auth=("__token__", read), timeout=30)
    assert response.status_code == 200
    assert response.content == wheel.read_bytes()
    headers = ("content-length", "content-type", "etag", "content-disposition")
    assert {key: response.headers[key] for key in headers} == {
        "content-length": str(wheel.stat().st_size),
        "content-type": "application/zip",
        "etag": f'"{sha256_of(wheel)}"',
        "content-disposition": f'attachment; filename="{wheel.name}"',
    }
    again = httpx.get(url, auth=("__token__", read), headers={"if-none-match": response.headers["etag"]}, timeout=30)
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", response.headers["etag"])

    metadata = httpx.get(f"{url}.metadata", auth=("__token__", read), timeout=30)
    assert metadata.status_code == 200
    assert metadata.content.startswith(b"Metadata-Version: 2.1\nName: " + name.encode())
    assert metadata.headers["etag"] == f'"{hashlib.sha256(metadata.content).hexdigest()}"'
    assert metadata.headers["content-length"] == str(len(metadata.content))

    anonymous = httpx.get(url, timeout=30)
    assert anonymous.status_code == 401
