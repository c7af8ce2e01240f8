"""The admin UI in headless Debian Chromium: log in, create a tenant, issue and copy a token, pip install with it,
yank a release and watch pip skip it, then read the audit trail; then, against a loopback upstream index and a small
advisory database, refresh the mirror cache, register a trusted publisher, read the vulnerability summary and open a
wheel scan with findings. Screenshots go to test-output/screenshots/."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.admin import SUPERADMIN_EMAIL, SUPERADMIN_PASSWORD, upload_file
from tests.support.advisories import write_small_advisory_db
from tests.support.dists import build_wheel
from tests.support.fault_upstream import FaultyProject, FaultyUpstream
from tests.support.malicious import bad_wheels
from tests.support.required import require
from tests.support.server import BIN_DIR, RunningRegistry, clean_client_env, start_registry

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CHROMIUM = shutil.which("chromium")
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
GITHUB_JWKS = GITHUB_ISSUER + "/.well-known/jwks"  # never fetched: the test registers a publisher, it does not mint
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

require(CHROMIUM is not None, "Debian chromium is not installed (bash .ci/run installs it)", module=True)

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def featured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    """A server mirroring a loopback upstream that serves ``upstream-tool``, with a small advisory database."""
    upstream = FaultyUpstream()
    wheel = build_wheel(tmp_path_factory.mktemp("upstream"), "upstream-tool", "1.0.0")
    upstream.add("upstream-tool", FaultyProject(wheel=wheel))
    server = start_registry(
        tmp_path_factory.mktemp("featured"),
        {
            "PYPI_BASE_URL": upstream.url,
            "PYPI_MIRROR_EAGER_DOWNLOAD_PERCENT": "100",
            "ADVISORY_DB_PATH": str(write_small_advisory_db(tmp_path_factory.mktemp("advisories"))),
            "OIDC_ISSUERS": json.dumps([{"provider": "github", "issuer": GITHUB_ISSUER, "jwks_url": GITHUB_JWKS}]),
        },
    )
    try:
        yield server
    finally:
        server.stop()
        upstream.stop()


DEMO_README = (
    "Description-Content-Type: text/markdown\n\n# Demo\n\nA *demo* package.\n\n```bash\npip install demo-pkg\n```\n"
)
# Audit cells whose text must stay on one line (dates and action names): the texts that wrap.
ONE_LINE_CELLS = """[...document.querySelectorAll('#audit td.nowrap, #audit code.action')].filter(cell => {
  const range = document.createRange(); range.selectNodeContents(cell);
  return new Set([...range.getClientRects()].map(rect => Math.round(rect.top))).size > 1;
}).map(cell => cell.textContent)"""


TABLE_FITS = "document.querySelector('#audit').offsetWidth <= document.querySelector('main').clientWidth"


def log_in(page: Page, base_url: str) -> None:
    page.goto(base_url + "/admin/login")
    page.fill("input[name=email]", SUPERADMIN_EMAIL)
    page.fill("input[name=password]", SUPERADMIN_PASSWORD)
    page.click("button:text('Log in')")
    expect(page.locator("h1")).to_have_text("Dashboard")


def issue_in_browser(page: Page, tokens_url: str, name: str, scope: str) -> str:
    """Issue a token with only ``scope`` from the tokens page and return the secret it shows once."""
    page.goto(tokens_url)
    page.fill("#issue-token input[name=name]", name)
    for box in ("read", "publish"):
        page.set_checked(f"#issue-token input[name=scope_{box}]", box == scope)
    page.click("#issue-token button")
    return page.locator("#token-secret").inner_text().strip()


def fits_phone(page: Page, url: str, name: str) -> None:
    """The page needs no horizontal scrolling at 390 px."""
    page.goto(url)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, url
    shot(page, name)


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def installed_version(registry: RunningRegistry, token: str, requirement: str, target: Path) -> str:
    """Run a real ``pip install`` against the tenant index and return the installed version of demo-pkg."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-cache-dir",
            "--no-deps",
            "--target",
            str(target),
            "--index-url",
            registry.index_url("webco", token),
            requirement,
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env=clean_client_env(),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (dist_info,) = target.glob("demo_pkg-*.dist-info")
    return dist_info.name.removeprefix("demo_pkg-").removesuffix(".dist-info")


