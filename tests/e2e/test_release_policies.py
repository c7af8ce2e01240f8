"""Release policies end to end: real pip and uv against a registry mirroring a loopback PEP 691 upstream whose
pages carry chosen PEP 700 upload times. Tenant ``corp`` holds upstream files younger than 7 days and hides
versions with high-severity advisories; tenant ``open`` keeps the defaults (no policy)."""

from __future__ import annotations

import html
import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.support.admin import SUPERADMIN_EMAIL, SUPERADMIN_PASSWORD, AdminSession, upload_file
from tests.support.dists import build_wheel
from tests.support.fault_upstream import FaultyProject, FaultyUpstream
from tests.support.scan_mirror import scanning_mirror
from tests.support.server import BIN_DIR, RunningRegistry, clean_client_env
from tests.support.vulnerability_advisories import write_vulnerability_advisory

pytestmark = pytest.mark.e2e

JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}
HIGH = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N"
NOW = datetime.now(UTC).replace(microsecond=0)
FRESH_UPLOAD = NOW - timedelta(hours=1)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Setup:
    registry: RunningRegistry
    corp: str
    open: str
    wheels: dict[str, Path]

    def get(self, path: str, token: str | None = None, **kwargs: object) -> httpx.Response:
        return httpx.get(
            f"{self.registry.base_url}{path}",
            auth=("__token__", token or self.corp),
            timeout=60,
            **kwargs,  # type: ignore[arg-type]
        )


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    dist = tmp_path_factory.mktemp("dist")
    advisories = tmp_path_factory.mktemp("advisories")
    write_vulnerability_advisory(advisories, "PYSEC-2099-77", "vuln-tool", ["2.0.0"], cvss_vector=HIGH, fixed="2.0.1")
    wheels = {
        f"{name}-{version}": build_wheel(dist, name, version)
        for name, version in (
            ("cool-tool", "1.0.0"),
            ("cool-tool", "1.1.0"),
            ("cool-tool", "2.0.0"),
            ("timeless-tool", "1.0.0"),
            ("vuln-tool", "1.0.0"),
            ("vuln-tool", "2.0.0"),
        )
    }
    wheels["shell-lib-1.0.0"] = build_wheel(
        dist, "shell-lib", "1.0.0", extra_files={"shell_lib/run.sh": b"#!/bin/sh\necho configured\n"}
    )
    month_ago = _stamp(NOW - timedelta(days=30))
    with FaultyUpstream() as upstream:
        upstream.add(
            "cool-tool",
            FaultyProject(
                wheel=wheels["cool-tool-1.0.0"],
                more_wheels=[wheels["cool-tool-1.1.0"], wheels["cool-tool-2.0.0"]],
                upload_times={
                    wheels["cool-tool-1.0.0"].name: month_ago,
                    wheels["cool-tool-1.1.0"].name: _stamp(NOW - timedelta(days=10)),
                    wheels["cool-tool-2.0.0"].name: _stamp(FRESH_UPLOAD),
                },
            ),
        )
        upstream.add("timeless-tool", FaultyProject(wheel=wheels["timeless-tool-1.0.0"]))
        upstream.add(
            "vuln-tool",
            FaultyProject(
                wheel=wheels["vuln-tool-1.0.0"],
                more_wheels=[wheels["vuln-tool-2.0.0"]],
                upload_times={wheels["vuln-tool-1.0.0"].name: month_ago, wheels["vuln-tool-2.0.0"].name: month_ago},
            ),
        )
        upstream.add(
            "shell-lib",
            FaultyProject(wheel=wheels["shell-lib-1.0.0"], upload_times={wheels["shell-lib-1.0.0"].name: month_ago}),
        )
        env = {"ADVISORY_DB_PATH": str(advisories)}
        with scanning_mirror(tmp_path_factory, upstream, env, "corp", "open") as registry:
            registry.cli(
                "set-release-policy", "--tenant", "corp", "--min-release-age", "7d",
                "--vulnerabilities", "hide", "--vulnerability-severity", "high",
            )  # fmt: skip
            yield Setup(
                registry,
                registry.issue_token("corp", "read", name="ci"),
                registry.issue_token("open", "read", name="ci"),
                wheels,
            )


def _pip(setup: Setup, tenant: str, token: str, target: Path, requirement: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--disable-pip-version-check", "--target", str(target),
         "--index-url", setup.registry.index_url(tenant, token), requirement],
        capture_output=True, text=True, timeout=180, env=clean_client_env(),
    )  # fmt: skip


