"""``pyregistry serve`` start-up: the generated admin password, the storage root, and refusing a storage without
the recorded files."""

from __future__ import annotations

import os
import re
import subprocess
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_core_clients import twine_upload
from tests.support.dists import build_wheel
from tests.support.server import START_SECONDS, RunningRegistry, free_port, pyregistry_exe

pytestmark = pytest.mark.e2e


def _env(**extra: str) -> dict[str, str]:
    drop = {"PYREGISTRY_CONFIG", "SUPERADMIN_PASSWORD", "COOKIE_SECRET", "BLOB_ROOT", "DATA_DIR", "SQLITE_PATH"}
    env = {key: value for key, value in os.environ.items() if key not in drop}
    env.update({"RATE_LIMIT_ENABLED": "false", "PYPI_MIRROR_UPDATE_ENABLED": "false", **extra})
    return env


def _healthy(registry: RunningRegistry) -> bool:
    try:
        return httpx.get(f"{registry.base_url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def serving(cwd: Path, *global_args: str, env: dict[str, str] | None = None) -> Iterator[RunningRegistry]:
    """``pyregistry [GLOBAL_ARGS] serve`` in ``cwd`` until the block ends; its output is in ``server.log``."""
    port = free_port()
    full_env = {**(env or _env()), "BIND_ADDRESS": f"127.0.0.1:{port}"}
    registry = RunningRegistry(workdir=cwd, port=port, env=full_env)
    with registry.log_path.open("ab") as log:
        registry.process = subprocess.Popen(
            [pyregistry_exe(), *global_args, "serve"], cwd=cwd, env=full_env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + START_SECONDS
        while not _healthy(registry):
            if registry.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"server did not start:\n{registry.log_path.read_text()}")
            time.sleep(0.1)
        yield registry
    finally:
        registry.stop()


def test_the_generated_admin_password_is_printed_on_the_first_start_only(tmp_path: Path) -> None:
    with serving(tmp_path):
        pass
    secrets_file = tmp_path / ".pyregistry" / "generated-secrets.toml"
    password = tomllib.loads(secrets_file.read_text())["superadmin_password"]
    first = (tmp_path / "server.log").read_text()
    assert (
        f"  admin password: {password} (generated, kept in {secrets_file}; printed only on this first start)\n" in first
    )
    (tmp_path / "server.log").unlink()
    with serving(tmp_path):
        pass
    second = (tmp_path / "server.log").read_text()
    assert password not in second
    assert f"  admin password: generated on first start, kept in {secrets_file}\n" in second

    shown = subprocess.run(
        [pyregistry_exe(), "config", "show"], cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=60
    )
    lines = {line.split(" = ")[0]: line.split("#")[0].strip() for line in shown.stdout.splitlines() if " = " in line}
    assert lines["superadmin_password"] == "superadmin_password = <generated, printed on first start>"
    assert lines["cookie_secret"] == "cookie_secret = <generated on first start>"


def test_a_configured_registry_serves_its_files_from_any_directory_and_refuses_an_empty_storage(
    tmp_path: Path,
) -> None:
    site, elsewhere = tmp_path / "site", tmp_path / "elsewhere"
    elsewhere.mkdir()
    config = site / "pyregistry.toml"
    init = subprocess.run(
        [pyregistry_exe(), "init-config", "--path", str(config)], env=_env(), capture_output=True, text=True, timeout=60
    )
    assert init.returncode == 0, init.stderr
    wheel = build_wheel(tmp_path / "dist", "anywhere-kit", "1.0.0")
    with serving(site, "--config", str(config)) as registry:
        registry.cli("create-tenant", "--slug", "acme", "--display-name", "Acme")
        upload = twine_upload(registry, "acme", registry.issue_token("acme", "publish"), wheel)
        assert upload.returncode == 0, upload.stdout + upload.stderr
    stored = next((site / ".pyregistry" / "blobs").rglob(wheel.name))

    with serving(elsewhere, "--config", str(config)) as registry:
        issued = subprocess.run(
            [
                pyregistry_exe(),
                "--config",
                str(config),
                "issue-token",
                "--tenant",
                "acme",
                "--name",
                "r",
                "--scope",
                "read",
            ],
            cwd=elsewhere,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert issued.returncode == 0, issued.stdout + issued.stderr
        token = re.findall(r"pyr_\S+", issued.stdout)[-1]
        url = f"{registry.base_url}/t/acme/files/anywhere-kit/1.0.0/{wheel.name}"
        download = httpx.get(url, auth=("__token__", token), timeout=30)
        assert download.status_code == 200 and download.content == wheel.read_bytes()
    assert list(elsewhere.iterdir()) == [elsewhere / "server.log"]

    stored.rename(tmp_path / "moved-away.whl")
    refused = subprocess.run(
        [pyregistry_exe(), "--config", str(config), "serve"],
        cwd=elsewhere,
        env=_env(BIND_ADDRESS=f"127.0.0.1:{free_port()}"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (refused.returncode, refused.stdout) == (1, "")
    key = stored.relative_to(site / ".pyregistry" / "blobs")
    assert refused.stderr == (
        "error: refusing to start: the metadata store records files, but artifact storage (filesystem "
        f"{site / '.pyregistry' / 'blobs'}) has none of the 1 checked (first missing: {key}); check blob_root / "
        "[artifact_storage] and the working directory\n"
    )