def test_admin_journey_in_chromium(registry: RunningRegistry, browser: Browser, tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=registry.base_url)
    page = context.new_page()
    missing: list[str] = []
    page.on("response", lambda response: missing.append(response.url) if response.status >= 400 else None)
    page.goto(registry.base_url + "/admin/dashboard")
    expect(page).to_have_url(registry.base_url + "/admin/login?next=%2Fadmin%2Fdashboard")
    shot(page, "01-login")
    page.fill("input[name=email]", SUPERADMIN_EMAIL)
    page.fill("input[name=password]", SUPERADMIN_PASSWORD)
    page.click("button:text('Log in')")
    expect(page.locator("h1")).to_have_text("Dashboard")

    page.fill("#create-tenant input[name=slug]", "webco")
    page.fill("#create-tenant input[name=display_name]", "Web Co")
    page.click("#create-tenant button")
    expect(page.locator(".flash")).to_have_text("Tenant webco created.")
    shot(page, "02-tenant-created")

    page.click("nav.subnav a:text('Tokens')")
    page.fill("#issue-token input[name=name]", "browser-journey")
    page.check("#issue-token input[name=scope_publish]")
    page.click("#issue-token button")
    secret = page.locator("#token-secret").inner_text().strip()
    assert secret.startswith("pyr_")
    page.click("#copy-token")
    expect(page.locator("#copy-token")).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == secret
    assert f"pip install --index-url http://__token__:{secret}@" in page.locator("#usage-lines").inner_text()
    shot(page, "03-token-issued")
    page.reload()
    expect(page.locator("#token-secret")).to_have_count(0)
    expect(page.locator("#tokens tbody tr")).to_have_count(1)

    dist = tmp_path / "dist"
    wheels = [build_wheel(dist, "demo-pkg", version, description=DEMO_README) for version in ("1.0.0", "2.0.0")]
    upload = subprocess.run(
        [
            str(BIN_DIR / "twine"),
            "upload",
            "--non-interactive",
            "--disable-progress-bar",
            "--repository-url",
            registry.upload_url("webco"),
            "-u",
            "__token__",
            "-p",
            copied,
            *map(str, wheels),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env=clean_client_env(),
    )
    assert upload.returncode == 0, upload.stdout + upload.stderr
    assert installed_version(registry, copied, "demo-pkg", tmp_path / "before") == "2.0.0"

    page.goto(registry.base_url + "/admin/t/webco/packages/demo-pkg")
    release = page.locator("#release-2\\.0\\.0")
    release.locator("input[name=reason]").fill("ships a broken build")
    release.locator("button:text('Yank')").click()
    expect(page.locator(".flash")).to_contain_text("Release 2.0.0 yanked")
    expect(page.locator("#release-2\\.0\\.0 .badge")).to_have_text("yanked")
    expect(page.locator("#readme h1")).to_have_text("Demo")
    expect(page.locator("#readme em")).to_have_text("demo")
    expect(page.locator("#readme pre")).to_contain_text("pip install demo-pkg")
    expect(page.locator("#github-publisher-disabled")).to_contain_text("no GitHub OIDC issuer is configured")
    expect(page.locator("#add-gitlab-publisher input[name=repository]")).to_be_disabled()
    expect(page.locator("#add-github-publisher button")).to_be_disabled()
    shot(page, "04-release-yanked")

    page.goto(registry.base_url + "/admin/t/webco/packages")
    expect(page.locator("#projects td.version")).to_have_text("1.0.0")
    expect(page.locator("#install-hint")).to_have_text(
        f"pip install --index-url {registry.base_url}/t/webco/simple/ PACKAGE"
    )
    shot(page, "04b-packages")
    page.goto(registry.base_url + "/admin/dashboard")
    expect(page.locator("ul.events li").first).to_contain_text("webco")
    shot(page, "04c-dashboard-activity")

    assert installed_version(registry, copied, "demo-pkg", tmp_path / "after") == "1.0.0"
    assert installed_version(registry, copied, "demo-pkg==2.0.0", tmp_path / "pinned") == "2.0.0"

    page.goto(registry.base_url + "/admin/t/webco/audit")
    page.fill("#audit-filter input[name=action]", "release.yank")
    page.click("#audit-filter button")
    row = page.locator("#audit tbody tr").first
    expect(row).to_contain_text("demo-pkg==2.0.0")
    expect(row).to_contain_text(SUPERADMIN_EMAIL)
    expect(row).to_contain_text("127.0.0.1")
    expect(row).to_contain_text("reason=ships a broken build")
    assert secret not in page.content()
    shot(page, "05-audit-trail")
    page.fill("#audit-filter input[name=action]", "")
    page.click("#audit-filter button")
    for width in (1280, 1024):
        page.set_viewport_size({"width": width, "height": 900})
        assert page.evaluate(ONE_LINE_CELLS) == [], width
        assert page.evaluate(TABLE_FITS), width
        shot(page, f"05-audit-trail-{width}")
    assert missing == []

    phone = browser.new_context(viewport={"width": 390, "height": 844}, storage_state=context.storage_state())
    mobile = phone.new_page()
    mobile.goto(registry.base_url + "/admin/t/webco/packages/demo-pkg")
    assert mobile.evaluate("document.documentElement.scrollWidth") <= 390
    shot(mobile, "06-project-phone")
    phone.close()
    context.close()


def test_mirror_publishers_and_wheel_scan_in_chromium(
    featured: RunningRegistry, browser: Browser, tmp_path: Path
) -> None:
    base = featured.base_url
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    log_in(page, base)
    page.fill("#create-tenant input[name=slug]", "featco")
    page.fill("#create-tenant input[name=display_name]", "Feature Co")
    page.check("#create-tenant input[name=mirroring]")
    page.click("#create-tenant button")
    expect(page.locator(".flash")).to_have_text("Tenant featco created.")

    publish = issue_in_browser(page, base + "/admin/t/featco/tokens", "ci", "publish")
    upload_file(featured, "featco", publish, bad_wheels(tmp_path / "bad")["PY-SHELL-NETWORK"], "shell-hook", "1.0.0")
    upload_file(featured, "featco", publish, build_wheel(tmp_path, "vulnpkg", "1.0.0"), "vulnpkg", "1.0.0")
    read = issue_in_browser(page, base + "/admin/t/featco/tokens", "reader", "read")
    mirrored = httpx.get(f"{base}/t/featco/simple/upstream-tool/", auth=("__token__", read), timeout=60)
    assert mirrored.status_code == 200, mirrored.text

    page.goto(base + "/admin/t/featco/packages")
    page.click("#mirror-refresh-tenant button")
    expect(page.locator(".flash")).to_contain_text("Mirror refresh started for every mirrored project of featco")
    for _ in range(50):
        if page.locator("#mirror-status").get_attribute("data-refreshing") == "false":
            break
        page.wait_for_timeout(200)
        page.reload()
    expect(page.locator("#mirror-last-run")).to_contain_text("(all mirrored projects): 1 project")
    expect(page.locator("#mirror-totals")).to_contain_text("1 mirrored project")
    shot(page, "07-mirror-refresh")

    page.goto(base + "/admin/t/featco/packages/upstream-tool")
    page.click("#mirror-refresh-project button")
    expect(page.locator(".flash")).to_contain_text("Mirror refresh started for project upstream-tool")
    for _ in range(50):
        if page.locator("#mirror-status").get_attribute("data-refreshing") == "false":
            break
        page.wait_for_timeout(200)
        page.reload()
    expect(page.locator("#mirror-last-run")).to_contain_text("(upstream-tool): 1 project")
    expect(page.locator("#mirror-project-counts")).to_contain_text("1 of 1 files cached")
    shot(page, "08-mirror-project")

    page.goto(base + "/admin/t/featco/packages/shell-hook")
    github = page.locator("#add-github-publisher")
    github.locator("input[name=repository]").fill("featco/shell hook")
    github.locator("input[name=workflow]").fill("release.yml")
    github.locator("button").click()
    expect(page.locator("#add-github-publisher .form-error")).to_contain_text("is not an owner/name")
    expect(page.locator("#add-github-publisher input[name=workflow]")).to_have_value("release.yml")
    shot(page, "09-publisher-rejected")
    page.locator("#add-github-publisher input[name=repository]").fill("featco/shell-hook")
    page.locator("#add-github-publisher input[name=environment]").fill("pypi")
    page.locator("#add-github-publisher button").click()
    expect(page.locator(".flash")).to_have_text(
        "Trusted publisher github:featco/shell-hook/release.yml@env:pypi added."
    )
    expect(page.locator("#publisher-list li")).to_have_count(1)
    expect(page.locator("#publisher-list")).to_contain_text("featco/shell-hook")
    expect(page.locator("#publisher-list .issuer")).to_have_text(GITHUB_ISSUER)
    shot(page, "10-publisher-added")

    page.click("a[data-scan='shell_hook-1.0.0-py3-none-any.whl']")
    expect(page.locator("h1")).to_have_text("Wheel scan")
    finding = page.locator("li.finding[data-rule='PY-SHELL-NETWORK']")
    expect(finding).to_be_visible()
    expect(finding).to_contain_text("curl")
    expect(page.locator("#scan-result")).to_contain_text("highest")
    shot(page, "11-wheel-scan")
    scan_url = page.url

    page.goto(base + "/admin/t/featco/packages/vulnpkg")
    expect(page.locator("#vulns-1\\.0\\.0")).to_contain_text("PYSEC-2099-1")
    expect(page.locator("#vulns-1\\.0\\.0")).to_contain_text(">= 0, < 1.2.0")
    shot(page, "12-vulnerabilities")

    page.goto(base + "/admin/dashboard")
    overview = page.locator("#mirror-overview li[data-tenant='featco']")
    expect(overview).to_contain_text("Feature Co")
    expect(overview).to_contain_text("last refresh finished")
    shot(page, "13-dashboard-mirror")

    page.goto(base + "/admin/t/featco/audit")
    expect(page.locator("#audit")).to_contain_text("mirror.request_refresh")
    expect(page.locator("#audit")).to_contain_text("publisher.add")

    phone = browser.new_context(viewport={"width": 390, "height": 844}, storage_state=context.storage_state())
    mobile = phone.new_page()
    fits_phone(mobile, base + "/admin/dashboard", "14-dashboard-phone")
    fits_phone(mobile, base + "/admin/t/featco/packages", "15-mirroring-phone")
    fits_phone(mobile, base + "/admin/t/featco/packages/upstream-tool", "16-mirror-project-phone")
    fits_phone(mobile, base + "/admin/t/featco/packages/shell-hook", "16-publishers-phone")
    fits_phone(mobile, scan_url, "17-wheel-scan-phone")
    fits_phone(mobile, base + "/admin/t/featco/packages/vulnpkg", "18-vulnerabilities-phone")
    phone.close()
    context.close()
