"""Mirrored provenance end to end: a loopback upstream serves real PEP 740 provenance; the registry verifies it,
serves it (provenance route, ``provenance`` / ``data-provenance``), pip installs the attested file, and a later
release without provenance is held by provenance continuity until an admin releases it."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.admin import SUPERADMIN_EMAIL, SUPERADMIN_PASSWORD, AdminSession
from tests.support.attestations import (
    flipped_signature,
    github_attested,
    gitlab_attested,
    needs_attestations,
    upstream_provenance,
)
from tests.support.dists import build_wheel
from tests.support.provenance_upstream import ProvenanceUpstream
from tests.support.server import BIN_DIR, RunningRegistry, clean_client_env, start_registry

pytestmark = [pytest.mark.e2e, needs_attestations]

JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}
BUILD_CANDIDATES = (Path(sys.base_prefix) / "bin" / "python3", Path("/usr/bin/python3"))


def _legacy_builder() -> Path | None:
    """An interpreter with pip, setuptools and wheel, to build the attested legacy sdist without network."""
    for python in BUILD_CANDIDATES:
        check = [str(python), "-c", "import setuptools, wheel, pip"]
        if python.is_file() and subprocess.run(check, capture_output=True).returncode == 0:
            return python
    return None


@pytest.fixture(scope="module")
def upstream() -> Iterator[ProvenanceUpstream]:
    with ProvenanceUpstream() as server:
        yield server


@pytest.fixture(scope="module")
def registry(upstream: ProvenanceUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    settings = {"PYPI_BASE_URL": upstream.url, "PYPI_MIRROR_EAGER_DOWNLOAD_PERCENT": "0"}
    server = start_registry(tmp_path_factory.mktemp("provenance-mirror"), settings)
    try:
        server.create_tenant("corp", "--enable-mirroring")
        server.create_tenant("lax", "--enable-mirroring")
        yield server
    finally:
        server.stop()


def _page(registry: RunningRegistry, token: str, project: str, tenant: str = "corp") -> dict[str, dict[str, object]]:
    response = httpx.get(
        f"{registry.base_url}/t/{tenant}/simple/{project}/", headers=JSON, auth=("__token__", token), timeout=60
    )
    assert response.status_code == 200, response.text
    return {str(entry["filename"]): entry for entry in response.json()["files"]}


def _audit(registry: RunningRegistry, action: str) -> list[tuple[str, str, str]]:
    with sqlite3.connect(registry.workdir / ".pyregistry" / "pyregistry.sqlite3") as db:
        return db.execute(
            "SELECT actor, target, details FROM audit_events WHERE action = ? ORDER BY occurred_at", (action,)
        ).fetchall()


def _uv_install(index_url: str, target: Path, requirement: str) -> subprocess.CompletedProcess[str]:
    command = [str(BIN_DIR / "uv"), "pip", "install", "--no-cache", "--no-deps", "--target", str(target)]
    command += ["--python", sys.executable, "--index-url", index_url, requirement]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, env=clean_client_env())


def _held_release_cli(registry: RunningRegistry, version: str, reason: str) -> subprocess.CompletedProcess[str]:
    args = ["release-held", "--tenant", "corp", "--project", "pypi-attestations", "--version", version]
    return registry.cli(*args, "--reason", reason, check=False)


def test_attested_file_installs_with_its_provenance_and_a_later_unattested_release_is_held(
    registry: RunningRegistry, upstream: ProvenanceUpstream, tmp_path: Path
) -> None:
    attested = github_attested()
    upstream.add("pypi-attestations", attested.path, "0.0.19", upstream_provenance())
    token = registry.issue_token("corp", "read", name="provenance-reader")
    auth = ("__token__", token)

    entry = _page(registry, token, "pypi-attestations")[attested.filename]
    provenance_url = httpx.URL(f"{registry.base_url}/t/corp/simple/pypi-attestations/").join(str(entry["provenance"]))
    served = httpx.get(provenance_url, auth=auth, timeout=30)
    assert served.status_code == 200, served.text
    assert served.headers["content-type"].startswith("application/vnd.pypi.integrity.v1+json")
    [bundle] = served.json()["attestation_bundles"]
    assert bundle["publisher"]["repository"] == "trailofbits/pypi-attestations"
    assert bundle["attestations"] == [attested.attestation]
    html = httpx.get(f"{registry.base_url}/t/corp/simple/pypi-attestations/", auth=auth, timeout=30).text
    assert 'data-provenance="' in html

    builder = _legacy_builder()
    if builder is None:
        pytest.skip("no interpreter with pip, setuptools and wheel to build the attested legacy sdist offline")
    install = [str(builder), "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-cache-dir"]
    install += ["--target", str(tmp_path / "site"), "--index-url", registry.index_url("corp", token)]
    installed = subprocess.run(
        [*install, "pypi-attestations"], capture_output=True, text=True, timeout=300, env=clean_client_env()
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert (tmp_path / "site" / "pypi_attestations" / "_impl.py").is_file()

    later = build_wheel(tmp_path / "later", "pypi-attestations", "0.0.20")
    upstream.add("pypi-attestations", later, "0.0.20", None)
    registry.cli("mirror", "--tenant", "corp", "--project", "pypi-attestations")
    assert later.name not in _page(registry, token, "pypi-attestations")
    download = httpx.get(
        f"{registry.base_url}/t/corp/files/pypi-attestations/0.0.20/{later.name}", auth=auth, timeout=60
    )
    assert download.status_code == 403
    assert "held by provenance continuity" in download.text
    assert "earlier releases were attested by github:trailofbits/pypi-attestations/release.yml" in download.text
    refused = _uv_install(registry.index_url("corp", token), tmp_path / "uv-site", "pypi-attestations==0.0.20")
    assert refused.returncode != 0
    assert not (tmp_path / "uv-site" / "pypi_attestations").exists()

    assert _held_release_cli(registry, "0.0.20", " ").returncode == 1
    released = _held_release_cli(registry, "0.0.20", "moved to a new release pipeline")
    assert released.returncode == 0, released.stderr
    assert released.stdout.strip() == (
        "released pypi-attestations 0.0.20 in tenant corp: moved to a new release pipeline"
    )
    assert later.name in _page(registry, token, "pypi-attestations")
    accepted = _uv_install(registry.index_url("corp", token), tmp_path / "uv-site", "pypi-attestations==0.0.20")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    releases = _audit(registry, "mirror.provenance_hold_released")
    [(actor, details)] = [(actor, details) for actor, target, details in releases if target.endswith("==0.0.20")]
    assert actor == "cli"
    assert json.loads(details)["reason"] == "moved to a new release pipeline"
    assert (
        _held_release_cli(registry, "0.0.20", "again")
        .stderr.strip()
        .endswith("is not held by provenance continuity in 'corp'")
    )


def test_a_tenant_with_continuity_off_offers_the_unattested_release(
    registry: RunningRegistry, upstream: ProvenanceUpstream, tmp_path: Path
) -> None:
    listed = {listed.path.name for listed in upstream.projects.get("pypi-attestations", [])}
    if github_attested().filename not in listed:
        upstream.add("pypi-attestations", github_attested().path, "0.0.19", upstream_provenance())
    if "pypi_attestations-0.0.20-py3-none-any.whl" not in listed:
        upstream.add("pypi-attestations", build_wheel(tmp_path, "pypi-attestations", "0.0.20"), "0.0.20", None)
    switched = registry.cli("provenance-policy", "--tenant", "lax", "--continuity", "off")
    assert switched.stdout.strip() == "provenance continuity is off for tenant lax (off)"
    token = registry.issue_token("lax", "read", name="lax-reader")
    assert "pypi_attestations-0.0.20-py3-none-any.whl" in _page(registry, token, "pypi-attestations", "lax")
    assert [row[1] for row in _audit(registry, "tenant.provenance_continuity")] == ["lax"]


def test_tampered_upstream_provenance_is_not_served(registry: RunningRegistry, upstream: ProvenanceUpstream) -> None:
    attested = gitlab_attested()
    bundle = {
        "publisher": {
            "kind": "GitLab",
            "repository": "facutuesca/gitlab-oidc-project",
            "workflow_filepath": ".gitlab-ci.yml",
        },
        "attestations": [flipped_signature(attested.attestation)],
    }
    upstream.add("gitlab-oidc-project", attested.path, "0.0.3", {"version": 1, "attestation_bundles": [bundle]})
    token = registry.issue_token("corp", "read", name="tamper-reader")
    entry = _page(registry, token, "gitlab-oidc-project")[attested.filename]
    assert "provenance" not in entry
    missing = httpx.get(
        f"{registry.base_url}/t/corp/provenance/gitlab-oidc-project/0.0.3/{attested.filename}",
        auth=("__token__", token),
        timeout=30,
    )
    assert missing.status_code == 404
    with sqlite3.connect(registry.workdir / ".pyregistry" / "pyregistry.sqlite3") as db:
        [(status, detail)] = db.execute(
            "SELECT status, detail FROM mirror_provenance WHERE filename = ?", (attested.filename,)
        ).fetchall()
    assert status == "refused" and "DSSE: invalid signature" in detail


def test_the_admin_ui_flags_a_held_release_and_releases_it_with_a_reason(
    registry: RunningRegistry, upstream: ProvenanceUpstream, tmp_path: Path
) -> None:
    listed = {listed.path.name for listed in upstream.projects.get("pypi-attestations", [])}
    if github_attested().filename not in listed:
        upstream.add("pypi-attestations", github_attested().path, "0.0.19", upstream_provenance())
    wheel = build_wheel(tmp_path, "pypi-attestations", "0.0.21")
    upstream.add("pypi-attestations", wheel, "0.0.21", None)
    registry.cli("mirror", "--tenant", "corp", "--project", "pypi-attestations")
    session = AdminSession(registry)
    assert session.login(SUPERADMIN_EMAIL, SUPERADMIN_PASSWORD).status_code == 303
    page = session.get("/admin/t/corp/packages/pypi-attestations").text
    assert 'data-held-release="0.0.21"' in page and f'data-held="{wheel.name}"' in page
    assert "has no verified provenance, but earlier releases were attested by" in page
    action = "/admin/t/corp/packages/pypi-attestations/releases/0.0.21/release-held"
    refused = session.post(action, {"reason": ""})
    assert refused.status_code == 400
    assert "a reason is required to release a version held by provenance continuity" in refused.text
    done = session.post(action, {"reason": "reviewed the new workflow"})
    assert done.status_code == 303, done.text
    assert 'data-held-release="0.0.21"' not in session.get("/admin/t/corp/packages/pypi-attestations").text
    token = registry.issue_token("corp", "read", name="ui-reader")
    assert wheel.name in _page(registry, token, "pypi-attestations")
    assert (SUPERADMIN_EMAIL, "pypi-attestations==0.0.21") in [
        (actor, target) for actor, target, _ in _audit(registry, "mirror.provenance_hold_released")
    ]
