"""The admin UI's mirroring, trusted-publisher and security actions over HTTP against a real server with a loopback
upstream index and a small advisory database: sessions, CSRF, tenant isolation, validation messages, audit trail."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support.admin import SUPERADMIN_EMAIL, SUPERADMIN_PASSWORD, AdminSession, issue_from_ui, upload_file
from tests.support.advisories import write_small_advisory_db
from tests.support.dists import build_wheel
from tests.support.fault_upstream import FaultyProject, FaultyUpstream
from tests.support.malicious import bad_wheels
from tests.support.server import RunningRegistry, start_registry

pytestmark = pytest.mark.e2e

ACME_ADMIN = ("boss@acme.test", "acme-admin-password")
GLOBEX_ADMIN = ("boss@globex.test", "globex-admin-password")
SHELL_WHEEL = "shell_hook-1.0.0-py3-none-any.whl"
UPSTREAM_WHEEL = "upstream_tool-1.0.0-py3-none-any.whl"
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
GITLAB_ISSUERS = ("https://gitlab.com", "https://gitlab.acme.test")
# the JWKS URLs are never fetched here: these tests register publishers, they do not mint
OIDC_ISSUERS = [
    {"provider": provider, "issuer": issuer, "jwks_url": f"{issuer}/jwks"}
    for provider, issuer in [("github", GITHUB_ISSUER), *(("gitlab", issuer) for issuer in GITLAB_ISSUERS)]
]


@pytest.fixture(scope="module")
def upstream() -> Iterator[FaultyUpstream]:
    server = FaultyUpstream()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def server(upstream: FaultyUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    dist = tmp_path_factory.mktemp("upstream-dist")
    upstream.add("upstream-tool", FaultyProject(wheel=build_wheel(dist, "upstream-tool", "1.0.0")))
    running = start_registry(
        tmp_path_factory.mktemp("features"),
        {
            "PYPI_BASE_URL": upstream.url,
            "PYPI_MIRROR_EAGER_DOWNLOAD_PERCENT": "100",
            "ADVISORY_DB_PATH": str(write_small_advisory_db(tmp_path_factory.mktemp("advisories"))),
            "OIDC_ISSUERS": json.dumps(OIDC_ISSUERS),
        },
    )
    try:
        yield running
    finally:
        running.stop()


def _issue(session: AdminSession, tenant: str, scope: str) -> str:
    """Issue a token from the admin UI (faster than the CLI) and read the secret shown once."""
    return issue_from_ui(session, tenant, {"name": f"{tenant}-{scope}", f"scope_{scope}": "on"})[0]


@pytest.fixture(scope="module")
def seeded(server: RunningRegistry, tmp_path_factory: pytest.TempPathFactory) -> RunningRegistry:
    admin = _session(server, SUPERADMIN_EMAIL, SUPERADMIN_PASSWORD)
    for (email, password), mirroring in ((ACME_ADMIN, "on"), (GLOBEX_ADMIN, "")):
        slug = email.split("@")[1].split(".")[0]
        form = {"slug": slug, "display_name": slug.title(), "admin_email": email, "admin_password": password}
        assert admin.post("/admin/tenants", {**form, "mirroring": mirroring}).status_code == 303
    dist = tmp_path_factory.mktemp("dist")
    publish = _issue(admin, "acme", "publish")
    for version in ("1.0.0", "1.3.0"):
        upload_file(server, "acme", publish, build_wheel(dist, "vulnpkg", version), "vulnpkg", version)
    upload_file(server, "acme", publish, bad_wheels(dist / "bad")["PY-SHELL-NETWORK"], "shell-hook", "1.0.0")
    globex = _issue(admin, "globex", "publish")
    upload_file(server, "globex", globex, build_wheel(dist, "secretsauce", "1.0"), "secretsauce", "1.0")
    read = _issue(admin, "acme", "read")
    page = httpx.get(f"{server.base_url}/t/acme/simple/upstream-tool/", auth=("__token__", read), timeout=60)
    assert page.status_code == 200, page.text
    wheel = httpx.get(
        f"{server.base_url}/t/acme/files/upstream-tool/1.0.0/{UPSTREAM_WHEEL}", auth=("__token__", read), timeout=60
    )
    assert wheel.status_code == 200, wheel.text
    return server


def _session(registry: RunningRegistry, email: str, password: str) -> AdminSession:
    session = AdminSession(registry)
    assert session.login(email, password).status_code == 303
    return session


@pytest.fixture
def superadmin(seeded: RunningRegistry) -> AdminSession:
    return _session(seeded, SUPERADMIN_EMAIL, SUPERADMIN_PASSWORD)


@pytest.fixture
def acme_admin(seeded: RunningRegistry) -> AdminSession:
    return _session(seeded, *ACME_ADMIN)


def _wait_until_idle(session: AdminSession, path: str) -> str:
    """Reload ``path`` until the mirror refresh shown on it has finished."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        page = session.get(path).text
        if 'data-refreshing="false"' in page and "no refresh recorded" not in page:
            return page
        time.sleep(0.2)
    raise AssertionError(f"the mirror refresh shown on {path} did not finish")


