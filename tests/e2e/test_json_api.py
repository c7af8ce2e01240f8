"""The PyPI-style JSON API per tenant, read from a real server after real twine uploads."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.test_core_clients import twine_upload
from tests.support.dists import build_sdist, build_wheel, sha256_of
from tests.support.server import RunningRegistry

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
