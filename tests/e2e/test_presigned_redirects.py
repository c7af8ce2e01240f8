"""With S3 storage and ``[artifact_storage] presigned_redirects``, downloads redirect to a short-lived presigned
URL on the bucket, which pip and uv follow; authorization still happens here first."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.dists import build_wheel, sha256_of
from tests.support.pip_target import pip_install_into
from tests.support.raw_upload import form_upload
from tests.support.s3 import S3Server, running_s3_server
from tests.support.server import BIN_DIR, RunningRegistry, clean_client_env, start_registry

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with running_s3_server(tmp_path_factory.mktemp("moto")) as server:
        yield server


@pytest.fixture(scope="module")
def presigning(
    tmp_path_factory: pytest.TempPathFactory, s3: S3Server
) -> Iterator[tuple[RunningRegistry, str, str, Path]]:
    """One presigning server for the module: its tests only read the one wheel it holds."""
    root = tmp_path_factory.mktemp("presigning")
    env = {**s3.env(s3.new_bucket()), "ARTIFACT_STORAGE_PRESIGNED_REDIRECTS": "true"}
    registry = start_registry(root / "srv", env)
    try:
        registry.create_tenant("signed")
        publish = registry.issue_token("signed", "publish", name="ci")
        read = registry.issue_token("signed", "read", name="reader")
        wheel = build_wheel(root / "dist", "signed-lib", "1.0", module_source="SIGNED = True\n")
        assert form_upload(registry.upload_url("signed"), publish, wheel, "signed-lib", "1.0").status_code == 200
        yield registry, read, s3.endpoint, wheel
    finally:
        registry.stop()


def test_a_download_redirects_to_a_presigned_bucket_url(presigning: tuple[RunningRegistry, str, str, Path]) -> None:
    registry, read, endpoint, wheel = presigning
    url = f"{registry.base_url}/t/signed/files/signed-lib/1.0/{wheel.name}"
    answer = httpx.get(url, auth=("__token__", read), timeout=30)
    assert answer.status_code == 302
    assert answer.headers["cache-control"] == "private, no-store"
    location = answer.headers["location"]
    assert location.startswith(endpoint + "/")
    assert "X-Amz-Signature=" in urlsplit(location).query
    assert "X-Amz-Expires=60" in urlsplit(location).query
    fetched = httpx.get(location, timeout=30)
    assert fetched.status_code == 200
    assert fetched.content == wheel.read_bytes()
    assert httpx.get(url, timeout=30).status_code == 401, "no redirect without a token"
    metadata = httpx.get(f"{url}.metadata", auth=("__token__", read), timeout=30)
    assert metadata.status_code == 200, "metadata files are answered here"
    assert metadata.content.startswith(b"Metadata-Version: 2.1\nName: signed-lib")
    assert answer.headers.get("etag") is None
    assert (
        sha256_of(wheel)
        in httpx.get(f"{registry.base_url}/t/signed/simple/signed-lib/", auth=("__token__", read), timeout=30).text
    )


def test_pip_and_uv_follow_the_redirect(presigning: tuple[RunningRegistry, str, str, Path], tmp_path: Path) -> None:
    registry, read, _, _ = presigning
    index = registry.index_url("signed", read)
    installed = pip_install_into(tmp_path / "pip-site", index, "signed-lib")
    assert installed.returncode == 0, installed.stderr
    assert (tmp_path / "pip-site" / "signed_lib" / "__init__.py").read_text() == "SIGNED = True\n"
    install = [str(BIN_DIR / "uv"), "pip", "install", "--no-cache", "--python", sys.executable]
    uv = subprocess.run(
        [*install, "--target", str(tmp_path / "uv-site"), "--index-url", index, "signed-lib"],
        capture_output=True,
        text=True,
        timeout=180,
        env=clean_client_env(),
        check=False,
    )
    assert uv.returncode == 0, uv.stdout + uv.stderr
    assert (tmp_path / "uv-site" / "signed_lib" / "__init__.py").read_text() == "SIGNED = True\n"
