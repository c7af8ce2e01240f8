"""Scan before serve: a mirrored file is audited before any byte of it reaches a client; a finding at or above
``security.mirror_block_severity`` quarantines it until an admin releases it (CLI or admin UI)."""

from __future__ import annotations

import io
import sqlite3
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.support.admin import SUPERADMIN_EMAIL, SUPERADMIN_PASSWORD, AdminSession
from tests.support.byte_relay import ByteRelay
from tests.support.dists import build_wheel, sha256_of
from tests.support.fault_upstream import FaultyProject, FaultyUpstream
from tests.support.malicious import DROPPER_MARKER, dropper_source, dropper_wheel
from tests.support.scan_mirror import scanning_mirror
from tests.support.server import RunningRegistry, clean_client_env, start_registry

pytestmark = pytest.mark.e2e

JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}


@pytest.fixture(scope="module")
def upstream() -> Iterator[FaultyUpstream]:
    with FaultyUpstream() as server:
        yield server


@pytest.fixture(scope="module")
def registry(upstream: FaultyUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    with scanning_mirror(tmp_path_factory, upstream, {}, "corp", "other") as server:
        yield server


def _pip_install(index_url: str, target: Path, name: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target), "--index-url", index_url]
    return subprocess.run([*command, name], capture_output=True, text=True, timeout=180, env=clean_client_env())


def _page_files(registry: RunningRegistry, token: str, name: str, tenant: str = "corp") -> list[str]:
    url = f"{registry.base_url}/t/{tenant}/simple/{name}/"
    response = httpx.get(url, headers=JSON, auth=("__token__", token), timeout=60)
    assert response.status_code == 200, response.text
    return [file["filename"] for file in response.json()["files"]]


def _scan_rows(registry: RunningRegistry, sha256: str) -> list[tuple[str, str | None]]:
    with sqlite3.connect(registry.workdir / ".pyregistry" / "pyregistry.sqlite3") as db:
        return db.execute("SELECT filename, worst_rule_id FROM mirror_scans WHERE sha256 = ?", (sha256,)).fetchall()


def _release_cli(
    registry: RunningRegistry, project: str, filename: str, reason: str
) -> subprocess.CompletedProcess[str]:
    args = ["release-file", "--tenant", "corp", "--project", project, "--file", filename, "--reason", reason]
    return registry.cli(*args, check=False)


def _audit_actions(registry: RunningRegistry, action: str) -> list[tuple[str, str]]:
    with sqlite3.connect(registry.workdir / ".pyregistry" / "pyregistry.sqlite3") as db:
        return db.execute(
            "SELECT actor, target FROM audit_events WHERE action = ? ORDER BY occurred_at", (action,)
        ).fetchall()


