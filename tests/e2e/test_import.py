"""``pyregistry import`` end to end: a pypiserver directory, a running pypiserver, and another pyregistry tenant."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_core_clients import twine_upload
from tests.e2e.test_mirror_pypiserver_upstream import pypiserver  # noqa: F401 - the fixture
from tests.support.dists import build_sdist, build_wheel, sha256_of
from tests.support.pip_target import pip_install_into
from tests.support.server import RunningRegistry, pyregistry_exe, start_registry

pytestmark = pytest.mark.e2e
JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}
MTIME = datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    server = start_registry(tmp_path_factory.mktemp("import-target"))
    try:
        yield server
    finally:
        server.stop()


def project_page(registry: RunningRegistry, tenant: str, token: str, project: str) -> dict[str, Any]:
    response = httpx.get(
        f"{registry.base_url}/t/{tenant}/simple/{project}/", auth=("__token__", token), headers=JSON, timeout=30
    )
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def import_json(registry: RunningRegistry, *args: str) -> tuple[int, dict[str, Any]]:
    result = registry.cli("import", "--json", *args, check=False)
    assert result.stdout.startswith("{"), result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return result.returncode, report


def test_pypiserver_directory_is_imported_once_with_file_times_and_bad_archives_skipped(
    registry: RunningRegistry, tmp_path: Path
) -> None:
    registry.create_tenant("dirs")
    token = registry.issue_token("dirs", "read")
    packages = tmp_path / "packages"
    wheel = build_wheel(packages / "dir-alpha", "dir-alpha", "1.0.0")  # per-project subdirectory
    sdist = build_sdist(packages / "dir-alpha", "dir-alpha", "1.0.0")
    flat = build_wheel(packages, "dir-beta", "2.0.0")  # flat layout
    (packages / "dir_gamma-1.0.0-py3-none-any.whl").write_bytes(b"this is not a zip archive")
    (packages / "index.html").write_text("not a distribution, ignored")
    for path in (wheel, sdist, flat):
        os.utime(path, (MTIME.timestamp(), MTIME.timestamp()))

    code, report = import_json(registry, "--tenant", "dirs", "--parallelism", "3", str(packages))
    assert code == 1
    assert (report["offered"], report["imported"], report["present"], report["conflicts"]) == (4, 3, 0, [])
    assert report["refused"] == [
        {
            "filename": "dir_gamma-1.0.0-py3-none-any.whl",
            "status": "refused",
            "detail": "the filename promises a zip archive, but the content is neither zip nor gzip",
        }
    ]
    page = project_page(registry, "dirs", token, "dir-alpha")
    assert {item["filename"]: item["upload-time"] for item in page["files"]} == {
        wheel.name: "2021-03-04T05:06:07.000000Z",
        sdist.name: "2021-03-04T05:06:07.000000Z",
    }
    assert {item["filename"]: item["hashes"]["sha256"] for item in page["files"]} == {
        wheel.name: sha256_of(wheel),
        sdist.name: sha256_of(sdist),
    }

    again = registry.cli("import", "--tenant", "dirs", str(packages), check=False)
    assert again.returncode == 1
    assert again.stdout.splitlines()[-1].startswith(
        f"imported 0 of 4 file(s) from directory {packages} into dirs: 3 already present, 0 conflict(s), 1 refused"
    )
    assert "[4/4]" in again.stderr  # line progress when stderr is not a terminal

    site = tmp_path / "site"
    installed = pip_install_into(site, registry.index_url("dirs", token), "dir-alpha", "dir-beta")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert (site / "dir_beta" / "__init__.py").read_text() == "VERSION = '2.0.0'\n"

    changed = tmp_path / "changed"
    build_wheel(changed, "dir-beta", "2.0.0", summary="other content, same filename")
    code, report = import_json(registry, "--tenant", "dirs", str(changed))
    assert code == 1
    assert report["conflicts"] == [
        {
            "filename": flat.name,
            "status": "conflict",
            "detail": f"the tenant already has {flat.name} with sha256 {sha256_of(flat)}; the source's is "
            f"{sha256_of(changed / flat.name)}",
        }
    ]


def test_running_pypiserver_is_imported_and_installable(
    registry: RunningRegistry,
    pypiserver: tuple[str, list[Path]],  # noqa: F811 - the imported fixture
    tmp_path: Path,
) -> None:
    registry.create_tenant("frompypiserver")
    token = registry.issue_token("frompypiserver", "read")
    url, wheels = pypiserver
    code, report = import_json(registry, "--tenant", "frompypiserver", f"{url}simple/")
    assert code == 0, report
    assert (report["imported"], report["source"]) == (3, f"index {url}simple/")
    page = project_page(registry, "frompypiserver", token, "served-lib")
    assert page["versions"] == ["0.1.0", "0.2.0", "1.0.0"]
    assert {item["hashes"]["sha256"] for item in page["files"]} == {sha256_of(wheel) for wheel in wheels}
    code, report = import_json(registry, "--tenant", "frompypiserver", f"{url}simple/")
    assert (code, report["imported"], report["present"]) == (0, 0, 3)
    installed = pip_install_into(tmp_path / "site", registry.index_url("frompypiserver", token), "served-lib")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert (tmp_path / "site" / "served_lib" / "__init__.py").read_text() == "VERSION = '1.0.0'\n"


def test_another_pyregistry_tenant_is_imported_over_json_with_yanks_and_upload_times(
    registry: RunningRegistry, tmp_path: Path
) -> None:
    registry.create_tenant("origin")
    registry.create_tenant("copy")
    publish = registry.issue_token("origin", "publish", name="ci")
    origin_read = registry.issue_token("origin", "read", name="export")
    copy_read = registry.issue_token("copy", "read")
    files = [build_wheel(tmp_path, "json-lib", "1.0.0"), build_wheel(tmp_path, "json-lib", "1.1.0")]
    files.append(build_sdist(tmp_path, "json-lib", "1.1.0"))
    upload = twine_upload(registry, "origin", publish, *files)
    assert upload.returncode == 0, upload.stdout + upload.stderr
    registry.cli("yank", "--tenant", "origin", "--project", "json-lib", "--version", "1.1.0", "--reason", "broken")
    source = registry.index_url("origin", origin_read)

    code, report = import_json(registry, "--tenant", "copy", "--parallelism", "2", source)
    assert code == 0, report
    assert (report["imported"], report["yanked_releases"]) == (3, 1)
    assert report["source"] == f"index {registry.base_url}/t/origin/simple/"  # no credentials in reports
    original = project_page(registry, "origin", origin_read, "json-lib")
    copied = project_page(registry, "copy", copy_read, "json-lib")
    keep = ("filename", "hashes", "upload-time", "yanked", "size", "requires-python")
    assert [{key: item[key] for key in keep} for item in copied["files"]] == [
        {key: item[key] for key in keep} for item in original["files"]
    ]
    assert [item["yanked"] for item in copied["files"]] == [False, "broken", "broken"]

    bare = registry.index_url("origin")
    code, report = import_json(registry, "--tenant", "copy", "--username", "__token__", "--password", origin_read, bare)
    assert (code, report["imported"], report["present"], report["yanked_releases"]) == (0, 0, 3, 0)
    refused = registry.cli("import", "--tenant", "copy", bare, check=False)
    assert refused.returncode == 1
    assert refused.stderr.splitlines()[-1] == f"error: {bare} answered HTTP 401"


def test_unknown_tenant_and_missing_source_are_one_line_errors(registry: RunningRegistry, tmp_path: Path) -> None:
    missing = registry.cli("import", "--tenant", "nobody", str(tmp_path), check=False)
    assert missing.returncode == 1
    assert missing.stderr.splitlines()[-1].startswith("error: tenant 'nobody' not found")
    nowhere = registry.cli("import", "--tenant", "dirs", str(tmp_path / "absent"), check=False)
    assert nowhere.returncode == 2
    assert f"{tmp_path / 'absent'} is neither a directory nor an http(s) index URL" in nowhere.stderr


def test_progress_is_a_bar_on_a_terminal(registry: RunningRegistry, tmp_path: Path) -> None:
    registry.create_tenant("tty")
    for number in range(3):
        build_wheel(tmp_path / "packages", f"tty-pkg-{number}", "1.0.0")
    controller, terminal = pty.openpty()
    try:
        result = subprocess.run(
            [pyregistry_exe(), "import", "--tenant", "tty", str(tmp_path / "packages")],
            cwd=registry.workdir,
            env=registry.env,
            stdout=subprocess.PIPE,
            stderr=terminal,
            text=True,
            timeout=120,
            check=False,
        )
        os.close(terminal)
        shown = b""
        with contextlib.suppress(OSError):  # EIO once the terminal's last writer is gone
            while chunk := os.read(controller, 4096):
                shown += chunk
    finally:
        os.close(controller)
    assert result.returncode == 0, shown.decode(errors="replace")
    assert "importing files" in shown.decode() and "3/3" in shown.decode()
    assert "[1/3]" not in shown.decode()  # no per-file lines on a terminal
    assert result.stdout.startswith("imported 3 of 3 file(s)")