def _audit_rows(session: AdminSession, tenant: str, action: str) -> list[str]:
    page = session.get(f"/admin/t/{tenant}/audit", params={"action": action}).text
    return re.findall(r"<tr>.*?</tr>", page, flags=re.S)[1:]


GITHUB = {"provider": "github", "repository": "acme/vulnpkg", "workflow": "release.yml", "environment": "pypi"}


def test_feature_pages_and_actions_need_a_session(seeded: RunningRegistry) -> None:
    scan = f"/admin/t/acme/packages/shell-hook/files/{SHELL_WHEEL}/scan"
    response = httpx.get(seeded.base_url + scan)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/login?next=" + scan.replace("/", "%2F")
    for path in (
        "/admin/t/acme/mirror/refresh",
        "/admin/t/acme/packages/upstream-tool/mirror/refresh",
        "/admin/t/acme/packages/vulnpkg/publishers",
    ):
        forged = httpx.post(seeded.base_url + path, data={"csrf_token": "x", **GITHUB})
        assert forged.status_code == 303, path
        assert forged.headers["location"].startswith("/admin/login")


def test_feature_forms_need_the_csrf_token(acme_admin: AdminSession) -> None:
    targets = [
        ("/admin/t/acme/mirror/refresh", {}),
        ("/admin/t/acme/packages/upstream-tool/mirror/refresh", {}),
        ("/admin/t/acme/packages/vulnpkg/publishers", GITHUB),
        ("/admin/t/acme/packages/vulnpkg/publishers/some-id/remove", {}),
    ]
    for path, data in targets:
        for token in ("", "wrong-token"):
            response = acme_admin.post(path, data, csrf=token)
            assert response.status_code == 403, (path, token)
            assert "CSRF token" in response.text
    assert _audit_rows(acme_admin, "acme", "mirror.request_refresh") == []
    assert 'id="no-publishers"' in acme_admin.get("/admin/t/acme/packages/vulnpkg").text


def test_other_tenants_get_403(acme_admin: AdminSession) -> None:
    actions = [
        ("/admin/t/globex/mirror/refresh", {}),
        ("/admin/t/globex/packages/secretsauce/mirror/refresh", {}),
        ("/admin/t/globex/packages/secretsauce/publishers", GITHUB),
        ("/admin/t/globex/packages/secretsauce/publishers/some-id/remove", {}),
    ]
    for path, data in actions:
        response = acme_admin.post(path, data)
        assert response.status_code == 403, path
        assert "you have no role in this tenant" in response.text
    scan = acme_admin.get("/admin/t/globex/packages/secretsauce/files/secretsauce-1.0-py3-none-any.whl/scan")
    assert scan.status_code == 403


def test_tenant_mirror_refresh_shows_status_and_is_audited(acme_admin: AdminSession) -> None:
    before = acme_admin.get("/admin/t/acme/packages").text
    assert 'id="mirror-refresh-tenant"' in before
    assert "no refresh recorded yet" in before
    response = acme_admin.post("/admin/t/acme/mirror/refresh")
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/t/acme/packages#mirroring"
    page = _wait_until_idle(acme_admin, "/admin/t/acme/packages")
    last_run = re.search(r'id="mirror-last-run">(.*?)</dd>', page, flags=re.S)
    assert last_run is not None
    text = " ".join(last_run.group(1).split())
    assert "(all mirrored projects): 1 project, 0 files cached, 0 errors" in text
    assert re.search(r'id="mirror-totals">1 mirrored project,\s+1 of 1 files cached', page)
    requested = _audit_rows(acme_admin, "acme", "mirror.request_refresh")
    assert len(requested) == 1
    assert ACME_ADMIN[0] in requested[0] and "acme/*" in requested[0] and "127.0.0.1" in requested[0]
    assert any("acme/*" in row for row in _audit_rows(acme_admin, "acme", "mirror.refresh"))