def test_quarantined_wheel_is_refused_to_pip_without_a_byte_and_installs_after_release(
    registry: RunningRegistry, upstream: FaultyUpstream, tmp_path: Path
) -> None:
    wheel = dropper_wheel(tmp_path / "dist", "dropper-lib")
    upstream.add("dropper-lib", FaultyProject(wheel=wheel))
    token = registry.issue_token("corp", "read")
    with ByteRelay(registry.port) as relay:
        refused = _pip_install(relay.index_url("corp", token), tmp_path / "site", "dropper-lib")
        received = relay.received
    assert refused.returncode != 0
    assert "403" in refused.stdout + refused.stderr
    assert "yara/" in refused.stdout + refused.stderr and "pyregistry_test_dropper" in refused.stdout + refused.stderr
    assert b"PK\x03\x04" not in received, "a zip member header reached the client"
    assert DROPPER_MARKER not in received
    assert not (tmp_path / "site" / "dropper_lib").exists()
    assert upstream.hits[f"/files/dropper-lib/{wheel.name}"] == 1

    download = httpx.get(
        f"{registry.base_url}/t/corp/files/dropper-lib/1.0.0/{wheel.name}", auth=("__token__", token), timeout=60
    )
    assert download.status_code == 403
    assert download.text == (
        f"403 {wheel.name} is quarantined: security scan finding yara/pyregistry_test_dropper (critical); "
        "an admin can release it\n"
    )
    assert upstream.hits[f"/files/dropper-lib/{wheel.name}"] == 1, "a quarantined file is refused without upstream"
    metadata = httpx.get(download.url.copy_with(path=download.url.path + ".metadata"), auth=("__token__", token))
    assert metadata.status_code == 403
    assert "is quarantined" in metadata.text
    assert _page_files(registry, token, "dropper-lib") == []
    html = httpx.get(f"{registry.base_url}/t/corp/simple/dropper-lib/", auth=("__token__", token), timeout=60)
    assert wheel.name not in html.text
    api = httpx.get(f"{registry.base_url}/t/corp/pypi/dropper-lib/json", auth=("__token__", token), timeout=60)
    assert wheel.name not in api.text
    blobs = registry.workdir / ".pyregistry" / "blobs"
    assert not [path for path in blobs.rglob(wheel.name) if path.is_file()], "quarantined bytes were stored"
    assert _audit_actions(registry, "mirror.file_quarantined") == [("mirror", f"dropper-lib/{wheel.name}")]

    missing_reason = _release_cli(registry, "dropper-lib", wheel.name, " ")
    assert missing_reason.returncode == 1
    assert missing_reason.stderr.strip() == "error: a reason is required to release a quarantined file"
    released = _release_cli(registry, "dropper-lib", wheel.name, "test marker, reviewed")
    assert released.returncode == 0, released.stderr
    assert released.stdout.strip() == f"released {wheel.name} in tenant corp: test marker, reviewed"
    assert _audit_actions(registry, "mirror.file_released") == [("cli", f"dropper-lib/{wheel.name}")]
    assert _page_files(registry, token, "dropper-lib") == [wheel.name]
    installed = _pip_install(registry.index_url("corp", token), tmp_path / "site", "dropper-lib")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert (tmp_path / "site" / "dropper_lib" / "__init__.py").read_bytes() == dropper_source()
    assert len(_scan_rows(registry, sha256_of(wheel))) == 1

    other = registry.issue_token("other", "read")
    assert _page_files(registry, other, "dropper-lib", tenant="other") == [], "a release holds in its tenant only"


def test_admin_ui_release_button_serves_a_quarantined_file(
    registry: RunningRegistry, upstream: FaultyUpstream, tmp_path: Path
) -> None:
    wheel = dropper_wheel(tmp_path / "dist", "dropper-ui")
    upstream.add("dropper-ui", FaultyProject(wheel=wheel))
    token = registry.issue_token("corp", "read")
    url = f"{registry.base_url}/t/corp/files/dropper-ui/1.0.0/{wheel.name}"
    assert _page_files(registry, token, "dropper-ui") == [wheel.name]
    assert httpx.get(url, auth=("__token__", token), timeout=60).status_code == 403
    session = AdminSession(registry)
    assert session.login(SUPERADMIN_EMAIL, SUPERADMIN_PASSWORD).status_code == 303
    page = session.get("/admin/t/corp/packages/dropper-ui")
    assert f'data-quarantined="{wheel.name}"' in page.text
    assert "quarantined: yara/pyregistry_test_dropper (critical)" in page.text
    action = f"/admin/t/corp/packages/dropper-ui/files/{wheel.name}/release"
    refused = session.post(action, {"reason": ""})
    assert refused.status_code == 400
    assert "a reason is required to release a quarantined file" in refused.text
    done = session.post(action, {"reason": "false positive"})
    assert done.status_code == 303, done.text
    assert f'data-quarantined="{wheel.name}"' not in session.get("/admin/t/corp/packages/dropper-ui").text
    served = httpx.get(url, auth=("__token__", token), timeout=60)
    assert served.status_code == 200
    assert served.content == wheel.read_bytes()
    assert _audit_actions(registry, "mirror.file_released")[-1] == (SUPERADMIN_EMAIL, f"dropper-ui/{wheel.name}")
    again = session.post(action, {"reason": "twice"})
    assert again.status_code == 400
    assert f"{wheel.name} is not quarantined in tenant &#39;corp&#39;" in again.text


def test_clean_wheel_installs_and_is_scanned_once_across_tenants(
    registry: RunningRegistry, upstream: FaultyUpstream, tmp_path: Path
) -> None:
    wheel = build_wheel(tmp_path / "dist", "tidy-lib", "1.0.0")
    upstream.add("tidy-lib", FaultyProject(wheel=wheel))
    for tenant, site in (("corp", "one"), ("other", "two")):
        token = registry.issue_token(tenant, "read")
        installed = _pip_install(registry.index_url(tenant, token), tmp_path / site, "tidy-lib")
        assert installed.returncode == 0, installed.stdout + installed.stderr
        assert (tmp_path / site / "tidy_lib" / "__init__.py").read_text() == "VERSION = '1.0.0'\n"
    assert upstream.hits[f"/files/tidy-lib/{wheel.name}"] == 2, "each tenant caches its own copy"
    assert _scan_rows(registry, sha256_of(wheel)) == [(wheel.name, None)]
    scans = [line for line in registry.log_path.read_text().splitlines() if "mirror.scanned" in line]
    assert len([line for line in scans if wheel.name in line]) == 1, scans


