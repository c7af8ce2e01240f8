"""Tokens as people paste them: surrounding whitespace is ignored, a garbled token is "not a valid token", and any
HTTP Basic username works (``__token__`` by convention)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.support.admin import upload_file
from tests.support.dists import build_wheel
from tests.support.server import BIN_DIR, RunningRegistry, clean_client_env

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def hooli(registry: RunningRegistry, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Tenant ``hooli`` with ``nucleus`` 1.0; returns a token that may publish (and so read)."""
    registry.create_tenant("hooli")
    token = registry.issue_token("hooli", "publish", name="ci")
    wheel = build_wheel(tmp_path_factory.mktemp("hooli"), "nucleus", "1.0")
    upload_file(registry, "hooli", token, wheel, "nucleus", "1.0")
    return token


def pip_install(registry: RunningRegistry, user: str, password: str, target: Path) -> subprocess.CompletedProcess[str]:
    index = f"http://{quote(user, safe='')}:{quote(password, safe='')}@127.0.0.1:{registry.port}/t/hooli/simple/"
    return subprocess.run(
        [sys.executable, "-m", "pip", "install", "--target", str(target), "--index-url", index, "nucleus"],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_client_env(),
        check=False,
    )


@pytest.mark.parametrize("password", ["{token} ", "{token}\n", " {token}"], ids=["space", "newline", "leading"])
def test_pip_with_a_token_pasted_with_whitespace_installs(
    registry: RunningRegistry, hooli: str, tmp_path: Path, password: str
) -> None:
    result = pip_install(registry, "__token__", password.format(token=hooli), tmp_path / "site")
    assert result.returncode == 0, result.stderr
    assert "Successfully installed nucleus-1.0" in result.stdout


def test_any_basic_username_works(registry: RunningRegistry, hooli: str, tmp_path: Path) -> None:
    result = pip_install(registry, "richard", hooli, tmp_path / "site")
    assert result.returncode == 0, result.stderr


def test_twine_with_a_garbled_token_is_told_it_is_not_valid(
    registry: RunningRegistry, hooli: str, tmp_path: Path
) -> None:
    wheel = build_wheel(tmp_path, "nucleus", "2.0")
    garbled = hooli[:-10]
    result = subprocess.run(
        [
            *(str(BIN_DIR / "twine"), "upload", "--non-interactive", "--disable-progress-bar"),
            *("--repository-url", registry.upload_url("hooli"), "-u", "__token__", "-p", garbled, str(wheel)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_client_env(),
        check=False,
    )
    shown = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    reason = "not a valid token: it is cut short or altered; copy the whole pyr_... secret again"
    assert f"HTTPError: 401 Unauthorized from {registry.upload_url('hooli')} {reason}" in shown, shown
