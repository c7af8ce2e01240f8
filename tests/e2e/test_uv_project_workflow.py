"""The uv workflows users run daily: ``uv publish`` (``--check-url`` skips existing files) and a uv project that
adds private and public packages, re-locks and upgrades (README's recipe)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.support.admin import upload_file
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


PYPROJECT = """[project]
name = "app"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = []

[[tool.uv.index]]
name = "initech"
url = "{private}"

[[tool.uv.index]]
name = "standin"
url = "{public}"
default = true
"""
"""README's recipe: the private index first and not explicit, so uv asks it for every package and takes a package
from the first index that has it; tenant ``standin`` plays public PyPI (the default index)."""


@pytest.fixture(scope="module")
def standin(registry: RunningRegistry, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Public projects, and squatted copies of the private names at version 99 (dependency confusion bait)."""
    registry.create_tenant("standin")
    token = registry.issue_token("standin", "publish", name="pypi")
    dist = tmp_path_factory.mktemp("standin")
    for name, version, requires in (
        ("requests", "2.32.0", "Requires-Dist: urllib3>=2"),
        ("urllib3", "2.0.0", ""),
        ("initech-alpha", "99.0.0", ""),
        ("initech-beta", "99.0.0", ""),
    ):
        upload_file(registry, "standin", token, build_wheel(dist, name, version, description=requires), name, version)
    return registry.issue_token("standin", "read", name="everyone")


def locked(project: Path) -> dict[str, tuple[str, str]]:
    """``name: (version, index URL)`` for every package in uv.lock but the project."""
    packages = tomllib.loads((project / "uv.lock").read_text())["package"]
    return {p["name"]: (p["version"], p["source"]["registry"]) for p in packages if "registry" in p["source"]}


def test_uv_project_relocks_upgrades_and_adds_public_packages_without_dependency_confusion(
    registry: RunningRegistry, initech: dict[str, str], standin: str, tmp_path: Path
) -> None:
    dist = tmp_path / "dist"
    alpha = build_wheel(dist, "initech-alpha", "1.0.0")
    beta = build_wheel(dist, "initech-beta", "1.0.0", description="Requires-Dist: initech-alpha>=1")
    upload_file(registry, "initech", initech["publish"], alpha, "initech-alpha", "1.0.0")
    upload_file(registry, "initech", initech["publish"], beta, "initech-beta", "1.0.0")
    private, public = registry.index_url("initech"), registry.index_url("standin")
    project = tmp_path / "app"
    project.mkdir()
    (project / "pyproject.toml").write_text(PYPROJECT.format(private=private, public=public))
    env = clean_client_env(
        {
            "UV_INDEX_INITECH_USERNAME": "__token__",
            "UV_INDEX_INITECH_PASSWORD": initech["read"],
            "UV_INDEX_STANDIN_USERNAME": "__token__",
            "UV_INDEX_STANDIN_PASSWORD": standin,
        }
    )
    for name in ("UV_NO_CONFIG", "VIRTUAL_ENV"):
        env.pop(name, None)
    steps = [
        run([UV, "add", "--python", sys.executable, "initech-beta"], cwd=project, env=env),
        run([UV, "add", "requests"], cwd=project, env=env),
    ]
    assert all(step.returncode == 0 for step in steps), [step.stderr for step in steps]
    assert locked(project) == {
        "initech-alpha": ("1.0.0", private),
        "initech-beta": ("1.0.0", private),
        "requests": ("2.32.0", public),
        "urllib3": ("2.0.0", public),
    }

    newer = build_wheel(dist / "newer", "initech-alpha", "1.1.0")
    upload_file(registry, "initech", initech["publish"], newer, "initech-alpha", "1.1.0")
    steps.append(run([UV, "lock", "--upgrade"], cwd=project, env=env))
    assert steps[-1].returncode == 0, steps[-1].stderr
    assert locked(project)["initech-alpha"] == ("1.1.0", private)

    shutil.rmtree(project / ".venv")
    steps.append(run([UV, "sync", "--locked"], cwd=project, env=env))
    assert steps[-1].returncode == 0, steps[-1].stderr
    script = "import initech_alpha, requests; print(initech_alpha.VERSION)"
    imported = run([str(project / ".venv" / "bin" / "python"), "-c", script], cwd=project)
    assert imported.stdout == "1.1.0\n", imported.stderr
    assert not any("experimental" in step.stderr for step in steps), [step.stderr for step in steps]
    written = (project / "pyproject.toml").read_text() + (project / "uv.lock").read_text()
    assert initech["read"] not in written and standin not in written

    lock_before = (project / "uv.lock").read_text()
    refused = run([UV, "lock", "--upgrade"], cwd=project, env={**env, "UV_INDEX_INITECH_PASSWORD": "pyr_wrong"})
    assert refused.returncode != 0
    assert f"An index URL ({private}) could not be queried due to a lack of valid authentication" in refused.stderr
    assert (project / "uv.lock").read_text() == lock_before
