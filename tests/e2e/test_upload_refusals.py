"""Every refused upload answers 4xx with a reason and leaves metadata and storage untouched."""

from __future__ import annotations

import base64
import hashlib
import http.client
from pathlib import Path

import httpx
import pytest

from tests.support.dists import build_wheel
from tests.support.server import RunningRegistry
from tests.support.tenant_access import TenantAccess

pytestmark = pytest.mark.e2e


@pytest.fixture
def tenant(own_tenant: TenantAccess) -> str:
    """Each test refuses uploads into a tenant of its own: one wrongly accepted file fails one test."""
    return own_tenant.slug


@pytest.fixture
def token(own_tenant: TenantAccess) -> str:
    return own_tenant.publish


def _blob_files(registry: RunningRegistry) -> list[str]:
    root = registry.workdir / ".pyregistry" / "blobs"
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def _upload(
    registry: RunningRegistry, tenant: str, token: str, filename: str, content: bytes, **overrides: str | None
) -> httpx.Response:
    fields: dict[str, str | None] = {
        ":action": "file_upload",
        "protocol_version": "1",
        "name": "refused-pkg",
        "version": "1.0.0",
        "filetype": "bdist_wheel",
        "pyversion": "py3",
        "metadata_version": "2.1",
        "sha256_digest": hashlib.sha256(content).hexdigest(),
    }
    fields.update(overrides)
    data = {key: value for key, value in fields.items() if value is not None}
    return httpx.post(
        registry.upload_url(tenant),
        auth=("__token__", token),
        data=data,
        files={"content": (filename, content, "application/octet-stream")},
        timeout=30,
    )


def _state(registry: RunningRegistry, tenant: str, token: str) -> tuple[int, str, list[str]]:
    index = httpx.get(f"{registry.base_url}/t/{tenant}/simple/", auth=("__token__", token))
    return index.status_code, index.text, _blob_files(registry)


@pytest.mark.parametrize(
    ("case", "expected_status", "expected_reason"),
    [
        ("bad_digest", 400, "sha256_digest does not match"),
        ("name_mismatch", 400, "but the form says"),
        ("version_mismatch", 400, "but the form says 2.0.0"),
        ("corrupt_archive", 400, "not a readable zip"),
        ("empty_file", 400, "is empty"),
        ("missing_name", 400, "missing required form field 'name'"),
        ("missing_version", 400, "missing required form field 'version'"),
        ("missing_action", 400, "':action'"),
        ("metadata_mismatch", 400, "contains metadata for project"),
        ("bad_filename", 400, "unsupported distribution type"),
        ("no_digest", 400, "missing digest"),
        ("non_hex_digest", 400, "sha256_digest is not a hexadecimal digest"),
    ],
)
def test_refused_upload_changes_nothing(
    registry: RunningRegistry,
    tenant: str,
    token: str,
    tmp_path: Path,
    case: str,
    expected_status: int,
    expected_reason: str,
) -> None:
    wheel = build_wheel(tmp_path, "refused-pkg", "1.0.0")
    good = wheel.read_bytes()
    filename = wheel.name
    before = _state(registry, tenant, token)
    if case == "bad_digest":
        response = _upload(registry, tenant, token, filename, good, sha256_digest="0" * 64)
    elif case == "name_mismatch":
        response = _upload(registry, tenant, token, filename, good, name="other-pkg")
    elif case == "version_mismatch":
        response = _upload(registry, tenant, token, filename, good, version="2.0.0")
    elif case == "corrupt_archive":
        response = _upload(registry, tenant, token, filename, good[: len(good) // 2])
    elif case == "empty_file":
        response = _upload(registry, tenant, token, filename, b"")
    elif case == "missing_name":
        response = _upload(registry, tenant, token, filename, good, name=None)
    elif case == "missing_version":
        response = _upload(registry, tenant, token, filename, good, version=None)
    elif case == "missing_action":
        response = _upload(registry, tenant, token, filename, good, **{":action": None})
    elif case == "metadata_mismatch":
        liar = build_wheel(tmp_path / "liar", "refused-pkg", "1.0.0", metadata_name="someone-else")
        response = _upload(registry, tenant, token, filename, liar.read_bytes())
    elif case == "bad_filename":
        response = _upload(registry, tenant, token, "refused_pkg-1.0.0.exe", good)
    elif case == "no_digest":
        response = _upload(registry, tenant, token, filename, good, sha256_digest=None)
    elif case == "non_hex_digest":
        response = _upload(registry, tenant, token, filename, good, sha256_digest="\u00e9" * 64)
    else:
        raise AssertionError(case)
    assert response.status_code == expected_status, response.text
    assert expected_reason in response.text
    assert "Traceback" not in response.text
    assert _state(registry, tenant, token) == before


def test_duplicate_upload_is_refused_and_keeps_the_original(
    registry: RunningRegistry, tenant: str, token: str, tmp_path: Path
) -> None:
    first = build_wheel(tmp_path / "a", "dup-pkg", "1.0.0", summary="first")
    second = build_wheel(tmp_path / "b", "dup-pkg", "1.0.0", summary="second, different bytes")
    ok = _upload(registry, tenant, token, first.name, first.read_bytes(), name="dup-pkg")
    assert ok.status_code == 200, ok.text
    before = _state(registry, tenant, token)
    again = _upload(registry, tenant, token, second.name, second.read_bytes(), name="dup-pkg")
    assert again.status_code == 400
    assert "File already exists" in again.text
    assert "immutable" in again.text
    assert _state(registry, tenant, token) == before
    stored = httpx.get(f"{registry.base_url}/t/{tenant}/files/dup-pkg/1.0.0/{first.name}", auth=("__token__", token))
    assert stored.content == first.read_bytes()


def test_oversized_declared_body_is_413_before_reading(registry: RunningRegistry, tenant: str, token: str) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", registry.port, timeout=10)
    credentials = base64.b64encode(f"__token__:{token}".encode()).decode()
    connection.putrequest("POST", f"/t/{tenant}/legacy/")
    connection.putheader("Authorization", f"Basic {credentials}")
    connection.putheader("Content-Type", "multipart/form-data; boundary=x")
    connection.putheader("Content-Length", str(50 * 1024**3))
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 413
    assert b"limit" in response.read()
    connection.close()


def test_not_multipart_is_400(registry: RunningRegistry, tenant: str, token: str) -> None:
    response = httpx.post(
        registry.upload_url(tenant),
        auth=("__token__", token),
        content=b"{}",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert "multipart/form-data" in response.text
