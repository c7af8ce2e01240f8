"""A pyregistry tenant mirroring another pyregistry instance (token in the base URL) with real pip and the CLI."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.dists import build_sdist, build_wheel, sha256_of
from tests.support.server import BIN_DIR, RunningRegistry, clean_client_env, start_registry

pytestmark = pytest.mark.e2e

JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}


def run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=180, env=clean_client_env())


def upload(registry: RunningRegistry, tenant: str, *files: Path) -> None:
    token = registry.issue_token(tenant, "publish", name=f"upload-{time.monotonic_ns()}")
    result = run(
        [
            str(BIN_DIR / "twine"),
            "upload",
            "--non-interactive",
            "--disable-progress-bar",
            "--repository-url",
            registry.upload_url(tenant),
            "-u",
            "__token__",
            "-p",
            token,
            *map(str, files),
        ]
    )
    assert result.returncode == 0, result.stdout + result.stderr


class Setup:
    def __init__(self, upstream: RunningRegistry, mirror: RunningRegistry, files: dict[str, Path]) -> None:
        self.upstream = upstream
        self.mirror = mirror
        self.files = files
        self.token = mirror.issue_token("corp", "read", name="reader")

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        return httpx.get(f"{self.mirror.base_url}{path}", auth=("__token__", self.token), timeout=60, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    dist = tmp_path_factory.mktemp("dist")
    files = {
        "lib1": build_wheel(dist, "mirrored-lib", "1.0.0", requires_python=">=3.8"),
        "lib1sdist": build_sdist(dist, "mirrored-lib", "1.0.0"),
        "lib2": build_wheel(dist, "mirrored-lib", "2.0.0", requires_python=">=3.9"),
        "other": build_wheel(dist, "other-lib", "0.5.0"),
        "shadow_upstream": build_wheel(dist, "shadowed", "5.0.0"),
        "shadow_local": build_wheel(tmp_path_factory.mktemp("local"), "shadowed", "0.1.0"),
    }
    upstream = start_registry(tmp_path_factory.mktemp("upstream"))
    mirror = None
    try:
        upstream.create_tenant("up")
        upload(upstream, "up", files["lib1"], files["lib1sdist"], files["lib2"], files["other"])
        upload(upstream, "up", files["shadow_upstream"])
        upstream_token = upstream.issue_token("up", "read", name="mirror")
        mirror = start_registry(
            tmp_path_factory.mktemp("mirror"),
            {
                "PYPI_BASE_URL": f"http://__token__:{upstream_token}@127.0.0.1:{upstream.port}/t/up/simple",
                "PYPI_MIRROR_EAGER_DOWNLOAD_PERCENT": "50",
                "PYPI_MIRROR_UPDATE_INTERVAL_SECONDS": "1",
                "PYPI_ARTIFACT_DOWNLOAD_INITIAL_BACKOFF_MILLIS": "50",
                "PYPI_MIRROR_HTTP_TIMEOUT_SECONDS": "5",
            },
        )
        mirror.create_tenant("corp", "--enable-mirroring")
        mirror.create_tenant("plain")
        upload(mirror, "corp", files["shadow_local"])
        yield Setup(upstream, mirror, files)
    finally:
        if mirror is not None:
            mirror.stop()
        upstream.stop()


def test_project_page_lists_upstream_files_with_local_urls(setup: Setup) -> None:
    response = setup.get("/t/corp/simple/mirrored-lib/", headers=JSON)
    assert response.status_code == 200, response.text
    page = response.json()
    by_name = {file["filename"]: file for file in page["files"]}
    assert set(by_name) == {setup.files["lib1"].name, setup.files["lib1sdist"].name, setup.files["lib2"].name}
    wheel = by_name[setup.files["lib2"].name]
    assert wheel["url"].startswith("../../files/mirrored-lib/2.0.0/")
    assert wheel["hashes"]["sha256"] == sha256_of(setup.files["lib2"])
    assert wheel["requires-python"] == ">=3.9"
    assert "core-metadata" in wheel
    assert page["versions"] == ["1.0.0", "2.0.0"]
    html = setup.get("/t/corp/simple/mirrored-lib/").text
    assert f"#sha256={sha256_of(setup.files['lib1'])}" in html
    assert 'data-requires-python="&gt;=3.8"' in html


def test_core_metadata_passes_through(setup: Setup) -> None:
    name = setup.files["lib1"].name
    mirrored = setup.get(f"/t/corp/files/mirrored-lib/1.0.0/{name}.metadata")
    assert mirrored.status_code == 200
    assert b"Name: mirrored-lib" in mirrored.content
    assert b"Version: 1.0.0" in mirrored.content


def test_pip_install_require_hashes_through_mirror(setup: Setup, tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"mirrored-lib==1.0.0 --hash=sha256:{sha256_of(setup.files['lib1'])}\n")
    target = tmp_path / "site"
    index = setup.mirror.index_url("corp", setup.token)
    result = run(
        [
            *(sys.executable, "-m", "pip", "install", "--no-cache-dir", "--require-hashes", "--only-binary", ":all:"),
            *("--target", str(target), "--index-url", index, "-r", str(requirements)),
        ]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (target / "mirrored_lib" / "__init__.py").read_text() == "VERSION = '1.0.0'\n"


def test_local_project_shadows_upstream(setup: Setup) -> None:
    page = setup.get("/t/corp/simple/shadowed/", headers=JSON).json()
    assert [file["filename"] for file in page["files"]] == [setup.files["shadow_local"].name]
    upstream_name = setup.files["shadow_upstream"].name
    assert setup.get(f"/t/corp/files/shadowed/5.0.0/{upstream_name}").status_code == 404


def test_tenant_without_mirroring_does_not_see_upstream(setup: Setup) -> None:
    token = setup.mirror.issue_token("plain", "read", name="plain-reader")
    response = httpx.get(f"{setup.mirror.base_url}/t/plain/simple/mirrored-lib/", auth=("__token__", token), timeout=30)
    assert (response.status_code, response.text) == (
        404,
        "404 project 'mirrored-lib' does not exist in tenant 'plain'\n",
    )


def test_unknown_upstream_project_is_404(setup: Setup) -> None:
    response = setup.get("/t/corp/simple/no-such-project/")
    missing = "upstream has no /t/up/simple/no-such-project/"
    assert (response.status_code, response.text) == (404, f"404 {missing}\n")


def test_cli_mirror_caches_project_with_progress(setup: Setup) -> None:
    result = setup.mirror.cli("mirror", "--tenant", "corp", "--project", "other-lib")
    assert "cached 1 file(s)" in result.stdout, result.stdout + result.stderr
    name = setup.files["other"].name
    log_line = re.compile(r"^\d{4}-\d\d-\d\dT")
    progress = [line for line in result.stderr.splitlines() if not log_line.match(line)]  # without the log lines
    assert progress == ["caching 1 file(s)", f"[1/1] {name}"], result.stderr
    refused = setup.mirror.cli("mirror", "--tenant", "plain", check=False)
    assert refused.returncode == 1
    assert "mirroring enabled" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_eager_cache_and_stale_page_survive_upstream_outage(setup: Setup) -> None:
    setup.get("/t/corp/simple/mirrored-lib/", headers=JSON)
    time.sleep(2.0)
    setup.upstream.stop()
    time.sleep(1.1)
    page = setup.get("/t/corp/simple/mirrored-lib/", headers=JSON)
    assert page.status_code == 200, "a cached page must be served while upstream is down"
    newest = setup.files["lib2"]
    eager = setup.get(f"/t/corp/files/mirrored-lib/2.0.0/{newest.name}")
    assert eager.status_code == 200, "the newest version should have been cached eagerly"
    assert eager.content == newest.read_bytes()
    installed = setup.files["lib1"]
    assert setup.get(f"/t/corp/files/mirrored-lib/1.0.0/{installed.name}").content == installed.read_bytes()
    cli = setup.files["other"]
    assert setup.get(f"/t/corp/files/other-lib/0.5.0/{cli.name}").content == cli.read_bytes()
    sdist = setup.files["lib1sdist"]
    assert setup.get(f"/t/corp/files/mirrored-lib/1.0.0/{sdist.name}").status_code == 502
