"""Core metadata as the JSON API's ``info`` shows it: parsing, and which stored file of a release is read."""

from __future__ import annotations

from pathlib import Path

from pyregistry_application.blob_keys import metadata_key_for
from pyregistry_application.release_metadata import ReleaseInfo, release_info_from_metadata
from tests.support.dists import build_sdist, build_wheel
from tests.unit.application.test_application_without_web import App


def test_fields_lists_and_project_urls_are_parsed() -> None:
    raw = (
        b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nSummary:  spaced \nAuthor-Email: a@example.com\n"
        b"Project-URL: Docs, https://docs.example\nProject-URL: https://bare.example\nPlatform: linux\n"
        b"Requires-Dist: one\nRequires-Dist: two>=2\nDynamic: Requires-Dist\nDescription: old style\n"
        b"        |second line\n"
    )
    info = release_info_from_metadata(raw)
    assert info == ReleaseInfo(
        summary="spaced",
        description="old style\nsecond line",
        author_email="a@example.com",
        platform="linux",
        project_urls={"Docs": "https://docs.example", "https://bare.example": "https://bare.example"},
        requires_dist=("one", "two>=2"),
        dynamic=("Requires-Dist",),
    )


def test_empty_metadata_gives_empty_fields() -> None:
    assert release_info_from_metadata(b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nKeywords:\n") == ReleaseInfo()


def test_the_wheel_metadata_is_preferred_and_missing_blobs_are_skipped(tmp_path: Path) -> None:
    app = App(tmp_path)
    app.tenants.create_tenant(
        slug="acme", display_name="Acme", admin_email=None, admin_password=None, mirroring_enabled=False, actor="t"
    )
    token = app.tokens.issue(tenant_slug="acme", name="ci", scopes=["publish"], actor="test")
    sdist = build_sdist(tmp_path / "dist", "demo", "1.0")
    app.upload("acme", token.secret, sdist, "demo", "1.0")
    wheel = build_wheel(tmp_path / "dist", "demo", "1.0", summary="from the wheel")
    app.upload("acme", token.secret, wheel, "demo", "1.0")
    page = app.index.project_page("acme", token.secret, "demo")
    assert app.index.release_info(page, "1.0") == ReleaseInfo(summary="from the wheel", requires_python=">=3.8")
    app.storage.delete(metadata_key_for(next(f for f in page.files if f.filename == wheel.name).blob_key))
    assert app.index.release_info(page, "1.0") == ReleaseInfo(summary="a test sdist", requires_python=">=3.8")
    app.storage.delete(metadata_key_for(next(f for f in page.files if f.filename == sdist.name).blob_key))
    assert app.index.release_info(page, "1.0") is None
    assert app.index.release_info(page, "2.0") is None
