"""The admin UI in headless Debian Chromium: log in, create a tenant, issue and copy a token, pip install with it,
yank a release and watch pip skip it, then read the audit trail. Screenshots go to test-output/screenshots/."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.admin import SUPERADMIN_EMAIL, SUPERADMIN_PASSWORD
from tests.support.dists import build_wheel
from tests.support.server import BIN_DIR, RunningRegistry, clean_client_env

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium")
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

if CHROMIUM is None:
    pytest.skip("Debian chromium is not installed (bash .ci/run installs it)", allow_module_level=True)

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


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

    dist = tmp_path / "dist"
    wheels = [
        build_wheel(dist, "demo-pkg", version, description="\n# Demo\n\nA *demo* package.\n")
        for version in ("1.0.0", "2.0.0")
    ]
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
    expect(page.locator("#readme")).to_contain_text("A *demo* package.")
    shot(page, "04-release-yanked")

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

    phone = browser.new_context(viewport={"width": 390, "height": 844}, storage_state=context.storage_state())
    mobile = phone.new_page()
    mobile.goto(registry.base_url + "/admin/t/webco/packages/demo-pkg")
    assert mobile.evaluate("document.documentElement.scrollWidth") <= 390
    shot(mobile, "06-project-phone")
    phone.close()
    context.close()
