"""Unsafe archives and look-alike project names are refused over HTTP with a 400 that names the culprit."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.bad_archives import BAD_ARCHIVES, NAME, VERSION
from tests.support.dists import build_sdist, build_wheel
from tests.support.raw_upload import form_upload
from tests.support.server import RunningRegistry

pytestmark = pytest.mark.e2e
TENANT = "archive-checks"


@pytest.fixture(scope="module")
def token(registry: RunningRegistry) -> str:
    registry.create_tenant(TENANT)
    return registry.issue_token(TENANT, "publish", "read")


def _upload(
    registry: RunningRegistry, token: str, path: Path, name: str, filename: str | None = None
) -> httpx.Response:
    return form_upload(registry.upload_url(TENANT), token, path, name, VERSION, filename)


def _stored(registry: RunningRegistry) -> list[Path]:
    root = registry.workdir / ".pyregistry" / "blobs"
    return sorted(path for path in root.rglob("*") if path.is_file() and ".incomplete" not in path.parts)


@pytest.mark.parametrize("case", sorted(BAD_ARCHIVES))
def test_unsafe_archive_upload_is_a_400_naming_the_member(
    registry: RunningRegistry, token: str, tmp_path: Path, case: str
) -> None:
    build, member = BAD_ARCHIVES[case]
    before = _stored(registry)
    response = _upload(registry, token, build(tmp_path), NAME)
    assert response.status_code == 400, response.text
    assert member in response.text
    assert "Traceback" not in response.text
    assert _stored(registry) == before
    index = httpx.get(f"{registry.base_url}/t/{TENANT}/simple/{NAME}/", auth=("__token__", token))
    assert index.status_code == 404


@pytest.mark.parametrize(
    ("form_name", "filename_name", "metadata_name", "reason"),
    [
        ("d\u0435mo", "demo", "demo", "U+0435 CYRILLIC SMALL LETTER IE"),
        ("\uff44emo", "demo", "demo", "it looks like 'demo'"),
        ("demo", "d\u0435mo", "demo", "contains characters that are not allowed"),
        ("kelvin", "kelvin", "\u212aelvin", "U+212A KELVIN SIGN"),
        ("-demo", "demo", "demo", "starting and ending with a letter or digit"),
    ],
)
def test_confusable_project_names_are_refused(
    registry: RunningRegistry,
    token: str,
    tmp_path: Path,
    form_name: str,
    filename_name: str,
    metadata_name: str,
    reason: str,
) -> None:
    wheel = build_wheel(tmp_path, "kelvin" if form_name == "kelvin" else "demo", VERSION, metadata_name=metadata_name)
    filename = wheel.name.replace("demo", filename_name, 1)
    before = _stored(registry)
    response = _upload(registry, token, wheel, form_name, filename)
    assert response.status_code == 400, response.text
    assert reason in response.text
    assert _stored(registry) == before


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("zip-named-tar-gz", "the filename promises a gzip-compressed tar archive, but the content is a zip archive"),
        ("tar-named-zip", "the filename promises a zip archive, but the content is a gzip stream"),
        ("tar-named-whl", "the filename promises a zip archive, but the content is a gzip stream"),
        ("metadata-name-twice", "core metadata has more than one 'Name' field"),
        ("metadata-version-twice", "core metadata has more than one 'Version' field"),
    ],
)
def test_content_that_lies_about_its_format_or_metadata_is_refused(
    registry: RunningRegistry, token: str, tmp_path: Path, case: str, reason: str
) -> None:
    wheel = build_wheel(tmp_path, "liar-format", VERSION)
    sdist = build_sdist(tmp_path, "liar-format", VERSION)
    stem = f"liar_format-{VERSION}"
    path, filename = {
        "zip-named-tar-gz": (wheel, f"{stem}.tar.gz"),
        "tar-named-zip": (sdist, f"{stem}.zip"),
        "tar-named-whl": (sdist, wheel.name),
        "metadata-name-twice": (build_wheel(tmp_path / "n", "liar-format", VERSION, description="Name: x"), None),
        "metadata-version-twice": (build_wheel(tmp_path / "v", "liar-format", VERSION, description="Version: 9"), None),
    }[case]
    before = _stored(registry)
    response = _upload(registry, token, path, "liar-format", filename)
    assert response.status_code == 400, response.text
    assert reason in response.text
    assert _stored(registry) == before
    index = httpx.get(f"{registry.base_url}/t/{TENANT}/simple/liar-format/", auth=("__token__", token))
    assert index.status_code == 404
