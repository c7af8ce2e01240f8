"""A yank, a project status change or a purge made by another process (the CLI) re-renders the cached pages before
the next reader comes, and one made in the admin pages answers once they are rendered: that reader's request is a
page-cache hit and already shows the change."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.support.admin import SUPERADMIN_EMAIL, SUPERADMIN_PASSWORD, AdminSession
from tests.support.dists import build_wheel
from tests.support.metrics_scrape import Samples, scrape
from tests.support.raw_upload import form_upload
from tests.support.server import RunningRegistry, start_registry

pytestmark = pytest.mark.e2e

JSON = "application/vnd.pypi.simple.v1+json"
LOOKUPS = "pyregistry_page_cache_lookups_total"


def _refreshes(registry: RunningRegistry, project: str) -> int:
    """How many ``pages.refreshed`` log lines named ``project``."""
    lines = registry.log_path.read_text().splitlines()
    return sum(1 for line in lines if "pages.refreshed" in line and project in line and "rendered=0" not in line)


def _wait_for_refresh(registry: RunningRegistry, project: str, seen: int) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        count = _refreshes(registry, project)
        if count > seen:
            return count
        time.sleep(0.05)
    raise AssertionError(f"no pages.refreshed line for {project} after {seen}:\n{registry.log_path.read_text()}")


def _read(registry: RunningRegistry, token: str, path: str) -> tuple[dict[str, object], Samples, Samples]:
    """GET ``path`` as JSON between two scrapes of ``/metrics``."""
    before = scrape(registry.base_url)
    response = httpx.get(f"{registry.base_url}{path}", auth=("__token__", token), headers={"Accept": JSON}, timeout=30)
    after = scrape(registry.base_url)
    assert response.status_code == 200, response.text
    return response.json(), before, after


def _published(registry: RunningRegistry, tenant: str, tmp_path: Path, wheels: list[tuple[str, str]]) -> str:
    """A tenant with ``wheels`` uploaded; its read token."""
    registry.create_tenant(tenant)
    publish = registry.issue_token(tenant, "publish", name="ci")
    for name, version in wheels:
        wheel = build_wheel(tmp_path / f"{name}-{version}", name, version)
        assert form_upload(registry.upload_url(tenant), publish, wheel, name, version).status_code == 200
    return registry.issue_token(tenant, "read", name="reader")


def _assert_hit(before: Samples, after: Samples) -> None:
    assert after.delta(before, LOOKUPS, result="hit") == 1
    assert after.delta(before, LOOKUPS, result="miss") == 0


def test_cli_changes_are_rendered_before_the_first_read(tmp_path: Path) -> None:
    env = {"LOG_FILTER": "info,pyregistry_web.page_watcher=debug", "PYREGISTRY_WORKERS": "1"}
    registry = start_registry(tmp_path / "srv", env)
    try:
        read = _published(registry, "fresh", tmp_path, [("kept-lib", "1.0"), ("kept-lib", "1.1"), ("other-lib", "1.0")])
        page, root = "/t/fresh/simple/kept-lib/", "/t/fresh/simple/"
        _read(registry, read, page)  # cached from here on
        _read(registry, read, root)
        seen = _refreshes(registry, "kept-lib")

        registry.cli("yank", "--tenant", "fresh", "--project", "kept-lib", "--version", "1.0", "--reason", "bad")
        seen = _wait_for_refresh(registry, "kept-lib", seen)
        body, before, after = _read(registry, read, page)
        _assert_hit(before, after)
        files = {file["filename"]: file for file in body["files"]}  # type: ignore[attr-defined]
        assert files["kept_lib-1.0-py3-none-any.whl"]["yanked"] == "bad"
        assert files["kept_lib-1.1-py3-none-any.whl"]["yanked"] is False

        registry.cli("set-project-status", "--tenant", "fresh", "--project", "kept-lib", "--status", "deprecated")
        seen = _wait_for_refresh(registry, "kept-lib", seen)
        body, before, after = _read(registry, read, page)
        _assert_hit(before, after)
        assert body["project-status"] == {"status": "deprecated"}

        registry.cli(
            "purge-file", "--tenant", "fresh", "--project", "kept-lib", "--filename", "kept_lib-1.1-py3-none-any.whl"
        )
        _wait_for_refresh(registry, "kept-lib", seen)
        body, before, after = _read(registry, read, page)
        _assert_hit(before, after)
        assert [file["filename"] for file in body["files"]] == ["kept_lib-1.0-py3-none-any.whl"]  # type: ignore[attr-defined]

        every = _refreshes(registry, "")
        registry.cli("purge-project", "--tenant", "fresh", "--project", "other-lib")
        _wait_for_refresh(registry, "", every)
        body, before, after = _read(registry, read, root)
        _assert_hit(before, after)
        assert [project["name"] for project in body["projects"]] == ["kept-lib"]  # type: ignore[attr-defined]
    finally:
        registry.stop()


def test_admin_changes_answer_after_their_pages_are_rendered(tmp_path: Path) -> None:
    registry = start_registry(tmp_path / "srv", {"PYREGISTRY_WORKERS": "1"})
    try:
        read = _published(registry, "ui", tmp_path, [("ui-lib", "1.0"), ("ui-lib", "1.1"), ("gone-lib", "1.0")])
        page, root = "/t/ui/simple/ui-lib/", "/t/ui/simple/"
        _read(registry, read, page)
        _read(registry, read, root)
        session = AdminSession(registry)
        assert session.login(SUPERADMIN_EMAIL, SUPERADMIN_PASSWORD).status_code == 303

        yanked = session.post("/admin/t/ui/packages/ui-lib/releases/1.0/yank", {"reason": "broken"})
        assert yanked.status_code == 303
        body, before, after = _read(registry, read, page)
        _assert_hit(before, after)
        files = {file["filename"]: file for file in body["files"]}  # type: ignore[attr-defined]
        assert files["ui_lib-1.0-py3-none-any.whl"]["yanked"] == "broken"

        assert session.post("/admin/t/ui/packages/gone-lib/purge").status_code == 303
        body, before, after = _read(registry, read, root)
        _assert_hit(before, after)
        assert [project["name"] for project in body["projects"]] == ["ui-lib"]  # type: ignore[attr-defined]
    finally:
        registry.stop()