def test_project_mirror_refresh_for_mirrored_projects_only(acme_admin: AdminSession, superadmin: AdminSession) -> None:
    project = "/admin/t/acme/packages/upstream-tool"
    assert 'id="mirror-refresh-project"' in acme_admin.get(project).text
    assert 'id="mirror-cache"' not in acme_admin.get("/admin/t/acme/packages/vulnpkg").text
    response = acme_admin.post(project + "/mirror/refresh")
    assert response.status_code == 303
    assert response.headers["location"] == project + "#mirror-cache"
    page = _wait_until_idle(acme_admin, project)
    assert re.search(r"\(upstream-tool\): 1 project, 0 files cached, 0 errors", " ".join(page.split()))
    assert re.search(r'id="mirror-project-counts">Upstream page fetched \d{4}-\d\d-\d\d', page)
    assert "1 of 1 files cached locally" in page
    assert f"/files/{UPSTREAM_WHEEL}/scan" in page
    assert any("acme/upstream-tool" in row for row in _audit_rows(acme_admin, "acme", "mirror.request_refresh"))
    local = acme_admin.post("/admin/t/acme/packages/vulnpkg/mirror/refresh")
    assert local.status_code == 404
    assert "is not mirrored" in local.text
    packages = superadmin.get("/admin/t/globex/packages").text
    assert 'id="mirror-refresh-tenant"' not in packages
    off = superadmin.post("/admin/t/globex/mirror/refresh")
    assert off.status_code == 404
    assert "does not have mirroring enabled" in off.text
    assert "Traceback" not in off.text


def test_dashboard_offers_a_refresh_per_mirroring_tenant(acme_admin: AdminSession, superadmin: AdminSession) -> None:
    dashboard = acme_admin.get("/admin/dashboard").text
    overview = dashboard[dashboard.index('id="mirror-overview"') :]
    assert 'data-tenant="acme"' in overview and 'action="/admin/t/acme/mirror/refresh"' in overview
    assert 'data-tenant="globex"' not in superadmin.get("/admin/dashboard").text
    response = acme_admin.post("/admin/t/acme/mirror/refresh", {"return_to": "dashboard"})
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/dashboard#mirror-overview"
    assert "Mirror refresh started for every mirrored project of acme" in acme_admin.get("/admin/dashboard").text
    _wait_until_idle(acme_admin, "/admin/t/acme/packages")