def _evil_sdist(out: Path, name: str) -> Path:
    top = f"{name.replace('-', '_')}-1.0.0"
    target = out / f"{top}.tar.gz"
    out.mkdir(parents=True, exist_ok=True)
    with tarfile.open(target, "w:gz") as archive:
        for path, data in (
            (f"{top}/PKG-INFO", b"Metadata-Version: 2.1\nName: x\nVersion: 1.0.0\n"),
            (f"{top}/setup.py", dropper_source()),
        ):
            info = tarfile.TarInfo(path)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return target


def test_an_sdist_is_scanned_and_quarantined_too(
    registry: RunningRegistry, upstream: FaultyUpstream, tmp_path: Path
) -> None:
    sdist = _evil_sdist(tmp_path / "dist", "dropper-src")
    upstream.add("dropper-src", FaultyProject(wheel=sdist))
    token = registry.issue_token("corp", "read")
    assert _page_files(registry, token, "dropper-src") == [sdist.name]
    url = f"{registry.base_url}/t/corp/files/dropper-src/1.0.0/{sdist.name}"
    response = httpx.get(url, auth=("__token__", token), timeout=60)
    assert response.status_code == 403
    assert response.text == (
        f"403 {sdist.name} is quarantined: security scan finding yara/pyregistry_test_dropper (critical); "
        "an admin can release it\n"
    )
    assert _page_files(registry, token, "dropper-src") == []


def test_a_scanner_that_cannot_run_refuses_the_file_and_keeps_no_verdict(
    upstream: FaultyUpstream, tmp_path: Path
) -> None:
    wheel = build_wheel(tmp_path / "dist", "unscanned-lib", "1.0.0")
    upstream.add("unscanned-lib", FaultyProject(wheel=wheel))
    missing = tmp_path / "no-such-foxguard"
    env = {"PYPI_BASE_URL": upstream.url, "PYPI_MIRROR_EAGER_DOWNLOAD_PERCENT": "0", "FOXGUARD_PATH": str(missing)}
    server = start_registry(tmp_path / "server", env)
    try:
        server.create_tenant("corp", "--enable-mirroring")
        token = server.issue_token("corp", "read")
        assert _page_files(server, token, "unscanned-lib") == [wheel.name]
        url = f"{server.base_url}/t/corp/files/unscanned-lib/1.0.0/{wheel.name}"
        for attempt in (1, 2):
            response = httpx.get(url, auth=("__token__", token), timeout=60)
            assert response.status_code == 503
            assert response.text == (
                f"503 the security scan of {wheel.name} could not run (foxguard: the foxguard executable {missing} "
                "does not exist); it is not served\n"
            )
            assert upstream.hits[f"/files/unscanned-lib/{wheel.name}"] == attempt, "nothing was cached as clean"
        assert _scan_rows(server, sha256_of(wheel)) == []
        blobs = server.workdir / ".pyregistry" / "blobs"
        assert not [path for path in blobs.rglob(wheel.name) if path.is_file()]
    finally:
        server.stop()


def test_concurrent_first_downloads_scan_the_file_once(
    registry: RunningRegistry, upstream: FaultyUpstream, tmp_path: Path
) -> None:
    wheel = build_wheel(tmp_path / "dist", "busy-lib", "1.0.0")
    upstream.add("busy-lib", FaultyProject(wheel=wheel, file_seconds=0.5))
    token = registry.issue_token("corp", "read")
    assert _page_files(registry, token, "busy-lib") == [wheel.name]
    url = f"{registry.base_url}/t/corp/files/busy-lib/1.0.0/{wheel.name}"
    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(pool.map(lambda _: httpx.get(url, auth=("__token__", token), timeout=60), range(4)))
    assert [response.status_code for response in responses] == [200] * 4
    assert all(response.content == wheel.read_bytes() for response in responses)
    scans = [line for line in registry.log_path.read_text().splitlines() if "mirror.scanned" in line]
    assert len([line for line in scans if wheel.name in line]) == 1, scans
