"""The admin UI over HTTP against a real server: sessions, CSRF, login throttling, tenant isolation, yank, purge."""

from __future__ import annotations

import html
import json
import re

import httpx
import pytest

from tests.support.admin import SUPERADMIN_EMAIL, SUPERADMIN_PASSWORD, AdminSession, issue_from_ui, upload_file
from tests.support.dists import build_sdist, build_wheel
from tests.support.server import RunningRegistry, start_registry

pytestmark = pytest.mark.e2e

ACME_ADMIN = ("boss@acme.test", "acme-admin-password")
PROJECT = "/admin/t/acme/packages/rocket"


@pytest.fixture(scope="module")
def seeded(registry: RunningRegistry, tmp_path_factory: pytest.TempPathFactory) -> RunningRegistry:
    registry.create_tenant("acme", "--admin-email", ACME_ADMIN[0], "--admin-password", ACME_ADMIN[1])
    registry.create_tenant("globex", "--admin-email", "boss@globex.test", "--admin-password", "globex-admin-pw")
    dist = tmp_path_factory.mktemp("dist")
    publish = registry.issue_token("acme", "publish", name="ci")
    readme = "\n# Rocket\n\n<script>alert('x')</script> launches things.\n"
    for version in ("1.0.0", "2.0.0", "3.0.0"):
        wheel = build_wheel(dist, "rocket", version, description=readme)
        upload_file(registry, "acme", publish, wheel, "rocket", version)
    globex_publish = registry.issue_token("globex", "publish", name="ci")
    upload_file(registry, "globex", globex_publish, build_wheel(dist, "secretsauce", "1.0"), "secretsauce", "1.0")
    return registry


@pytest.fixture
def superadmin(seeded: RunningRegistry) -> AdminSession:
    session = AdminSession(seeded)
    assert session.login(SUPERADMIN_EMAIL, SUPERADMIN_PASSWORD).status_code == 303
    return session


@pytest.fixture
def acme_admin(seeded: RunningRegistry) -> AdminSession:
    session = AdminSession(seeded)
    assert session.login(*ACME_ADMIN).status_code == 303
    return session


def test_landing_page_shows_statistics_with_security_headers(seeded: RunningRegistry) -> None:
    response = httpx.get(seeded.base_url + "/")
    assert response.status_code == 200
    assert 'id="stat-tenants">2<' in response.text
    assert 'id="stat-projects">2<' in response.text
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in response.text.replace('<script src="/static/admin.js" defer></script>', "")


