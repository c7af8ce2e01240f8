"""Installs with the pips people have: pip 23.0.1 (Debian 12's system pip) and the current pip, against HTML and
PEP 691 JSON pages. pip 23.0.1 crashed (``TypeError: unhashable type: 'dict'``) on the legacy
``dist-info-metadata`` key in JSON; PEP 714 keeps that name in HTML only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.accept_proxy import accept_rewriting_proxy
from tests.support.admin import upload_file
from tests.support.dists import build_wheel
from tests.support.server import BIN_DIR, RunningRegistry, clean_client_env

pytestmark = pytest.mark.e2e

JSON_ACCEPT = "application/vnd.pypi.simple.v1+json"
HTML_ACCEPT = "text/html"


@pytest.fixture(scope="session")
def pip_23_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv (``python -m venv``) with pip 23.0.1, installed once per session through uv's cache."""
    venv = tmp_path_factory.mktemp("pip-23-0-1") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    env = {key: value for key, value in clean_client_env().items() if key not in ("UV_NO_CACHE", "UV_NO_CONFIG")}
    installed = subprocess.run(
        [str(BIN_DIR / "uv"), "pip", "install", "--python", str(python), "pip==23.0.1"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr
    return python


@pytest.fixture(scope="module")
def read_token(registry: RunningRegistry, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Tenant ``debian`` with ``bookworm-app`` 2.0.0 depending on ``bookworm-base`` 1.0.0."""
    registry.create_tenant("debian")
    publish = registry.issue_token("debian", "publish", name="pips-publish")
    dist = tmp_path_factory.mktemp("pip-dists")
    base = build_wheel(dist, "bookworm-base", "1.0.0")
    app = build_wheel(dist, "bookworm-app", "2.0.0", description="Requires-Dist: bookworm-base>=1")
    upload_file(registry, "debian", publish, base, "bookworm-base", "1.0.0")
    upload_file(registry, "debian", publish, app, "bookworm-app", "2.0.0")
    return registry.issue_token("debian", "read", name="pips-read")


def install(python: Path, index_url: str, target: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), "-m", "pip", "install", "--target", str(target), "--index-url", index_url, "bookworm-app"],
        capture_output=True,
        text=True,
        timeout=180,
        env=clean_client_env(),
        check=False,
    )


def pip_version(python: Path) -> str:
    return subprocess.run(
        [str(python), "-c", "import pip; print(pip.__version__)"], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.mark.parametrize("accept", [JSON_ACCEPT, HTML_ACCEPT], ids=["json", "html"])
@pytest.mark.parametrize("which", ["pip-23.0.1", "current-pip"])
def test_pip_installs_a_dependency_chain(
    registry: RunningRegistry,
    read_token: str,
    pip_23_python: Path,
    tmp_path: Path,
    accept: str,
    which: str,
) -> None:
    python = pip_23_python if which == "pip-23.0.1" else Path(sys.executable)
    assert (pip_version(python) == "23.0.1") is (which == "pip-23.0.1")
    with accept_rewriting_proxy(registry.base_url, accept) as proxy:
        index_url = proxy.replace("http://", f"http://__token__:{read_token}@") + "/t/debian/simple/"
        result = install(python, index_url, tmp_path / "site")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Successfully installed bookworm-app-2.0.0 bookworm-base-1.0.0" in result.stdout
    assert (tmp_path / "site" / "bookworm_base" / "__init__.py").read_text() == "VERSION = '1.0.0'\n"


def test_json_page_has_core_metadata_only_and_html_keeps_both_names(registry: RunningRegistry, read_token: str) -> None:
    url = f"{registry.base_url}/t/debian/simple/bookworm-base/"
    page = httpx.get(url, headers={"Accept": JSON_ACCEPT}, auth=("__token__", read_token))
    assert page.status_code == 200
    (entry,) = page.json()["files"]
    assert "dist-info-metadata" not in entry
    assert list(entry["core-metadata"]) == ["sha256"]
    digest = entry["core-metadata"]["sha256"]
    html = httpx.get(url, headers={"Accept": HTML_ACCEPT}, auth=("__token__", read_token)).text
    assert f'data-core-metadata="sha256={digest}"' in html
    assert f'data-dist-info-metadata="sha256={digest}"' in html