def _uv(setup: Setup, tenant: str, token: str, target: Path, requirement: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN_DIR / "uv"), "pip", "install", "--no-deps", "--no-cache", "--target", str(target),
         "--index-url", setup.registry.index_url(tenant, token), requirement],
        capture_output=True, text=True, timeout=180, env=clean_client_env(),
    )  # fmt: skip


def _installed(target: Path, name: str) -> list[str]:
    return sorted(path.name.removesuffix(".dist-info").split("-", 1)[1] for path in target.glob(f"{name}-*.dist-info"))


def _page_files(setup: Setup, project: str, token: str | None = None, tenant: str = "corp") -> list[str]:
    response = setup.get(f"/t/{tenant}/simple/{project}/", token, headers=JSON)
    assert response.status_code == 200, response.text
    return [file["filename"] for file in response.json()["files"]]


def _audit(setup: Setup, action: str) -> list[tuple[str, str, dict[str, str]]]:
    with sqlite3.connect(setup.registry.workdir / ".pyregistry" / "pyregistry.sqlite3") as db:
        rows = db.execute(
            "SELECT actor, target, details FROM audit_events WHERE action = ? ORDER BY occurred_at", (action,)
        ).fetchall()
    return [(actor, target, json.loads(details)) for actor, target, details in rows]


def test_pip_and_uv_install_the_newest_version_outside_the_cooldown(setup: Setup, tmp_path: Path) -> None:
    pip = _pip(setup, "corp", setup.corp, tmp_path / "pip", "cool-tool")
    assert pip.returncode == 0, pip.stdout + pip.stderr
    assert _installed(tmp_path / "pip", "cool_tool") == ["1.1.0"]
    uv = _uv(setup, "corp", setup.corp, tmp_path / "uv", "cool-tool")
    assert uv.returncode == 0, uv.stdout + uv.stderr
    assert _installed(tmp_path / "uv", "cool_tool") == ["1.1.0"]
    unpolicied = _pip(setup, "open", setup.open, tmp_path / "open", "cool-tool")
    assert unpolicied.returncode == 0, unpolicied.stdout + unpolicied.stderr
    assert _installed(tmp_path / "open", "cool_tool") == ["2.0.0"], "the other tenant has no cooldown"


def test_a_held_file_is_on_no_page_and_its_download_says_which_policy_and_when_it_clears(
    setup: Setup, tmp_path: Path
) -> None:
    held = setup.wheels["cool-tool-2.0.0"].name
    assert _page_files(setup, "cool-tool") == [setup.wheels[f"cool-tool-{v}"].name for v in ("1.0.0", "1.1.0")]
    assert held not in setup.get("/t/corp/simple/cool-tool/").text
    api = setup.get("/t/corp/pypi/cool-tool/json").json()
    assert sorted(api["releases"]) == ["1.0.0", "1.1.0"] and api["info"]["version"] == "1.1.0"
    download = setup.get(f"/t/corp/files/cool-tool/2.0.0/{held}")
    assert download.status_code == 403
    clears = _stamp(FRESH_UPLOAD + timedelta(days=7))
    assert download.text == (
        f"403 {held} is held by the tenant's release cooldown policy (min_release_age = 7d) until {clears} (UTC); "
        "an admin can approve it early\n"
    )
    pinned = _pip(setup, "corp", setup.corp, tmp_path / "pinned", "cool-tool==2.0.0")
    assert pinned.returncode != 0
    assert "No matching distribution found for cool-tool==2.0.0" in pinned.stderr


def test_an_approval_makes_the_held_version_installable_until_it_is_revoked(setup: Setup, tmp_path: Path) -> None:
    approved = setup.registry.cli(
        "approve-release", "--tenant", "corp", "--project", "Cool_Tool", "--version", "2.0.0",
        "--reason", "urgent fix for CVE-2099-1", "--json",
    )  # fmt: skip
    approval = json.loads(approved.stdout)
    assert (approval["project"], approval["version"], approval["approved_by"]) == ("cool-tool", "2.0.0", "cli")
    try:
        pip = _pip(setup, "corp", setup.corp, tmp_path / "pip", "cool-tool")
        assert pip.returncode == 0, pip.stdout + pip.stderr
        assert _installed(tmp_path / "pip", "cool_tool") == ["2.0.0"]
        uv = _uv(setup, "corp", setup.corp, tmp_path / "uv", "cool-tool==2.0.0")
        assert uv.returncode == 0, uv.stdout + uv.stderr
        listed = setup.registry.cli("list-approvals", "--tenant", "corp").stdout
        assert f"{approval['id']}  cool-tool 2.0.0  by cli at " in listed and "urgent fix for CVE-2099-1" in listed
    finally:
        setup.registry.cli("revoke-approval", "--tenant", "corp", "--id", approval["id"])
    held = setup.wheels["cool-tool-2.0.0"].name
    assert setup.get(f"/t/corp/files/cool-tool/2.0.0/{held}").status_code == 403, "revoked: held again"
    assert ("cli", "cool-tool/2.0.0", {"approval": approval["id"], "version": "2.0.0",
            "reason": "urgent fix for CVE-2099-1"}) in _audit(setup, "policy.release_approved")  # fmt: skip
    assert [target for _, target, _ in _audit(setup, "policy.approval_revoked")] == ["cool-tool/2.0.0"]


