"""Private index first, public index second, under the shipped rate limits: every public dependency costs one 404
from the private tenant, answered to a valid token, and such answers are not charged to the rate limit.

Tenant ``public`` stands in for PyPI (60 projects); tenant ``private`` holds ``acme-app``, which needs them all."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.admin import upload_file
from tests.support.dists import build_wheel
from tests.support.poetry import poetry_env
from tests.support.server import BIN_DIR, RunningRegistry, clean_client_env, start_registry

pytestmark = pytest.mark.e2e

PUBLIC_PROJECTS = [f"popular-{index:02d}" for index in range(60)]
APP_PROJECT = '[project]\nname = "app"\nversion = "0.1.0"\nrequires-python = ">=3.11"\ndependencies = ["acme-app"]\n\n'


class MixedIndexes:
    """The server and the two tokens (each tenant's read token)."""

    def __init__(self, registry: RunningRegistry, private_token: str, public_token: str) -> None:
        self.registry = registry
        self.private_token, self.public_token = private_token, public_token
        self.private_url = registry.index_url("private", private_token)
        self.public_url = registry.index_url("public", public_token)

    def refusals(self) -> int:
        return self.registry.log_path.read_text().count("rate_limited")


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MixedIndexes]:
    root = tmp_path_factory.mktemp("mixed")
    registry = start_registry(root / "server", {"RATE_LIMIT_ENABLED": "true"})
    try:
        dist = root / "dist"
        registry.create_tenant("public")
        registry.create_tenant("private")
        public_publish = registry.issue_token("public", "publish", name="pypi-maintainers")
        for name in PUBLIC_PROJECTS:
            upload_file(registry, "public", public_publish, build_wheel(dist, name, "1.0.0"), name, "1.0.0")
        requires = "\n".join(f"Requires-Dist: {name}>=1" for name in PUBLIC_PROJECTS)
        app = build_wheel(dist, "acme-app", "1.0.0", description=requires)
        private_publish = registry.issue_token("private", "publish", name="ci")
        upload_file(registry, "private", private_publish, app, "acme-app", "1.0.0")
        yield MixedIndexes(
            registry,
            registry.issue_token("private", "read", name="developers"),
            registry.issue_token("public", "read", name="everyone"),
        )
    finally:
        registry.stop()


def run(
    command: list[str], cwd: Path, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=300, cwd=cwd, env=env or clean_client_env()
    )
    return result, time.monotonic() - started


def test_uv_pip_compile_of_61_projects_through_extra_index_url_is_never_limited(
    mixed: MixedIndexes, tmp_path: Path
) -> None:
    """uv asks ``--extra-index-url`` first, so the private tenant answers 404 for each of the 60 public projects."""
    (tmp_path / "requirements.in").write_text("acme-app\n")
    before = mixed.refusals()
    result, seconds = run(
        [
            *(str(BIN_DIR / "uv"), "pip", "compile", "requirements.in", "--python-version", "3.11"),
            *("--index-url", mixed.public_url, "--extra-index-url", mixed.private_url, "-o", "requirements.txt"),
        ],
        tmp_path,
    )
    print(f"uv pip compile: {seconds:.1f} s, {mixed.refusals() - before} rate-limit refusals")
    assert result.returncode == 0, result.stderr
    pinned = [line for line in (tmp_path / "requirements.txt").read_text().splitlines() if "==" in line]
    assert sorted(pinned) == sorted([f"{name}==1.0.0" for name in [*PUBLIC_PROJECTS, "acme-app"]])
    assert mixed.refusals() == before


