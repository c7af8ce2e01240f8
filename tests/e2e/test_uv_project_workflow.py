"""The uv workflows users run daily: ``uv publish`` (``--check-url`` skips existing files) and ``uv add``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.dists import build_sdist, build_wheel
from tests.support.server import BIN_DIR, RunningRegistry, clean_client_env

pytestmark = pytest.mark.e2e

UV = str(BIN_DIR / "uv")


def run(
    args: list[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, capture_output=True, text=True, timeout=180, cwd=cwd, env=env or clean_client_env(), check=False
    )


@pytest.fixture(scope="module")
def initech(registry: RunningRegistry) -> dict[str, str]:
    registry.create_tenant("initech")
    return {
        "publish": registry.issue_token("initech", "publish", name="uv-publish"),
        "read": registry.issue_token("initech", "read", name="uv-read"),
    }


def uv_publish(
    registry: RunningRegistry, token: str, *files: Path, check_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    args = [UV, "publish", "--publish-url", registry.upload_url("initech"), "--username", "__token__"]
    if check_url is not None:
        args += ["--check-url", check_url]
    return run([*args, *map(str, files)], env=clean_client_env({"UV_PUBLISH_PASSWORD": token}))


def test_uv_publish_then_republish_with_check_url_skips(
    registry: RunningRegistry, initech: dict[str, str], tmp_path: Path
) -> None:
    files = [build_wheel(tmp_path, "stapler", "1.0.0"), build_sdist(tmp_path, "stapler", "1.0.0")]
    first = uv_publish(registry, initech["publish"], *files)
    assert first.returncode == 0, first.stdout + first.stderr

    again = uv_publish(registry, initech["publish"], *files, check_url=registry.index_url("initech", initech["read"]))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already exists" in (again.stdout + again.stderr).lower() or "skipping" in again.stderr.lower()

    refused = uv_publish(registry, initech["publish"], *files)
    assert refused.returncode != 0
    assert "already exists" in refused.stderr


def test_uv_add_lock_and_sync_from_a_named_authenticated_index(
    registry: RunningRegistry, initech: dict[str, str], tmp_path: Path
) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    upload = uv_publish(registry, initech["publish"], build_wheel(dist, "swingline", "2.0.0"))
    assert upload.returncode == 0, upload.stdout + upload.stderr
    project = tmp_path / "app"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        "[project]\n"
        'name = "app"\n'
        'version = "0.1.0"\n'
        'requires-python = ">=3.11"\n'
        "dependencies = []\n\n"
        "[[tool.uv.index]]\n"
        'name = "initech"\n'
        f'url = "{registry.index_url("initech")}"\n'
        "explicit = true\n"
    )
    env = clean_client_env({"UV_INDEX_INITECH_USERNAME": "__token__", "UV_INDEX_INITECH_PASSWORD": initech["read"]})
    env.pop("UV_NO_CONFIG")
    added = run([UV, "add", "--python", sys.executable, "--index", "initech", "swingline"], cwd=project, env=env)
    assert added.returncode == 0, added.stdout + added.stderr

    lock = (project / "uv.lock").read_text()
    assert 'name = "swingline"' in lock and 'version = "2.0.0"' in lock
    assert registry.index_url("initech") in lock
    assert initech["read"] not in lock + (project / "pyproject.toml").read_text()
    site = run(
        [str(project / ".venv" / "bin" / "python"), "-c", "import swingline; print(swingline.VERSION)"], cwd=project
    )
    assert site.stdout.strip() == "2.0.0", site.stdout + site.stderr