def test_files_without_an_upstream_upload_time_are_held_by_default(setup: Setup, tmp_path: Path) -> None:
    assert _page_files(setup, "timeless-tool") == []
    assert _page_files(setup, "timeless-tool", setup.open, tenant="open") == [setup.wheels["timeless-tool-1.0.0"].name]
    wheel = setup.wheels["timeless-tool-1.0.0"].name
    refused = setup.get(f"/t/corp/files/timeless-tool/1.0.0/{wheel}")
    assert refused.status_code == 403
    assert "the upstream gave no upload time, so it never clears on its own" in refused.text
    pip = _pip(setup, "corp", setup.corp, tmp_path / "pip", "timeless-tool")
    assert pip.returncode != 0 and "No matching distribution found for timeless-tool" in pip.stderr


def test_a_version_with_a_high_advisory_is_hidden_and_pip_and_uv_take_the_older_one(
    setup: Setup, tmp_path: Path
) -> None:
    pip = _pip(setup, "corp", setup.corp, tmp_path / "pip", "vuln-tool")
    assert pip.returncode == 0, pip.stdout + pip.stderr
    assert _installed(tmp_path / "pip", "vuln_tool") == ["1.0.0"]
    uv = _uv(setup, "corp", setup.corp, tmp_path / "uv", "vuln-tool")
    assert uv.returncode == 0, uv.stdout + uv.stderr
    assert _installed(tmp_path / "uv", "vuln_tool") == ["1.0.0"]
    wheel = setup.wheels["vuln-tool-2.0.0"].name
    refused = setup.get(f"/t/corp/files/vuln-tool/2.0.0/{wheel}")
    assert refused.status_code == 403
    assert refused.text == (
        f"403 {wheel} is hidden by the tenant's vulnerability policy (hide versions with advisories at or above "
        "high): PYSEC-2099-77\n"
    )
    assert _page_files(setup, "vuln-tool", setup.open, tenant="open") == [
        setup.wheels["vuln-tool-1.0.0"].name,
        wheel,
    ]


def test_mark_keeps_the_version_and_the_json_api_names_the_advisory(setup: Setup) -> None:
    setup.registry.cli("set-release-policy", "--tenant", "open", "--vulnerabilities", "mark")
    try:
        api = setup.get("/t/open/pypi/vuln-tool/2.0.0/json", setup.open).json()
    finally:
        setup.registry.cli("set-release-policy", "--tenant", "open", "--default", "vulnerability_action")
    assert [(v["id"], v["fixed_in"]) for v in api["vulnerabilities"]] == [("PYSEC-2099-77", ["2.0.1"])]
    assert setup.get("/t/open/pypi/vuln-tool/1.0.0/json", setup.open).json()["vulnerabilities"] == []
    changes = [(target, details) for _, target, details in _audit(setup, "policy.changed") if target == "open"]
    assert changes[-2:] == [
        ("open", {"vulnerability_action": "default -> mark"}),
        ("open", {"vulnerability_action": "mark -> default"}),
    ]


def test_local_uploads_are_never_held(setup: Setup, tmp_path: Path) -> None:
    publish = setup.registry.issue_token("corp", "publish", name="publisher")
    wheel = build_wheel(tmp_path / "dist", "inhouse-lib", "1.0.0")
    upload_file(setup.registry, "corp", publish, wheel, "inhouse-lib", "1.0.0")
    pip = _pip(setup, "corp", setup.corp, tmp_path / "pip", "inhouse-lib")
    assert pip.returncode == 0, pip.stdout + pip.stderr
    assert _installed(tmp_path / "pip", "inhouse_lib") == ["1.0.0"]