def test_unauthenticated_admin_urls_redirect_to_login(seeded: RunningRegistry) -> None:
    for path in ("/admin/dashboard", "/admin/t/acme/packages", "/admin/audit", PROJECT):
        response = httpx.get(seeded.base_url + path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/admin/login?next=")
    forged = httpx.post(seeded.base_url + PROJECT + "/releases/1.0.0/yank", data={"csrf_token": "x"})
    assert forged.status_code in {303, 403}


def test_session_cookie_flags(seeded: RunningRegistry) -> None:
    cookie = httpx.get(seeded.base_url + "/admin/login").headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/admin" in cookie


def test_login_failures_are_refused_then_throttled(seeded: RunningRegistry, superadmin: AdminSession) -> None:
    session = AdminSession(seeded)
    wrong = session.login(SUPERADMIN_EMAIL, "not-the-password")
    assert wrong.status_code == 401
    assert "Wrong email or password" in wrong.text
    unknown = [session.login("nobody@example.test", f"guess-{attempt}") for attempt in range(4)]
    assert [response.status_code for response in unknown] == [401, 401, 401, 429]
    assert int(unknown[-1].headers["retry-after"]) >= 1
    assert "Too many failed logins" in unknown[-1].text
    trail = superadmin.get("/admin/audit", params={"action": "admin.login"}).text
    assert "admin.login.failed" in trail and "admin.login.throttled" in trail
    assert "not-the-password" not in trail and "guess-" not in trail


def test_state_changing_forms_need_the_csrf_token(superadmin: AdminSession) -> None:
    targets = [
        (PROJECT + "/releases/1.0.0/yank", {"reason": "csrf"}),
        ("/admin/t/acme/tokens", {"name": "csrf", "scope_read": "on"}),
        ("/admin/tenants", {"slug": "csrf-tenant", "display_name": "CSRF"}),
        ("/admin/t/acme/mirroring", {"enabled": "true"}),
        (PROJECT + "/purge", {}),
    ]
    for path, data in targets:
        for token in ("", "wrong-token"):
            response = superadmin.post(path, data, csrf=token)
            assert response.status_code == 403, (path, token)
            assert "CSRF token" in response.text
    page = superadmin.get(PROJECT).text
    assert 'data-yanked="true"' not in page
    assert "csrf-tenant" not in superadmin.get("/admin/dashboard").text


def test_tenant_admin_sees_only_their_tenant(acme_admin: AdminSession) -> None:
    dashboard = acme_admin.get("/admin/dashboard").text
    assert "/admin/t/acme/packages" in dashboard and "globex" not in dashboard
    for path in (
        "/admin/t/globex/packages",
        "/admin/t/globex/packages/secretsauce",
        "/admin/t/globex/tokens",
        "/admin/t/globex/audit",
        "/admin/t/no-such-tenant/packages",
        "/admin/audit",
    ):
        assert acme_admin.get(path).status_code == 403, path
    actions = [
        ("/admin/t/globex/packages/secretsauce/releases/1.0/yank", {"reason": "x"}),
        ("/admin/t/globex/packages/secretsauce/purge", {}),
        ("/admin/t/globex/tokens", {"name": "steal", "scope_read": "on"}),
        ("/admin/t/globex/mirroring", {"enabled": "true"}),
        ("/admin/tenants", {"slug": "rogue", "display_name": "Rogue"}),
    ]
    for path, data in actions:
        assert acme_admin.post(path, data).status_code == 403, path
    search = acme_admin.get("/admin/search", params={"q": "s"}).text
    assert "secretsauce" not in search


def test_search_is_scoped_and_ranked(superadmin: AdminSession, acme_admin: AdminSession) -> None:
    assert "/admin/t/globex/packages/secretsauce" in superadmin.get("/admin/search", params={"q": "sauce"}).text
    result = acme_admin.get("/admin/search", params={"q": "rocket"}).text
    assert "/admin/t/acme/packages/rocket" in result and "1 result" in result


def test_project_page_renders_readme_escaped(acme_admin: AdminSession) -> None:
    page = acme_admin.get(PROJECT).text
    assert "&lt;script&gt;alert(" in page
    assert "<script>alert" not in page
    for version in ("1.0.0", "2.0.0", "3.0.0"):
        assert f'id="release-{version}"' in page
    assert "rocket-3.0.0-py3-none-any.whl" in page


def test_project_page_says_when_no_advisory_database_is_configured(acme_admin: AdminSession) -> None:
    page = acme_admin.get(PROJECT).text
    assert 'id="no-advisory-database"' in page and 'id="no-vulnerabilities"' not in page
    assert 'id="publishers"' in page and 'id="mirror-cache"' not in page
    assert "/files/rocket-3.0.0-py3-none-any.whl/scan" in page


def test_yank_shows_in_pep503_and_pep691_and_audit(seeded: RunningRegistry, acme_admin: AdminSession) -> None:
    response = acme_admin.post(PROJECT + "/releases/2.0.0/yank", {"reason": "broken <build>"})
    assert response.status_code == 303
    read = seeded.issue_token("acme", "read", name="reader")
    simple = seeded.base_url + "/t/acme/simple/rocket/"
    html = httpx.get(simple, auth=("__token__", read), headers={"Accept": "text/html"}).text
    line = next(line for line in html.splitlines() if "rocket-2.0.0-" in line)
    assert 'data-yanked="broken &lt;build&gt;"' in line
    assert all("data-yanked" not in line for line in html.splitlines() if "rocket-1.0.0-" in line)
    accept = {"Accept": "application/vnd.pypi.simple.v1+json"}
    files = {
        item["filename"]: item for item in httpx.get(simple, auth=("__token__", read), headers=accept).json()["files"]
    }
    assert files["rocket-2.0.0-py3-none-any.whl"]["yanked"] == "broken <build>"
    assert files["rocket-1.0.0-py3-none-any.whl"]["yanked"] is False
    audit = acme_admin.get("/admin/t/acme/audit", params={"action": "release.yank"}).text
    assert "rocket==2.0.0" in audit and ACME_ADMIN[0] in audit and "127.0.0.1" in audit

    assert acme_admin.post(PROJECT + "/releases/2.0.0/unyank").status_code == 303
    files = {
        item["filename"]: item for item in httpx.get(simple, auth=("__token__", read), headers=accept).json()["files"]
    }
    assert files["rocket-2.0.0-py3-none-any.whl"]["yanked"] is False


def test_purge_release_removes_metadata_and_blobs(seeded: RunningRegistry, acme_admin: AdminSession) -> None:
    blob_root = seeded.workdir / ".pyregistry" / "blobs"
    before = {path.name for path in blob_root.rglob("rocket-3.0.0*")}
    assert before == {"rocket-3.0.0-py3-none-any.whl", "rocket-3.0.0-py3-none-any.whl.metadata"}
    assert acme_admin.post(PROJECT + "/releases/3.0.0/purge").status_code == 303
    assert not list(blob_root.rglob("rocket-3.0.0*"))
    assert 'id="release-3.0.0"' not in acme_admin.get(PROJECT).text
    read = seeded.issue_token("acme", "read", name="after-purge")
    page = httpx.get(
        seeded.base_url + "/t/acme/simple/rocket/",
        auth=("__token__", read),
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
    ).json()
    assert "3.0.0" not in json.dumps(page["files"])
    assert "release.purge" in acme_admin.get("/admin/t/acme/audit").text


def test_issue_and_revoke_token_from_the_ui(seeded: RunningRegistry, acme_admin: AdminSession) -> None:
    secret, page = issue_from_ui(acme_admin, "acme", {"name": "laptop", "scope_read": "on", "expires_days": "30"})
    assert secret.startswith("pyr_")
    assert f"pip install --index-url {seeded.index_url('acme', secret)} PACKAGE" in html.unescape(page)
    assert acme_admin.get("/admin/t/acme/tokens").headers["cache-control"] == "no-store"
    simple = seeded.base_url + "/t/acme/simple/"
    assert httpx.get(simple, auth=("__token__", secret)).status_code == 200
    listing = acme_admin.get("/admin/t/acme/tokens").text
    assert secret not in listing and 'id="issued-token"' not in listing
    assert listing.count("<td>laptop</td>") == 1
    token_id = listing.split("/admin/t/acme/tokens/")[1].split("/revoke")[0]
    assert acme_admin.post(f"/admin/t/acme/tokens/{token_id}/revoke").status_code == 303
    assert httpx.get(simple, auth=("__token__", secret)).status_code == 401
    audit = acme_admin.get("/admin/t/acme/audit", params={"action": "token."}).text
    assert "token.issue" in audit and "token.revoke" in audit and secret not in audit


def test_bad_form_input_gets_a_clear_error_page(acme_admin: AdminSession) -> None:
    response = acme_admin.post("/admin/t/acme/tokens", {"name": "x"})
    assert response.status_code == 400
    assert "at least one scope" in response.text
    huge = acme_admin.post(
        "/admin/t/acme/tokens", {"name": "forever", "scope_read": "on", "expires_days": "99999999999"}
    )
    assert huge.status_code == 400
    assert (
        '<p class="form-error" role="alert" id="issue-error">'
        "token lifetime must be more than 0 and at most 3650 days (10 years)</p>" in huge.text
    )
    assert 'name="name" required maxlength="100" placeholder="ci-upload" value="forever"' in huge.text
    assert "forever" not in acme_admin.get("/admin/t/acme/tokens").text.split('id="tokens"')[-1]
    assert acme_admin.get("/admin/t/acme/packages/nothing-here").status_code == 404


def test_superadmin_creates_tenant_and_toggles_mirroring(superadmin: AdminSession) -> None:
    created = superadmin.post("/admin/tenants", {"slug": "initech", "display_name": "Initech"})
    assert created.status_code == 303 and created.headers["location"] == "/admin/t/initech/packages"
    assert superadmin.post("/admin/tenants", {"slug": "initech", "display_name": "Again"}).status_code == 409
    assert superadmin.post("/admin/t/initech/mirroring", {"enabled": "true"}).status_code == 303
    assert 'id="mirroring-state">on<' in superadmin.get("/admin/t/initech/packages").text
    trail = superadmin.get("/admin/audit", params={"actor": SUPERADMIN_EMAIL}).text
    assert "tenant.create" in trail and "tenant.mirroring.enable" in trail


CROWDED_PROJECTS = 26  # search shows 20 per page, the audit trail 50: two files each give both a second page


@pytest.fixture(scope="module")
def crowded(seeded: RunningRegistry, tmp_path_factory: pytest.TempPathFactory) -> RunningRegistry:
    """A tenant with enough projects and uploads for a second page of search results and of the audit trail."""
    seeded.create_tenant("crowd")
    publish = seeded.issue_token("crowd", "publish", name="crowd-ci")
    dist = tmp_path_factory.mktemp("crowd")
    for number in range(CROWDED_PROJECTS):
        name = f"crowd-pkg-{number:02}"
        for path in (build_wheel(dist, name, "1.0"), build_sdist(dist, name, "1.0")):
            upload_file(seeded, "crowd", publish, path, name, "1.0")
    return seeded


def _pager_links(page: str) -> list[str]:
    nav = page.split('<nav class="pager"', 1)[1].split("</nav>", 1)[0]
    return [html.unescape(link) for link in re.findall(r'href="([^"]+)"', nav)]


def test_search_second_page_keeps_the_query(crowded: RunningRegistry, superadmin: AdminSession) -> None:
    first = superadmin.get("/admin/search", params={"q": "crowd"}).text
    assert f"{CROWDED_PROJECTS} results" in first and "Page 1 of 2" in first
    assert _pager_links(first) == ["?q=crowd&page=2"]
    second = superadmin.get("/admin/search", params={"q": "crowd", "page": "2"}).text
    assert "Page 2 of 2" in second
    assert len(re.findall(r'href="/admin/t/crowd/packages/crowd-pkg-\d\d"', second)) == CROWDED_PROJECTS - 20
    assert _pager_links(second) == ["?q=crowd&page=1"]


def test_audit_second_page_keeps_the_filter(crowded: RunningRegistry, superadmin: AdminSession) -> None:
    params = {"action": "package.upload", "actor": "token:crowd-ci"}
    first = superadmin.get("/admin/audit", params=params).text
    assert f"{2 * CROWDED_PROJECTS} events" in first and "Page 1 of 2" in first
    assert _pager_links(first) == ["?action=package.upload&actor=token%3Acrowd-ci&page=2"]
    second = superadmin.get("/admin/audit", params={**params, "page": "2"}).text
    assert "Page 2 of 2" in second
    rows = second.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert rows.count("<tr>") == 2 * CROWDED_PROJECTS - 50
    assert rows.count('<code class="action">package.upload</code>') == rows.count("<tr>")
    assert _pager_links(second) == ["?action=package.upload&actor=token%3Acrowd-ci&page=1"]


def test_landing_page_hides_statistics_when_configured(tmp_path_factory: pytest.TempPathFactory) -> None:

    server = start_registry(tmp_path_factory.mktemp("nostats"), {"WEB_UI_SHOW_INDEX_STATS": "false"})
    try:
        page = httpx.get(server.base_url + "/")
        assert page.status_code == 200
        assert "Admin login" in page.text and "stat-tenants" not in page.text
    finally:
        server.stop()
