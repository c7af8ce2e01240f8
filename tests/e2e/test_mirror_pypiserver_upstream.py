"""A pyregistry tenant mirroring pypiserver (HTML-only PEP 503 upstream) serving a wheel directory."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.dists import build_wheel, sha256_of
from tests.support.required import require
from tests.support.server import BIN_DIR, RunningRegistry, clean_client_env, free_port, start_registry

pytestmark = pytest.mark.e2e

PYPI_SERVER = Path(sys.executable).parent / "pypi-server"


@pytest.fixture(scope="module")
def pypiserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[Path]]]:
    require(PYPI_SERVER.exists(), "pypiserver is not installed in this environment (dev dependency)")
    packages = tmp_path_factory.mktemp("packages")
    wheels = [build_wheel(packages, "served-lib", version) for version in ("0.1.0", "0.2.0", "1.0.0")]
    port = free_port()
    log = (tmp_path_factory.mktemp("pypiserver-log") / "server.log").open("w")
    process = subprocess.Popen(
        [
            str(PYPI_SERVER),
            "run",
            "-i",
            "127.0.0.1",
            "-p",
            str(port),
            "-a",
            ".",
            "-P",
            ".",
            "--server",
            "gunicorn",
            str(packages),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/simple/"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail(f"pypiserver did not start: {Path(log.name).read_text()}")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/", wheels
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


@pytest.fixture(scope="module")
def mirror(pypiserver: tuple[str, list[Path]], tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    server = start_registry(
        tmp_path_factory.mktemp("mirror"),
        {"PYPI_BASE_URL": pypiserver[0], "PYPI_MIRROR_EAGER_DOWNLOAD_PERCENT": "0"},
    )
    try:
        server.create_tenant("corp", "--enable-mirroring")
        yield server
    finally:
        server.stop()


def test_html_upstream_is_mirrored_with_hashes(mirror: RunningRegistry, pypiserver: tuple[str, list[Path]]) -> None:
    token = mirror.issue_token("corp", "read", name="json")
    response = httpx.get(
        f"{mirror.base_url}/t/corp/simple/served-lib/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
        auth=("__token__", token),
        timeout=60,
    )
    assert response.status_code == 200, response.text
    hashes = {file["filename"]: file["hashes"]["sha256"] for file in response.json()["files"]}
    assert hashes == {wheel.name: sha256_of(wheel) for wheel in pypiserver[1]}
    page = response.json()
    assert [file.get("size") for file in page["files"]] == [None, None, None], "HTML pages carry no sizes"
    assert page["meta"]["api-version"] == "1.0", "PEP 700 (1.1) requires sizes"
    oldest = pypiserver[1][0]
    downloaded = httpx.get(
        f"{mirror.base_url}/t/corp/files/served-lib/0.1.0/{oldest.name}", auth=("__token__", token), timeout=60
    )
    assert downloaded.content == oldest.read_bytes()
    page = httpx.get(response.url, headers=response.request.headers, timeout=60).json()
    sizes = {file["filename"]: file.get("size") for file in page["files"]}
    assert sizes == {wheel.name: oldest.stat().st_size if wheel == oldest else None for wheel in pypiserver[1]}


def test_uv_and_pip_install_through_mirror(
    mirror: RunningRegistry, pypiserver: tuple[str, list[Path]], tmp_path: Path
) -> None:
    token = mirror.issue_token("corp", "read", name="installer")
    index = mirror.index_url("corp", token)
    env = clean_client_env()
    pip_target = tmp_path / "pip"
    pip = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-cache-dir",
            "--target",
            str(pip_target),
            "--index-url",
            index,
            "served-lib==0.2.0",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    assert pip.returncode == 0, pip.stdout + pip.stderr
    assert (pip_target / "served_lib" / "__init__.py").read_text() == "VERSION = '0.2.0'\n"
    uv_target = tmp_path / "uv"
    uv = subprocess.run(
        [
            str(BIN_DIR / "uv"),
            "pip",
            "install",
            "--no-cache",
            "--target",
            str(uv_target),
            "--python",
            sys.executable,
            "--index-url",
            index,
            "served-lib",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    assert uv.returncode == 0, uv.stdout + uv.stderr  # from a JSON page where 1.0.0 has no size yet
    assert (uv_target / "served_lib" / "__init__.py").read_text() == "VERSION = '1.0.0'\n"
