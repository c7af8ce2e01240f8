"""Production backends end to end: two server processes sharing one PostgreSQL schema and one S3 bucket."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from joserfc.jwk import RSAKey

from pyregistry_infrastructure.blob_storage.opendal_storage import OpenDalStorage
from tests.e2e.test_core_clients import run, twine_upload
from tests.support.dists import build_sdist, build_wheel
from tests.support.jwks import github_claims, rsa_key, serve_jwks, sign
from tests.support.postgres import postgres_schema
from tests.support.s3 import S3Server, running_s3_server
from tests.support.server import RunningRegistry, start_registry

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}
OIDC_ISSUER = "https://token.actions.githubusercontent.com"
OIDC_AUDIENCE = "pyregistry-cluster"


class Cluster:
    """Two registries (``a`` and ``b``) configured only by environment variables, plus their shared bucket
    and the key that signs identity tokens for their trusted-publishing issuer."""

    def __init__(self, a: RunningRegistry, b: RunningRegistry, storage: OpenDalStorage, oidc_key: RSAKey) -> None:
        self.a = a
        self.b = b
        self.storage = storage
        self.oidc_key = oidc_key


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    base = tmp_path_factory.mktemp("pg-s3")
    oidc_key = rsa_key("cluster")
    with postgres_schema() as database_url, running_s3_server(base) as s3, serve_jwks([oidc_key]) as jwks:
        bucket = s3.new_bucket()
        issuer = {"provider": "github", "issuer": OIDC_ISSUER, "jwks_url": jwks.url, "audience": OIDC_AUDIENCE}
        env = {
            "OIDC_ISSUERS": json.dumps([issuer]),
            "DATABASE_STORE": "postgres",
            "DATABASE_URL": database_url,
            "POSTGRES_MIN_CONNECTIONS": "1",
            "POSTGRES_MAX_CONNECTIONS": "4",
            "POSTGRES_ACQUIRE_TIMEOUT_SECONDS": "10",
            **s3.env(bucket),
        }
        a = start_registry(base / "a", env)
        try:
            b = start_registry(base / "b", env)
        except BaseException:
            a.stop()
            raise
        try:
            yield Cluster(a, b, OpenDalStorage("s3", S3Server(s3.endpoint).options(bucket)), oidc_key)
        finally:
            a.stop()
            b.stop()


@pytest.fixture(scope="module")
def tokens(cluster: Cluster) -> dict[str, str]:
    cluster.a.create_tenant("acme")
    return {
        "publish": cluster.b.issue_token("acme", "publish", name="ci"),
        "read": cluster.a.issue_token("acme", "read", name="installer"),
    }


def test_twine_upload_to_one_pip_install_from_the_other(
    cluster: Cluster, tokens: dict[str, str], tmp_path: Path
) -> None:
    files = [build_wheel(tmp_path, "acme-tools", "1.0.0"), build_sdist(tmp_path, "acme-tools", "1.0.0")]
    upload = twine_upload(cluster.a, "acme", tokens["publish"], *files)
    assert upload.returncode == 0, upload.stdout + upload.stderr
    target = tmp_path / "site"
    install = run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-cache-dir",
            "--target",
            str(target),
            "--index-url",
            cluster.b.index_url("acme", tokens["read"]),
            "acme-tools",
        ]
    )
    assert install.returncode == 0, install.stdout + install.stderr
    assert (target / "acme_tools" / "__init__.py").read_text() == "VERSION = '1.0.0'\n"
    keys = list(cluster.storage.list_keys())
    assert any(key.endswith("acme_tools-1.0.0-py3-none-any.whl") for key in keys)
    assert any(key.endswith("acme_tools-1.0.0.tar.gz") for key in keys)


def test_both_servers_serve_the_same_index(cluster: Cluster, tokens: dict[str, str], tmp_path: Path) -> None:
    upload = twine_upload(cluster.b, "acme", tokens["publish"], build_wheel(tmp_path, "acme-tools", "1.1.0"))
    assert upload.returncode == 0, upload.stdout + upload.stderr
    auth = ("__token__", tokens["read"])
    pages = [
        httpx.get(f"{server.base_url}/t/acme/simple/acme-tools/", auth=auth, headers=JSON).json()
        for server in (cluster.a, cluster.b)
    ]
    assert pages[0] == pages[1]
    assert pages[0]["versions"] == ["1.0.0", "1.1.0"]
    wheel = next(item for item in pages[0]["files"] if item["filename"] == "acme_tools-1.1.0-py3-none-any.whl")
    for server in (cluster.a, cluster.b):
        body = httpx.get(f"{server.base_url}/t/acme/simple/acme-tools/{wheel['url']}", auth=auth, follow_redirects=True)
        assert body.status_code == 200 and len(body.content) == wheel["size"]


def test_cached_index_pages_of_one_server_follow_uploads_to_the_other(
    cluster: Cluster, tokens: dict[str, str], tmp_path: Path
) -> None:
    auth = ("__token__", tokens["read"])
    root, page = f"{cluster.a.base_url}/t/acme/simple/", f"{cluster.a.base_url}/t/acme/simple/cached-pkg/"
    upload = twine_upload(cluster.b, "acme", tokens["publish"], build_wheel(tmp_path, "cached-pkg", "1.0.0"))
    assert upload.returncode == 0, upload.stdout + upload.stderr
    for _ in range(2):  # rendered once, then served from server a's page cache
        assert httpx.get(page, auth=auth, headers=JSON).json()["versions"] == ["1.0.0"]
        listed = httpx.get(root, auth=auth, headers=JSON).json()["projects"]
    assert "cached-pkg" in [project["name"] for project in listed]
    upload = twine_upload(cluster.b, "acme", tokens["publish"], build_wheel(tmp_path, "cached-pkg", "2.0.0"))
    assert upload.returncode == 0, upload.stdout + upload.stderr
    upload = twine_upload(cluster.b, "acme", tokens["publish"], build_wheel(tmp_path, "cached-pkg-two", "1.0.0"))
    assert upload.returncode == 0, upload.stdout + upload.stderr
    assert httpx.get(page, auth=auth, headers=JSON).json()["versions"] == ["1.0.0", "2.0.0"]
    listed = httpx.get(root, auth=auth, headers=JSON).json()["projects"]
    assert "cached-pkg-two" in [project["name"] for project in listed]


def test_a_token_revoked_by_the_cli_is_refused_at_once_by_both_servers_that_kept_its_answer(
    cluster: Cluster,
) -> None:
    secret = cluster.a.issue_token("acme", "read", name="revoked-soon")
    listed = json.loads(cluster.a.cli("list-tokens", "--tenant", "acme", "--json").stdout)
    token_id = next(item["id"] for item in listed if item["name"] == "revoked-soon")
    auth = ("__token__", secret)
    pages = [f"{server.base_url}/t/acme/simple/" for server in (cluster.a, cluster.b)]
    for round_ in range(3):  # each server's change listener is trusted well within the pause, then answers are kept
        assert [httpx.get(page, auth=auth).status_code for page in pages] == [200, 200]
        time.sleep(0.5 if round_ == 0 else 0)
    cluster.b.cli("revoke-token", "--tenant", "acme", "--id", token_id)
    assert [httpx.get(page, auth=auth).status_code for page in pages] == [401, 401]


def test_trusted_publisher_and_used_jti_are_shared_by_both_servers(cluster: Cluster, tokens: dict[str, str]) -> None:
    cluster.a.cli(
        "add-publisher",
        "--tenant", "acme",
        "--project", "acme-tools",
        "--provider", "github",
        "--repository", "acme/tools",
        "--workflow", "release.yml",
        "--environment", "pypi",
    )  # fmt: skip
    identity = sign(github_claims(OIDC_ISSUER, OIDC_AUDIENCE), cluster.oidc_key)
    minted = httpx.post(f"{cluster.b.base_url}/_/oidc/mint-token", json={"token": identity}, timeout=30)
    assert minted.status_code == 200, minted.text
    replay = httpx.post(f"{cluster.a.base_url}/_/oidc/mint-token", json={"token": identity}, timeout=30)
    assert replay.status_code == 401
    assert "replayed token" in replay.json()["message"]


def test_same_filename_uploaded_to_both_servers_at_once_is_stored_once(
    cluster: Cluster, tokens: dict[str, str], tmp_path: Path
) -> None:
    racer = build_wheel(tmp_path, "racer", "1.0.0")
    servers = [cluster.a, cluster.b, cluster.a, cluster.b]
    with ThreadPoolExecutor(len(servers)) as pool:
        results = list(pool.map(lambda server: twine_upload(server, "acme", tokens["publish"], racer), servers))
    assert sorted(result.returncode == 0 for result in results) == [False, False, False, True]
    for result in results:
        if result.returncode != 0:
            assert "File already exists" in result.stdout, result.stdout[-1500:]
    auth = ("__token__", tokens["read"])
    for server in (cluster.a, cluster.b):
        page = httpx.get(f"{server.base_url}/t/acme/simple/racer/", auth=auth, headers=JSON).json()
        assert [item["filename"] for item in page["files"]] == [racer.name]
    stored = [key for key in cluster.storage.list_keys() if racer.name in key]
    assert len(stored) == 2, stored  # the wheel and its core metadata; refused uploads left no blobs behind


def peak_rss_kib(server: RunningRegistry) -> int:
    assert server.process is not None
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))


def test_large_upload_and_download_stream_through_the_server(
    cluster: Cluster, tokens: dict[str, str], tmp_path: Path
) -> None:
    payload = os.urandom(64 * 1024 * 1024)  # random, so the wheel stays 64 MiB after deflate
    wheel = build_wheel(tmp_path, "bigpkg", "1.0.0", extra_files={"bigpkg/data.bin": payload})
    before = peak_rss_kib(cluster.a)
    upload = twine_upload(cluster.a, "acme", tokens["publish"], wheel)
    assert upload.returncode == 0, upload.stdout + upload.stderr
    digest = hashlib.sha256()
    url = f"{cluster.a.base_url}/t/acme/files/bigpkg/1.0.0/{wheel.name}"
    with httpx.stream("GET", url, auth=("__token__", tokens["read"]), timeout=60) as response:
        assert response.status_code == 200
        for chunk in response.iter_bytes():
            digest.update(chunk)
    assert digest.hexdigest() == hashlib.sha256(wheel.read_bytes()).hexdigest()
    growth = peak_rss_kib(cluster.a) - before
    assert wheel.stat().st_size > 60 * 1024 * 1024
    assert growth < 48 * 1024, f"server peak memory grew {growth} KiB for a {wheel.stat().st_size} byte wheel"