def test_register_list_and_remove_trusted_publishers(acme_admin: AdminSession) -> None:
    project = "/admin/t/acme/packages/vulnpkg"
    added = acme_admin.post(project + "/publishers", GITHUB)
    assert added.status_code == 303
    assert added.headers["location"] == project + "#publishers"
    gitlab = {"provider": "gitlab", "repository": "acme/tools/vulnpkg", "workflow": "ci/release.yml"}
    assert acme_admin.post(project + "/publishers", {**gitlab, "issuer": GITLAB_ISSUERS[1]}).status_code == 303
    page = acme_admin.get(project).text
    assert "Trusted publisher gitlab:acme/tools/vulnpkg/ci/release.yml added." in page
    listing = page[page.index('id="publisher-list"') :]
    assert "acme/vulnpkg" in listing and "release.yml" in listing and "pypi" in listing
    assert "acme/tools/vulnpkg" in listing and "ci/release.yml" in listing
    issuers = re.findall(r'<code class="issuer">([^<]+)</code>', listing)
    assert sorted(issuers) == sorted([GITHUB_ISSUER, GITLAB_ISSUERS[1]])
    gitlab_form = page[page.index('id="add-gitlab-publisher"') :]
    options = re.findall(r'<option value="([^"]*)"', gitlab_form[: gitlab_form.index("</form>")])
    assert options == ["", *GITLAB_ISSUERS]
    assert len(re.findall(r'data-publisher="([^"]+)"', page)) == 2

    duplicate = acme_admin.post(project + "/publishers", GITHUB)
    assert duplicate.status_code == 409
    assert 'class="form-error"' in duplicate.text

    ids = re.findall(r'data-publisher="([^"]+)"', page)
    removed = acme_admin.post(f"{project}/publishers/{ids[0]}/remove")
    assert removed.status_code == 303
    after = acme_admin.get(project).text
    assert re.findall(r'data-publisher="([^"]+)"', after) == ids[1:]
    assert acme_admin.post(f"{project}/publishers/{ids[0]}/remove").status_code == 404
    assert acme_admin.post(f"/admin/t/acme/packages/shell-hook/publishers/{ids[1]}/remove").status_code == 404

    assert len(_audit_rows(acme_admin, "acme", "publisher.add")) == 2
    (removal,) = _audit_rows(acme_admin, "acme", "publisher.remove")
    assert ACME_ADMIN[0] in removal and ids[0] in removal and "127.0.0.1" in removal


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"provider": "github", "repository": "just-a-name", "workflow": "release.yml"}, "is not an owner/name"),
        ({"provider": "github", "repository": "a/b/c", "workflow": "release.yml"}, "must be exactly owner/name"),
        ({"provider": "github", "repository": "acme/x", "workflow": "dir/release.yml"}, "must be a file name"),
        ({"provider": "gitlab", "repository": "acme/x", "workflow": "/abs.yml"}, "must be a relative path"),
        ({"provider": "github", "repository": "acme/x", "workflow": "r.yml", "environment": "a b"}, "environment"),
        ({"provider": "bitbucket", "repository": "acme/x", "workflow": "r.yml"}, "is not github or gitlab"),
        ({"provider": "gitlab", "repository": "acme/x", "workflow": "r.yml"}, "2 gitlab OIDC issuers are configured"),
        (
            {"provider": "github", "repository": "acme/x", "workflow": "r.yml", "issuer": "https://gitlab.com"},
            "'https://gitlab.com' is not a configured github OIDC issuer",
        ),
    ],
)
def test_invalid_publishers_show_the_error_in_the_form(
    acme_admin: AdminSession, form: dict[str, str], message: str
) -> None:
    response = acme_admin.post("/admin/t/acme/packages/shell-hook/publishers", form)
    assert response.status_code == 400
    assert "Traceback" not in response.text
    error = re.search(r'<p class="form-error" role="alert">(.*?)</p>', response.text, flags=re.S)
    if form["provider"] in {"github", "gitlab"}:
        assert error is not None and message in error.group(1).replace("&#39;", "'")
        assert f'value="{form["repository"]}"' in response.text
    assert message in response.text.replace("&#39;", "'")
    assert "Publisher not added" in response.text
    assert 'id="no-publishers"' in response.text


def test_wheel_scan_page_groups_findings_by_severity(acme_admin: AdminSession) -> None:
    project = acme_admin.get("/admin/t/acme/packages/shell-hook").text
    scan = f"/admin/t/acme/packages/shell-hook/files/{SHELL_WHEEL}/scan"
    assert f'href="{scan}"' in project
    response = acme_admin.get(scan, timeout=120)
    assert response.status_code == 200, response.text
    page = response.text
    rules = re.findall(r'data-rule="([^"]+)"', page)
    assert {"PY-SHELL-NETWORK", "yara/pyregistry_download_and_pipe_to_shell"} <= set(rules)
    groups = re.findall(r'id="severity-(\w+)"', page)
    ranks = ["critical", "high", "medium", "low", "info"]
    assert groups and groups == sorted(groups, key=ranks.index)
    finding = page[page.index('data-rule="PY-SHELL-NETWORK"') :]
    finding = finding[: finding.index("</li>")]
    assert "shell_hook/__init__.py" in finding and "<dt>Line</dt>" in finding and "curl" in finding
    assert acme_admin.get(scan.replace("shell-hook", "vulnpkg")).status_code == 404
    missing = acme_admin.get("/admin/t/acme/packages/shell-hook/files/nope-1.0-py3-none-any.whl/scan")
    assert missing.status_code == 404


def test_project_page_summarises_known_vulnerabilities(acme_admin: AdminSession) -> None:
    page = acme_admin.get("/admin/t/acme/packages/vulnpkg").text
    section = page[page.index('id="vulnerabilities"') :]
    section = section[: section.index("</section>")]
    assert "1 of 2 releases are affected" in section
    assert 'id="vulns-1.0.0"' in section and 'id="vulns-1.3.0"' not in section
    assert 'data-advisory="PYSEC-2099-1"' in section and "CVE-2099-0001" in section
    assert "&gt;= 0, &lt; 1.2.0" in section and "Upgrade to: 1.2.0" in section
    assert 'href="#vulns-1.0.0">1 advisory</a>' in page
    clean = acme_admin.get("/admin/t/acme/packages/shell-hook").text
    assert 'id="no-vulnerabilities"' in clean