def test_admins_see_the_policy_and_approve_from_the_ui(setup: Setup) -> None:
    session = AdminSession(setup.registry)
    assert session.login(SUPERADMIN_EMAIL, SUPERADMIN_PASSWORD).status_code == 303
    page = session.get("/admin/t/corp/policy")
    assert page.status_code == 200
    assert '<td class="effective">7d</td>' in page.text and '<td class="effective">hide</td>' in page.text
    held = setup.wheels["cool-tool-2.0.0"].name
    assert held not in _page_files(setup, "cool-tool"), "the first page view mirrors the project"
    project = html.unescape(session.get("/admin/t/corp/packages/cool-tool").text)
    assert f'data-held="{held}" title="{held} is held by the tenant\'s release cooldown policy' in project
    assert f'data-approve="{held}"' in project
    assert 'data-held="' + setup.wheels["cool-tool-1.1.0"].name not in project
    refused = session.post("/admin/t/corp/policy", {"block_severity": "severe"})
    assert refused.status_code == 400 and "unknown severity" in refused.text
    approved = session.post(
        "/admin/t/corp/policy/approvals", {"project": "cool-tool", "version": "", "reason": "vetted by security"}
    )
    assert approved.status_code == 303, approved.text
    listing = session.get("/admin/t/corp/policy").text
    assert "vetted by security" in listing and "every version" in listing
    try:
        assert setup.wheels["cool-tool-2.0.0"].name in _page_files(setup, "cool-tool")
    finally:
        for approval in json.loads(setup.registry.cli("list-approvals", "--tenant", "corp", "--json").stdout):
            setup.registry.cli("revoke-approval", "--tenant", "corp", "--id", approval["id"])
    assert _audit(setup, "policy.release_approved")[-1][:2] == (SUPERADMIN_EMAIL, "cool-tool")
    session.client.close()


def test_the_cli_shows_the_policy_in_force_and_refuses_bad_input_in_one_line(setup: Setup) -> None:
    shown = setup.registry.cli("set-release-policy", "--tenant", "corp").stdout
    assert shown.splitlines() == [
        "release policy of tenant corp:",
        "  min_release_age = 7d (tenant)",
        "  unknown_upload_time = hold (default)",
        "  block_severity = critical (default)",
        "  vulnerability_action = hide (tenant)",
        "  vulnerability_severity = high (tenant)",
        "  approvals: 0",
    ]
    for args, message in (
        (("set-release-policy", "--tenant", "corp", "--min-release-age", "soon"), "error: invalid duration 'soon'"),
        (("approve-release", "--tenant", "nope", "--project", "x", "--reason", "r"), "error: tenant 'nope' does not"),
        (
            ("approve-release", "--tenant", "corp", "--project", "x", "--version", "v!", "--reason", "r"),
            "error: version",
        ),
        (("revoke-approval", "--tenant", "corp", "--id", "missing"), "error: approval 'missing' does not exist"),
    ):
        result = setup.registry.cli(*args, check=False)
        assert result.returncode == 1, result.stderr
        assert result.stderr.startswith(message), result.stderr
        assert "Traceback" not in result.stderr


def test_each_tenant_quarantines_at_its_own_block_severity_and_releases_with_the_cli(setup: Setup) -> None:
    wheel = setup.wheels["shell-lib-1.0.0"].name
    path = f"/files/shell-lib/1.0.0/{wheel}"
    setup.registry.cli("set-release-policy", "--tenant", "corp", "--block-severity", "medium")
    try:
        assert _page_files(setup, "shell-lib", setup.open, tenant="open") == [wheel]
        served = setup.get(f"/t/open{path}", setup.open)
        assert served.status_code == 200, "a shell script is below the default block severity (critical)"
        assert _page_files(setup, "shell-lib") == [], "corp blocks at medium: the same verdict quarantines it"
        refused = setup.get(f"/t/corp{path}")
        assert refused.status_code == 403
        assert refused.text.startswith(f"403 {wheel} is quarantined: security scan finding ")
        released = setup.registry.cli(
            "release-file", "--tenant", "corp", "--project", "shell-lib", "--file", wheel, "--reason", "reviewed"
        )
        assert released.stdout.strip() == f"released {wheel} in tenant corp: reviewed"
        assert setup.get(f"/t/corp{path}").status_code == 200
    finally:
        setup.registry.cli("set-release-policy", "--tenant", "corp", "--default", "block_severity")
    assert ("cli", "corp", {"block_severity": "default -> medium"}) in _audit(setup, "policy.changed")
