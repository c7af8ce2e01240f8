"""Publishing and installing with poetry, pdm, hatch and uv: a publish token also reads its tenant (so one token
serves a publish repository at ``/legacy/`` and an install source at ``/simple/`` on the same host), re-publishing
skips existing files with each client's own option, and the duplicate-file refusal names those options."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest

from tests.support.dists import build_wheel
from tests.support.poetry import poetry_env
from tests.support.server import BIN_DIR, RunningRegistry, clean_client_env

pytestmark = pytest.mark.e2e

SKIP_OPTIONS = (
    "Files are immutable: upload a new version, or skip existing files with uv publish --check-url, "
    "poetry publish --skip-existing, pdm publish --skip-existing or hatch publish."
)


class Globex:
    """Tenant ``globex`` with a publish-only token (no read scope) and a read token."""

    def __init__(self, registry: RunningRegistry) -> None:
        registry.create_tenant("globex")
        self.registry = registry
        self.publish = registry.issue_token("globex", "publish", name="release-job")
        self.read = registry.issue_token("globex", "read", name="developers")
        self.upload_url = registry.upload_url("globex")
        self.simple_url = registry.index_url("globex")


@pytest.fixture(scope="module")
def globex(registry: RunningRegistry) -> Globex:
    return Globex(registry)


def run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=cwd, env=env, check=False)


def output(result: subprocess.CompletedProcess[str]) -> str:
    """stdout and stderr with line wrapping undone (the clients wrap long messages to the terminal width)."""
    return " ".join((result.stdout + result.stderr).split())


def write_poetry_library(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "globex-poetry-lib"\nversion = "1.0.0"\ndescription = "built by poetry"\n'
        'requires-python = ">=3.9"\n\n[build-system]\nrequires = ["poetry-core>=2"]\n'
        'build-backend = "poetry.core.masonry.api"\n'
    )
    (root / "globex_poetry_lib").mkdir()
    (root / "globex_poetry_lib" / "__init__.py").write_text("VERSION = '1.0.0'\n")
    return root


def test_poetry_publishes_skips_existing_and_installs_with_the_publish_token(globex: Globex, tmp_path: Path) -> None:
    poetry = str(BIN_DIR / "poetry")
    env = poetry_env(
        tmp_path / "poetry-home",
        {"globex-upload": globex.publish, "globex": globex.publish},
        {"globex-upload": globex.upload_url},
    )
    library = write_poetry_library(tmp_path / "lib")
    built = run([poetry, "build"], library, env)
    assert built.returncode == 0, output(built)

    published = run([poetry, "publish", "-r", "globex-upload"], library, env)
    assert published.returncode == 0, output(published)
    again = run([poetry, "publish", "-r", "globex-upload"], library, env)
    assert again.returncode != 0
    assert "File already exists: 'globex_poetry_lib-1.0.0.tar.gz'" in output(again)
    assert SKIP_OPTIONS in output(again)
    skipped = run([poetry, "publish", "-r", "globex-upload", "--skip-existing"], library, env)
    assert skipped.returncode == 0, output(skipped)
    assert output(skipped).count("File exists. Skipping") == 2, output(skipped)

    consumer = tmp_path / "consumer"
    consumer.mkdir()
    (consumer / "pyproject.toml").write_text(
        '[project]\nname = "consumer"\nversion = "0.1.0"\nrequires-python = ">=3.11"\ndependencies = []\n\n'
        "[tool.poetry]\npackage-mode = false\n\n"
        f'[[tool.poetry.source]]\nname = "globex"\nurl = "{globex.simple_url}"\npriority = "primary"\n'
    )
    added = run([poetry, "add", "globex-poetry-lib"], consumer, env)
    assert added.returncode == 0, output(added)
    imported = run(
        [str(consumer / ".venv" / "bin" / "python"), "-c", "import globex_poetry_lib as m; print(m.VERSION)"],
        consumer,
        env,
    )
    assert imported.stdout == "1.0.0\n", output(imported)
    assert globex.publish not in (consumer / "pyproject.toml").read_text() + (consumer / "poetry.lock").read_text()


def pdm_env(home: Path) -> dict[str, str]:
    return clean_client_env({"PDM_HOME": str(home), "PDM_CACHE_DIR": str(home / "cache"), "PDM_CHECK_UPDATE": "false"})


def test_pdm_publish_skips_existing_files_and_installs_with_the_publish_token(globex: Globex, tmp_path: Path) -> None:
    project = tmp_path / "pdm-project"
    build_wheel(project / "dist", "globex-pdm-lib", "1.0.0")
    (project / "pyproject.toml").write_text('[project]\nname = "globex-pdm-lib"\nversion = "1.0.0"\n')
    publish = [
        *(str(BIN_DIR / "pdm"), "publish", "--no-build", "--repository", globex.upload_url),
        *("--username", "__token__", "--password", globex.publish),
    ]
    env = pdm_env(tmp_path / "pdm-home")
    first = run(publish, project, env)
    assert first.returncode == 0, output(first)
    again = run(publish, project, env)
    assert again.returncode != 0
    assert "File already exists: 'globex_pdm_lib-1.0.0-py3-none-any.whl'" in output(again)
    assert SKIP_OPTIONS in output(again)
    skipped = run([*publish, "--skip-existing"], project, env)
    assert skipped.returncode == 0, output(skipped)
    assert "Skipping globex_pdm_lib-1.0.0-py3-none-any.whl because it appears to already exist" in output(skipped)

    consumer = tmp_path / "consumer"
    consumer.mkdir()
    private_url = globex.simple_url.replace("http://", "http://__token__:${GLOBEX_TOKEN}@")
    (consumer / "pyproject.toml").write_text(
        '[project]\nname = "consumer"\nversion = "0.1.0"\nrequires-python = ">=3.11"\ndependencies = []\n\n'
        "[tool.pdm]\ndistribution = false\n\n"
        f'[[tool.pdm.source]]\nname = "pypi"\nurl = "{private_url}"\n'
    )
    install_env = {**env, "GLOBEX_TOKEN": globex.publish}
    install_env.pop("VIRTUAL_ENV", None)
    base_python = str(Path(sys.base_prefix) / "bin" / "python3")
    created = run([str(BIN_DIR / "pdm"), "venv", "create", base_python], consumer, install_env)
    assert created.returncode == 0, output(created)
    added = run([str(BIN_DIR / "pdm"), "add", "globex-pdm-lib"], consumer, install_env)
    assert added.returncode == 0, output(added)
    script = "import globex_pdm_lib as m; print(m.VERSION)"
    imported = run([str(consumer / ".venv" / "bin" / "python"), "-c", script], consumer, env)
    assert imported.stdout == "1.0.0\n", output(imported)
    assert globex.publish not in (consumer / "pyproject.toml").read_text() + (consumer / "pdm.lock").read_text()


def test_rerunning_hatch_publish_skips_what_the_index_has(globex: Globex, tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "dist", "globex-hatch-lib", "1.0.0")
    home = tmp_path / "hatch-home"
    (home / "config").mkdir(parents=True)
    (home / "config" / "config.toml").write_text("")
    env = clean_client_env(
        {
            "HATCH_CONFIG": str(home / "config" / "config.toml"),
            "HATCH_DATA_DIR": str(home / "data"),
            "HATCH_CACHE_DIR": str(home / "cache"),
        }
    )
    publish = [
        *(str(BIN_DIR / "hatch"), "publish", "--no-prompt", "--repo", globex.upload_url),
        *("--user", "__token__", "--auth", globex.publish, str(wheel)),
    ]
    first = run(publish, tmp_path, env)
    assert first.returncode == 0, output(first)
    assert "globex_hatch_lib-1.0.0-py3-none-any.whl ... success" in output(first)
    again = run(publish, tmp_path, env)
    assert again.returncode == 0, output(again)
    assert "globex_hatch_lib-1.0.0-py3-none-any.whl ... already exists" in output(again)

    page_url = f"{globex.upload_url}+simple/globex-hatch-lib/"
    redirect = httpx.get(f"{globex.upload_url}+simple/Globex_Hatch_Lib/", auth=("__token__", globex.read))
    assert (redirect.status_code, redirect.headers["location"]) == (301, "/t/globex/legacy/+simple/globex-hatch-lib/")
    page = httpx.get(page_url, auth=("__token__", globex.read))
    assert page.status_code == 200
    (href,) = re.findall(r'href="([^"]+)"', page.text)
    download = httpx.get(urljoin(page_url, href), auth=("__token__", globex.read))
    assert download.status_code == 200 and download.content == wheel.read_bytes()


def test_uv_publish_check_url_works_with_the_publish_token(globex: Globex, tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "dist", "globex-uv-lib", "1.0.0")
    publish = [
        *(str(BIN_DIR / "uv"), "publish", "--publish-url", globex.upload_url, "--username", "__token__"),
        *("--check-url", globex.registry.index_url("globex", globex.publish), str(wheel)),
    ]
    env = clean_client_env({"UV_PUBLISH_PASSWORD": globex.publish})
    first = run(publish, tmp_path, env)
    assert first.returncode == 0, output(first)
    again = run(publish, tmp_path, env)
    assert again.returncode == 0, output(again)
    assert "File globex_uv_lib-1.0.0-py3-none-any.whl already exists, skipping" in output(again)


def test_the_publish_token_reads_only_its_own_tenant(globex: Globex) -> None:
    globex.registry.create_tenant("initrode")
    auth = ("__token__", globex.publish)
    own = httpx.get(f"{globex.registry.base_url}/t/globex/simple/", auth=auth)
    assert own.status_code == 200 and "globex-uv-lib" in own.text
    other = httpx.get(f"{globex.registry.base_url}/t/initrode/simple/", auth=auth)
    assert other.status_code == 403
    assert other.text == "403 this token belongs to another tenant\n"
