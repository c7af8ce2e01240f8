"""The PyPI-style JSON API presenter on its own: yanked files and releases, the current version, file fields."""

from __future__ import annotations

import json
from dataclasses import replace

import msgspec

from pyregistry_application.index import ProjectPage
from pyregistry_application.release_metadata import ReleaseInfo
from pyregistry_web.json_api_pages import choose_latest_version, render_project_json
from tests.unit.web.test_simple_page_presenters import PROJECT, SDIST, TENANT, WHEEL

BASE = "http://registry.test/t/acme"
WHEEL_20 = replace(
    WHEEL,
    filename="acme_tools-2.0-py3-none-any.whl",
    version="2.0",
    sha256="12" * 32,
    yanked=True,
    yanked_reason=None,
)
PAGE = ProjectPage(tenant=TENANT, project=PROJECT, files=[SDIST, WHEEL, WHEEL_20], versions=["0.9", "1.0", "2.0"])


def _document(version: str, metadata: ReleaseInfo | None = None) -> dict[str, object]:
    return json.loads(render_project_json(PAGE, BASE, version, metadata))  # type: ignore[no-any-return]


def test_the_current_version_is_the_newest_with_a_file_that_is_not_yanked() -> None:
    assert choose_latest_version(PAGE) == "1.0"
    assert choose_latest_version(msgspec.structs.replace(PAGE, files=[SDIST, WHEEL_20])) == "2.0"


def test_every_file_says_whether_it_is_yanked_and_why() -> None:
    releases = _document("1.0")["releases"]
    assert {
        version: [(file["filename"], file["yanked"], file["yanked_reason"]) for file in files]
        for version, files in releases.items()  # type: ignore[attr-defined]
    } == {
        "0.9": [("acme_tools-0.9.tar.gz", True, "broken <build> & more")],
        "1.0": [("acme_tools-1.0-py3-none-any.whl", False, None)],
        "2.0": [("acme_tools-2.0-py3-none-any.whl", True, None)],
    }


def test_a_release_whose_files_are_all_yanked_is_yanked_in_info_and_urls() -> None:
    yanked = _document("0.9")
    assert (yanked["info"]["yanked"], yanked["info"]["yanked_reason"]) == (True, "broken <build> & more")  # type: ignore[index]
    assert [(file["yanked"], file["yanked_reason"]) for file in yanked["urls"]] == [(True, "broken <build> & more")]  # type: ignore[attr-defined]
    without_reason = _document("2.0")
    assert (without_reason["info"]["yanked"], without_reason["info"]["yanked_reason"]) == (True, None)  # type: ignore[index]
    current = _document("1.0")
    assert (current["info"]["yanked"], current["info"]["yanked_reason"]) == (False, None)  # type: ignore[index]


def test_a_file_entry_carries_what_renovate_and_dependabot_read() -> None:
    document = _document("1.0", ReleaseInfo(summary="Tools for Acme"))
    assert document["urls"] == [
        {
            "filename": "acme_tools-1.0-py3-none-any.whl",
            "url": f"{BASE}/files/acme-tools/1.0/acme_tools-1.0-py3-none-any.whl",
            "digests": {"sha256": "ab" * 32},
            "size": 1234,
            "packagetype": "bdist_wheel",
            "python_version": "py3",
            "requires_python": ">=3.9",
            "upload_time": "2026-05-06T07:08:09",
            "upload_time_iso_8601": "2026-05-06T07:08:09.123456Z",
            "yanked": False,
            "yanked_reason": None,
            "has_sig": False,
        }
    ]
    info = document["info"]
    assert {key: info[key] for key in ("name", "version", "summary", "requires_python", "release_url")} == {  # type: ignore[index]
        "name": "Acme_Tools",
        "version": "1.0",
        "summary": "Tools for Acme",
        "requires_python": ">=3.9",
        "release_url": f"{BASE}/pypi/acme-tools/1.0/",
    }
    assert document["vulnerabilities"] == []
    assert _document("0.9")["releases"]["0.9"][0]["packagetype"] == "sdist"  # type: ignore[index]
