"""An upload rebuilds the project page and root index before it answers, so readers after it hit the cache (here
with a token limited to the project, as a trusted publisher's is)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.dists import build_wheel
from tests.support.metrics_scrape import scrape
from tests.support.raw_upload import form_upload
from tests.support.server import start_registry

pytestmark = pytest.mark.e2e

JSON = "application/vnd.pypi.simple.v1+json"


def test_an_upload_rebuilds_its_pages_and_readers_see_the_new_file(tmp_path: Path) -> None:
    registry = start_registry(tmp_path / "srv", {"LOG_FILTER": "info,pyregistry_web.page_rebuilder=debug"})
    try:
        registry.create_tenant("warm")
        publish = registry.issue_token("warm", "publish", project="rebuilt-lib", name="ci")
        read = registry.issue_token("warm", "read", name="reader")
        page = f"{registry.base_url}/t/warm/simple/rebuilt-lib/"
        for version in ("1.0", "1.1"):
            wheel = build_wheel(tmp_path / version, "rebuilt-lib", version)
            assert form_upload(registry.upload_url("warm"), publish, wheel, "rebuilt-lib", version).status_code == 200
            rebuilt = [line for line in registry.log_path.read_text().splitlines() if "pages.rebuilt" in line]
            assert len(rebuilt) == 1 + ["1.0", "1.1"].index(version), "the upload answered before its rebuild"
            assert all("project=rebuilt-lib" in line and "tenant=warm" in line for line in rebuilt)
        before = scrape(registry.base_url)
        listed = httpx.get(page, auth=("__token__", read), headers={"Accept": JSON}, timeout=30).json()
        assert [file["filename"] for file in listed["files"]] == [
            "rebuilt_lib-1.0-py3-none-any.whl",
            "rebuilt_lib-1.1-py3-none-any.whl",
        ]
        root = httpx.get(f"{registry.base_url}/t/warm/simple/", auth=("__token__", read), headers={"Accept": JSON})
        assert [project["name"] for project in root.json()["projects"]] == ["rebuilt-lib"]
        after = scrape(registry.base_url)
        assert after.delta(before, "pyregistry_page_cache_lookups_total", result="hit") == 2
        assert after.delta(before, "pyregistry_page_cache_lookups_total", result="miss") == 0
    finally:
        registry.stop()
