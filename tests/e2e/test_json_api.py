"""The PyPI-style JSON API per tenant, read from a real server after real twine uploads."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.e2e.test_core_clients import twine_upload
from tests.support.dists import build_sdist, build_wheel, sha256_of
from tests.support.server import RunningRegistry
from tests.support.tenant_access import TenantAccess

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def hooli(registry: RunningRegistry, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    registry.create_tenant("hooli")
    registry.create_tenant("piedpiper")
    dist = tmp_path_factory.mktemp("json-dist")
    files = [
        build_wheel(dist, "hooli-box", "1.0.0", requires_python=">=3.9", summary="the box"),
        build_sdist(dist, "hooli-box", "1.0.0"),
        build_wheel(dist, "hooli-box", "1.1.0", summary="the box"),
        build_wheel(dist, "hooli-box", "2.0.0rc1", summary="the box"),
    ]
    result = twine_upload(registry, "hooli", registry.issue_token("hooli", "publish"), *files)
    assert result.returncode == 0, result.stdout + result.stderr
    return {
        "files": files,
        "read": registry.issue_token("hooli", "read"),
        "other": registry.issue_token("piedpiper", "read"),
    }


def get(registry: RunningRegistry, path: str, token: object) -> httpx.Response:
    return httpx.get(f"{registry.base_url}{path}", auth=("__token__", str(token)))


def test_project_json_names_newest_final_release_and_lists_every_file(
    registry: RunningRegistry, hooli: dict[str, object]
) -> None:
    response = get(registry, "/t/hooli/pypi/Hooli_Box/json", hooli["read"])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    document = response.json()
    assert document["info"]["name"] in {"hooli-box", "hooli_box"}
    assert document["info"]["version"] == "1.1.0"
    assert document["info"]["summary"] == "the box"  # the older sdist uploaded last does not replace it
    assert sorted(document["releases"]) == ["1.0.0", "1.1.0", "2.0.0rc1"]
    assert [item["filename"] for item in document["urls"]] == ["hooli_box-1.1.0-py3-none-any.whl"]
    by_name = {path.name: path for path in hooli["files"]}  # type: ignore[attr-defined]
    for release in document["releases"].values():
        for item in release:
            assert item["digests"]["sha256"] == sha256_of(by_name[item["filename"]])
            assert item["size"] == by_name[item["filename"]].stat().st_size
            download = httpx.get(item["url"], auth=("__token__", str(hooli["read"])))
            assert download.status_code == 200
            assert len(download.content) == item["size"]


def test_release_json_describes_one_version(registry: RunningRegistry, hooli: dict[str, object]) -> None:
    document = get(registry, "/t/hooli/pypi/hooli-box/1.0.0/json", hooli["read"]).json()
    assert document["info"]["version"] == "1.0.0"
    assert document["info"]["requires_python"] == ">=3.9"
    kinds = sorted(item["packagetype"] for item in document["urls"])
    assert kinds == ["bdist_wheel", "sdist"]
    assert {item["python_version"] for item in document["urls"]} == {"py3", "source"}


def test_unknown_version_project_and_credentials_are_refused(
    registry: RunningRegistry, hooli: dict[str, object]
) -> None:
    answers = [
        get(registry, "/t/hooli/pypi/hooli-box/9.9/json", hooli["read"]),
        get(registry, "/t/hooli/pypi/hooli-box/not a version/json", hooli["read"]),
        get(registry, "/t/hooli/pypi/nothing-here/json", hooli["read"]),
        httpx.get(f"{registry.base_url}/t/hooli/pypi/hooli-box/json"),
        get(registry, "/t/hooli/pypi/hooli-box/json", hooli["other"]),
    ]
    assert [(answer.status_code, answer.text) for answer in answers] == [
        (404, "404 project 'hooli-box' has no version 9.9\n"),
        (404, "404 project 'hooli-box' has no version not a version\n"),
        (404, "404 project 'nothing-here' does not exist in tenant 'hooli'\n"),
        (401, "401 authentication required: use username '__token__' and an API token\n"),
        (403, "403 this token belongs to another tenant\n"),
    ]


RICH_METADATA = """Author: Gavin Belson
Author-email: Gavin Belson <gavin@hooli.example>
Maintainer-email: Platform <platform@hooli.example>
License: MIT
Keywords: compression,box
Classifier: Programming Language :: Python :: 3
Classifier: Operating System :: OS Independent
Home-page: https://hooli.example/nucleus
Project-URL: Source, https://git.hooli.example/nucleus
Project-URL: Issues, https://git.hooli.example/nucleus/issues
Requires-Dist: hooli-box>=1
Requires-Dist: rich; extra == "cli"
Provides-Extra: cli
Description-Content-Type: text/markdown

# Nucleus

Middle-out compression."""


def test_info_carries_the_uploaded_core_metadata_as_pypi_does(
    registry: RunningRegistry, own_tenant: TenantAccess, tmp_path: Path
) -> None:
    wheel = build_wheel(tmp_path, "nucleus", "3.1", summary="middle out", description=RICH_METADATA)
    result = twine_upload(registry, own_tenant.slug, own_tenant.publish, wheel)
    assert result.returncode == 0, result.stdout + result.stderr
    info = get(registry, f"/t/{own_tenant.slug}/pypi/nucleus/json", own_tenant.read).json()["info"]
    assert {key: info[key] for key in info if key not in {"package_url", "project_url", "release_url"}} == {
        "name": "nucleus",
        "version": "3.1",
        "summary": "middle out",
        "description": "# Nucleus\n\nMiddle-out compression.",
        "description_content_type": "text/markdown",
        "author": "Gavin Belson",
        "author_email": "Gavin Belson <gavin@hooli.example>",
        "maintainer": None,
        "maintainer_email": "Platform <platform@hooli.example>",
        "license": "MIT",
        "license_expression": None,
        "license_files": None,
        "keywords": "compression,box",
        "classifiers": ["Programming Language :: Python :: 3", "Operating System :: OS Independent"],
        "platform": None,
        "home_page": "https://hooli.example/nucleus",
        "download_url": None,
        "project_urls": {
            "Source": "https://git.hooli.example/nucleus",
            "Issues": "https://git.hooli.example/nucleus/issues",
        },
        "requires_dist": ["hooli-box>=1", 'rich; extra == "cli"'],
        "requires_python": ">=3.8",
        "provides_extra": ["cli"],
        "dynamic": None,
        "yanked": False,
        "yanked_reason": None,
    }


def test_info_of_a_release_without_optional_metadata_has_empty_fields(
    registry: RunningRegistry, hooli: dict[str, object]
) -> None:
    info = get(registry, "/t/hooli/pypi/hooli-box/1.0.0/json", hooli["read"]).json()["info"]
    assert info["summary"] == "the box"
    assert (info["description"], info["author"], info["classifiers"], info["requires_dist"]) == (None, None, [], None)
    assert info["project_urls"] is None and info["license"] is None
