"""Cached index pages: ETag/304 answers, and invalidation when another server process changes the database."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.dists import build_wheel, sha256_of
from tests.support.server import RunningRegistry, start_registry

pytestmark = pytest.mark.e2e

JSON = "application/vnd.pypi.simple.v1+json"
HTML = "application/vnd.pypi.simple.v1+html"


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningRegistry, RunningRegistry, str, str]]:
    """Two server processes on one data directory (one SQLite file), with a read and a publish token."""
    workdir = tmp_path_factory.mktemp("shared-data")
    first = start_registry(workdir)
    second = start_registry(workdir)
    try:
        first.create_tenant("cachecorp")
        read = first.issue_token("cachecorp", "read", name="reader")
        publish = first.issue_token("cachecorp", "publish", name="publisher")
        yield first, second, read, publish
    finally:
        first.stop()
        second.stop()


def upload(server: RunningRegistry, token: str, wheel: Path) -> None:
    name, version = wheel.name.split("-")[:2]
    response = httpx.post(
        server.upload_url("cachecorp"),
        auth=("__token__", token),
        data={
            ":action": "file_upload",
            "name": name,
            "version": version,
            "filetype": "bdist_wheel",
            "sha256_digest": sha256_of(wheel),
        },
        files={"content": (wheel.name, wheel.read_bytes(), "application/octet-stream")},
        timeout=30,
    )
    assert response.status_code == 200, response.text


def get(server: RunningRegistry, token: str, path: str, **headers: str) -> httpx.Response:
    return httpx.get(f"{server.base_url}/t/cachecorp/{path}", auth=("__token__", token), headers=headers, timeout=30)


def test_project_page_answers_304_until_another_process_changes_it(
    pair: tuple[RunningRegistry, RunningRegistry, str, str], tmp_path: Path
) -> None:
    first, second, read, publish = pair
    upload(second, publish, build_wheel(tmp_path, "cached-lib", "1.0.0"))
    page = get(first, read, "simple/cached-lib/", accept=JSON)
    assert page.status_code == 200
    etag = page.headers["etag"]
    assert [file["filename"] for file in page.json()["files"]] == ["cached_lib-1.0.0-py3-none-any.whl"]

    repeat = get(first, read, "simple/cached-lib/", accept=JSON, **{"if-none-match": etag})
    assert repeat.status_code == 304
    assert repeat.content == b""
    assert repeat.headers["etag"] == etag

    html = get(first, read, "simple/cached-lib/", accept=HTML, **{"if-none-match": etag})
    assert html.status_code == 200, "the HTML and JSON pages must not share an ETag"

    upload(second, publish, build_wheel(tmp_path, "cached-lib", "1.1.0"))
    fresh = get(first, read, "simple/cached-lib/", accept=JSON, **{"if-none-match": etag})
    assert fresh.status_code == 200
    assert fresh.headers["etag"] != etag
    assert [file["filename"] for file in fresh.json()["files"]] == [
        "cached_lib-1.0.0-py3-none-any.whl",
        "cached_lib-1.1.0-py3-none-any.whl",
    ]
    html_fresh = get(first, read, "simple/cached-lib/", accept=HTML)
    assert "cached_lib-1.1.0-py3-none-any.whl" in html_fresh.text


def test_root_index_answers_304_and_lists_projects_added_by_another_process(
    pair: tuple[RunningRegistry, RunningRegistry, str, str], tmp_path: Path
) -> None:
    first, second, read, publish = pair
    upload(first, publish, build_wheel(tmp_path, "listed-one", "1.0"))
    index = get(first, read, "simple/", accept=JSON)
    assert index.status_code == 200
    etag = index.headers["etag"]
    assert "listed-one" in [project["name"] for project in index.json()["projects"]]
    assert get(first, read, "simple/", accept=JSON, **{"if-none-match": f'"other", {etag}'}).status_code == 304

    upload(second, publish, build_wheel(tmp_path, "listed-two", "1.0"))
    fresh = get(first, read, "simple/", accept=JSON, **{"if-none-match": etag})
    assert fresh.status_code == 200
    assert "listed-two" in [project["name"] for project in fresh.json()["projects"]]
    assert 'href="listed-two/"' in get(first, read, "simple/", accept=HTML).text


def test_cached_page_still_checks_the_token(pair: tuple[RunningRegistry, RunningRegistry, str, str]) -> None:
    first, _, read, _ = pair
    assert get(first, read, "simple/", accept=JSON).status_code == 200
    anonymous = httpx.get(f"{first.base_url}/t/cachecorp/simple/", headers={"accept": JSON}, timeout=30)
    refusal = {"message": "authentication required: use username '__token__' and an API token", "status": 401}
    assert (anonymous.status_code, anonymous.json()) == (401, refusal)
    assert anonymous.headers["www-authenticate"] == 'Basic realm="pyregistry"'
    etag = get(first, read, "simple/", accept=JSON).headers["etag"]
    forged = httpx.get(
        f"{first.base_url}/t/cachecorp/simple/", headers={"accept": JSON, "if-none-match": etag}, timeout=30
    )
    assert forged.status_code == 401, "a 304 must not be granted before authentication"
    assert forged.json() == refusal and "etag" not in forged.headers


def test_file_download_answers_304_for_its_sha256_etag(
    pair: tuple[RunningRegistry, RunningRegistry, str, str], tmp_path: Path
) -> None:
    first, second, read, publish = pair
    wheel = build_wheel(tmp_path, "fetched-lib", "2.0")
    upload(second, publish, wheel)
    path = "files/fetched-lib/2.0/fetched_lib-2.0-py3-none-any.whl"
    download = get(first, read, path)
    assert download.status_code == 200
    assert download.content == wheel.read_bytes()
    assert download.headers["etag"] == f'"{sha256_of(wheel)}"'
    again = get(first, read, path, **{"if-none-match": download.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""

    metadata = get(first, read, path + ".metadata")
    assert metadata.status_code == 200
    assert b"Name: fetched-lib" in metadata.content
    assert metadata.headers["etag"] == f'"{hashlib.sha256(metadata.content).hexdigest()}"'
    assert get(first, read, path + ".metadata", **{"if-none-match": metadata.headers["etag"]}).status_code == 304