def test_pip_install_of_61_projects_through_extra_index_url_is_never_limited(
    mixed: MixedIndexes, tmp_path: Path
) -> None:
    """pip asks both indexes for every project: 60 answers of 404 from the private tenant."""
    before = mixed.refusals()
    result, seconds = run(
        [
            *(sys.executable, "-m", "pip", "install", "--target", str(tmp_path / "site")),
            *("--index-url", mixed.private_url, "--extra-index-url", mixed.public_url, "acme-app"),
        ],
        tmp_path,
    )
    print(f"pip install: {seconds:.1f} s, {mixed.refusals() - before} rate-limit refusals")
    assert result.returncode == 0, result.stderr
    assert "Successfully installed acme-app-1.0.0 " in result.stdout
    assert all(f"{name}-1.0.0" in result.stdout for name in PUBLIC_PROJECTS)
    assert mixed.refusals() == before
    assert seconds < 30


def test_uv_project_with_the_private_index_first_locks_61_projects_unlimited(
    mixed: MixedIndexes, tmp_path: Path
) -> None:
    """A non-explicit ``[[tool.uv.index]]`` before the default index: uv asks it first for every package."""
    registry = mixed.registry
    (tmp_path / "pyproject.toml").write_text(
        APP_PROJECT + f'[[tool.uv.index]]\nname = "private"\nurl = "{registry.index_url("private")}"\n\n'
        f'[[tool.uv.index]]\nname = "public"\nurl = "{registry.index_url("public")}"\ndefault = true\n'
    )
    env = clean_client_env(
        {
            "UV_INDEX_PRIVATE_USERNAME": "__token__",
            "UV_INDEX_PRIVATE_PASSWORD": mixed.private_token,
            "UV_INDEX_PUBLIC_USERNAME": "__token__",
            "UV_INDEX_PUBLIC_PASSWORD": mixed.public_token,
        }
    )
    env.pop("UV_NO_CONFIG")
    before = mixed.refusals()
    result, seconds = run([str(BIN_DIR / "uv"), "lock", "--python", sys.executable], tmp_path, env)
    print(f"uv lock: {seconds:.1f} s, {mixed.refusals() - before} rate-limit refusals")
    assert result.returncode == 0, result.stderr
    assert f"Resolved {len(PUBLIC_PROJECTS) + 2} packages" in result.stderr
    assert mixed.refusals() == before


def test_poetry_with_a_supplemental_public_source_locks_61_projects_unlimited(
    mixed: MixedIndexes, tmp_path: Path
) -> None:
    """Poetry asks its primary (private) source first and the supplemental one for what the primary lacks."""
    registry = mixed.registry
    (tmp_path / "pyproject.toml").write_text(
        APP_PROJECT + "[tool.poetry]\npackage-mode = false\n\n"
        f'[[tool.poetry.source]]\nname = "private"\nurl = "{registry.index_url("private")}"\npriority = "primary"\n\n'
        f'[[tool.poetry.source]]\nname = "public"\nurl = "{registry.index_url("public")}"\n'
        'priority = "supplemental"\n'
    )
    env = poetry_env(tmp_path / "poetry-home", {"private": mixed.private_token, "public": mixed.public_token})
    before = mixed.refusals()
    result, seconds = run([str(BIN_DIR / "poetry"), "lock"], tmp_path, env)
    print(f"poetry lock: {seconds:.1f} s, {mixed.refusals() - before} rate-limit refusals")
    assert result.returncode == 0, result.stdout + result.stderr
    lock = (tmp_path / "poetry.lock").read_text()
    assert all(f'name = "{name}"' in lock for name in [*PUBLIC_PROJECTS, "acme-app"])
    assert mixed.refusals() == before


def test_missing_projects_without_valid_credentials_are_still_limited(mixed: MixedIndexes) -> None:
    """Probing with a garbled token spends the bucket (burst 60); from 127.0.0.2, a client of its own."""
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    garbled = ("__token__", "pyr_garbled")
    with httpx.Client(base_url=mixed.registry.base_url, transport=transport, auth=garbled) as probe:
        statuses = [probe.get(f"/t/private/simple/nope-{index}/").status_code for index in range(70)]
    assert statuses[:60] == [401] * 60
    assert 429 in statuses[60:]
