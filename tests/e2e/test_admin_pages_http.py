"""Admin pages over HTTP against a real server without OIDC issuers: package list with current versions, real
install hints, READMEs rendered as PyPI renders them, tenant names in recent activity, the favicon, and publisher
forms that explain why they are disabled."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.support.admin import SUPERADMIN_EMAIL, SUPERADMIN_PASSWORD, AdminSession, upload_file
from tests.support.dists import build_wheel
from tests.support.server import RunningRegistry

pytestmark = pytest.mark.e2e

MARKDOWN = (
    "Description-Content-Type: text/markdown; variant=GFM\n\n"
    '# Demo\n\nSome **bold** text, ~~gone~~.\n\n<img src=x onerror="alert(1)">\n\n'
    "| a | b |\n|---|---|\n| 1 | 2 |\n\n<script>alert('x')</script>\n"
)
READMES = {
    "rst-pkg": "\nTitle\n=====\n\nAn *emphasised* word and ``code``.\n",
    "plain-pkg": "Description-Content-Type: text/plain\n\nline <one>\nline *two*\n",
    "broken-rst": "Description-Content-Type: text/x-rst\n\n.. raw:: html\n\n   <b>raw</b>\n",
    "commonmark-pkg": "Description-Content-Type: text/markdown; variant=CommonMark\n\n~~kept~~ and *em*\n",
}


@pytest.fixture(scope="module")
def seeded(registry: RunningRegistry, tmp_path_factory: pytest.TempPathFactory) -> RunningRegistry:
    registry.create_tenant("acme")
    registry.create_tenant("globex")
    dist = tmp_path_factory.mktemp("dist")
    publish = registry.issue_token("acme", "publish", name="ci")
    for version in ("1.0.0", "2.0.0", "3.0.0rc1"):
        wheel = build_wheel(dist / version, "md-pkg", version, description=MARKDOWN)
        upload_file(registry, "acme", publish, wheel, "md-pkg", version)
    for name, readme in READMES.items():
        upload_file(registry, "acme", publish, build_wheel(dist, name, "0.1", description=readme), name, "0.1")
    return registry


@pytest.fixture
def admin(seeded: RunningRegistry) -> AdminSession:
    session = AdminSession(seeded)
    assert session.login(SUPERADMIN_EMAIL, SUPERADMIN_PASSWORD).status_code == 303
    return session


def _readme(page: str) -> str:
    return page.split('<div class="readme" id="readme">')[1].split("</div>")[0]


def test_package_list_shows_current_version_date_and_the_real_index_url(
    seeded: RunningRegistry, admin: AdminSession
) -> None:
    page = admin.get("/admin/t/acme/packages").text
    row = page.split('href="/admin/t/acme/packages/md-pkg">md-pkg</a>')[1].split("</tr>")[0]
    assert '<td class="version">2.0.0</td>' in row
    assert re.search(r'<td class="nowrap">\d{4}-\d\d-\d\d \d\d:\d\d UTC</td>', row)
    index = f"http://127.0.0.1:{seeded.port}/t/acme/simple/"
    assert f'<code id="install-hint">pip install --index-url {index} PACKAGE</code>' in page
    project = admin.get("/admin/t/acme/packages/md-pkg").text
    assert f'<code id="install-hint">pip install --index-url {index} md-pkg</code>' in project


def test_markdown_readme_is_rendered_and_sanitized_under_the_same_csp(admin: AdminSession) -> None:
    response = admin.get("/admin/t/acme/packages/md-pkg")
    readme = _readme(response.text)
    assert '<h1 id="user-content-demo">Demo' in readme
    assert "<strong>bold</strong>" in readme and "<del>gone</del>" in readme
    assert "<td>1</td>" in readme and '<img src="x">' in readme
    assert "onerror" not in readme and "<script" not in readme
    assert response.headers["content-security-policy"] == (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


@pytest.mark.parametrize(
    ("project", "expected"),
    [
        ("rst-pkg", '<p>An <em>emphasised</em> word and <span class="docutils literal">code</span>.</p>'),
        ("plain-pkg", "line &lt;one&gt;<br>line *two*"),
        ("broken-rst", ".. raw:: html<br><br>   &lt;b&gt;raw&lt;/b&gt;"),
        ("commonmark-pkg", "<p>~~kept~~ and <em>em</em></p>"),
    ],
)
def test_readme_follows_its_declared_content_type(admin: AdminSession, project: str, expected: str) -> None:
    assert expected in _readme(admin.get(f"/admin/t/acme/packages/{project}").text)


def test_recent_activity_names_the_tenant(admin: AdminSession) -> None:
    events = admin.get("/admin/dashboard").text.split('<ul class="events">')[1].split("</ul>")[0]
    tenant = '<a class="badge" href="/admin/t/acme/audit">acme</a>'
    assert f"{tenant} <strong>token:ci</strong> package.upload <code>" in events
    assert f"{tenant} <strong>admin@pyregistry.local</strong>" not in events
    assert "<strong>admin@pyregistry.local</strong> admin.login <code>admin-ui</code>" in events


def test_favicon_is_served(seeded: RunningRegistry, admin: AdminSession) -> None:
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in admin.get("/admin/dashboard").text
    legacy = httpx.get(seeded.base_url + "/favicon.ico")
    assert legacy.status_code == 301 and legacy.headers["location"] == "/static/favicon.svg"
    icon = httpx.get(seeded.base_url + "/static/favicon.svg")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.text.startswith("<svg")


def test_publisher_forms_are_disabled_without_an_oidc_issuer(admin: AdminSession) -> None:
    page = admin.get("/admin/t/acme/packages/md-pkg").text
    for provider, name in (("github", "GitHub"), ("gitlab", "GitLab")):
        form = page.split(f'id="add-{provider}-publisher"')[1].split("</form>")[0]
        assert f'<p class="notice" id="{provider}-publisher-disabled">Unavailable: no {name}' in form
        assert '<fieldset class="plain" disabled>' in form
    refused = admin.post(
        "/admin/t/acme/packages/md-pkg/publishers",
        {"provider": "github", "repository": "acme/md-pkg", "workflow": "release.yml", "issuer": ""},
    )
    assert refused.status_code == 400
    assert (
        '<p class="form-error" role="alert">no github OIDC issuer is configured: add an [[oidc_issuers]] entry'
        " (or OIDC_ISSUERS) first</p>" in refused.text
    )
    assert 'id="no-publishers"' in refused.text


def test_a_new_secret_waits_for_its_own_tenants_page_and_shows_once(admin: AdminSession) -> None:
    issued = admin.post("/admin/t/acme/tokens", {"name": "wait-for-it", "scope_read": "on"})
    assert issued.status_code == 303 and issued.headers["location"] == "/admin/t/acme/tokens"
    assert 'id="token-secret"' not in admin.get("/admin/t/globex/tokens").text
    shown = admin.get("/admin/t/acme/tokens").text
    assert "Token “wait-for-it” issued" in shown and 'id="token-secret" class="secret">pyr_' in shown
    assert 'id="token-secret"' not in admin.get("/admin/t/acme/tokens").text
