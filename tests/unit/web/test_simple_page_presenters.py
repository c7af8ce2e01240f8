"""The Simple API presenters on their own: exact HTML and JSON for listings and project pages (PEP 503/691/700/714)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

from pyregistry_application.dto import ListedProject
from pyregistry_application.index import ProjectListing, ProjectPage
from pyregistry_domain.distributions import DistributionKind, ReleaseFile
from pyregistry_domain.projects import Project
from pyregistry_domain.tenants import Tenant
from pyregistry_web.simple_pages import render_listing, render_project

T0 = datetime(2026, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
TENANT = Tenant(id="t1", slug="acme", display_name="Acme", mirroring_enabled=False, created_at=T0)
PROJECT = Project(tenant_id="t1", name="Acme_Tools", normalized_name="acme-tools", created_at=T0)
WHEEL = ReleaseFile(
    tenant_id="t1",
    project_name="Acme_Tools",
    normalized_name="acme-tools",
    version="1.0",
    filename="acme_tools-1.0-py3-none-any.whl",
    kind=DistributionKind("bdist_wheel"),
    sha256="ab" * 32,
    size=1234,
    blob_key="t1/acme-tools/1.0/wheel",
    uploaded_at=T0,
    uploaded_by="ci",
    requires_python=">=3.9",
    metadata_sha256="cd" * 32,
)
SDIST = replace(
    WHEEL,
    filename="acme_tools-0.9.tar.gz",
    version="0.9",
    kind=DistributionKind("sdist"),
    sha256="ef" * 32,
    requires_python=None,
    metadata_sha256=None,
    yanked=True,
    yanked_reason="broken <build> & more",
)
WHEEL_URL = "../../files/acme-tools/1.0/acme_tools-1.0-py3-none-any.whl"
SDIST_URL = "../../files/acme-tools/0.9/acme_tools-0.9.tar.gz"


def page(*files: ReleaseFile) -> ProjectPage:
    return ProjectPage(tenant=TENANT, project=PROJECT, files=list(files), versions=["0.9", "1.0"])


def test_json_project_page_carries_every_file_attribute() -> None:
    document = json.loads(render_project(page(SDIST, WHEEL), as_json=True))
    assert document == {
        "meta": {"api-version": "1.4"},
        "name": "acme-tools",
        "project-status": {"status": "active"},
        "versions": ["0.9", "1.0"],
        "files": [
            {
                "filename": "acme_tools-0.9.tar.gz",
                "url": SDIST_URL,
                "hashes": {"sha256": "ef" * 32},
                "requires-python": None,
                "yanked": "broken <build> & more",
                "upload-time": "2026-05-06T07:08:09.123456Z",
                "size": 1234,
            },
            {
                "filename": "acme_tools-1.0-py3-none-any.whl",
                "url": WHEEL_URL,
                "hashes": {"sha256": "ab" * 32},
                "requires-python": ">=3.9",
                "yanked": False,
                "upload-time": "2026-05-06T07:08:09.123456Z",
                "size": 1234,
                "core-metadata": {"sha256": "cd" * 32},
            },
        ],
    }


def test_json_yanked_without_reason_is_true() -> None:
    document = json.loads(render_project(page(replace(WHEEL, yanked=True, yanked_reason=None)), as_json=True))
    assert [file["yanked"] for file in document["files"]] == [True]


def test_json_page_with_a_file_of_unknown_size_declares_api_1_0_and_omits_size() -> None:
    unsized = replace(WHEEL, size=0, origin="mirror", cached=False)
    assert not unsized.size_known
    document = json.loads(render_project(page(unsized), as_json=True))
    assert document["meta"] == {"api-version": "1.0"}
    assert "size" not in document["files"][0]


def test_html_project_page_escapes_and_marks_yanked_hashes_and_metadata() -> None:
    html = render_project(page(SDIST, replace(WHEEL, has_provenance=True)), as_json=False).decode()
    assert html == (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        '    <meta name="pypi:repository-version" content="1.4">\n'
        '    <meta name="pypi:project-status" content="active">\n'
        "    <title>Links for acme-tools</title>\n  </head>\n  <body>\n"
        "    <h1>Links for acme-tools</h1>\n"
        f'    <a href="{SDIST_URL}#sha256={"ef" * 32}" data-yanked="broken &lt;build&gt; &amp; more">'
        "acme_tools-0.9.tar.gz</a><br>\n"
        f'    <a href="{WHEEL_URL}#sha256={"ab" * 32}" data-requires-python="&gt;=3.9" '
        f'data-core-metadata="sha256={"cd" * 32}" data-dist-info-metadata="sha256={"cd" * 32}" '
        'data-provenance="../../provenance/acme-tools/1.0/acme_tools-1.0-py3-none-any.whl">'
        "acme_tools-1.0-py3-none-any.whl</a><br>\n"
        "  </body>\n</html>\n"
    )


def test_html_yanked_without_reason_is_an_empty_attribute() -> None:
    html = render_project(page(replace(WHEEL, yanked=True, yanked_reason=None)), as_json=False).decode()
    assert ' data-yanked="" ' in html


def test_listing_in_html_and_json() -> None:
    listing = ProjectListing(
        tenant=TENANT, projects=[ListedProject("Acme_Tools", "acme-tools"), ListedProject("<Odd>&Name", "odd-name")]
    )
    assert json.loads(render_listing(listing, as_json=True)) == {
        "meta": {"api-version": "1.4"},
        "projects": [{"name": "Acme_Tools"}, {"name": "<Odd>&Name"}],
    }
    assert render_listing(listing, as_json=False).decode() == (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        '    <meta name="pypi:repository-version" content="1.4">\n'
        "    <title>Simple index of acme</title>\n  </head>\n  <body>\n"
        '    <a href="acme-tools/">Acme_Tools</a>\n'
        '    <a href="odd-name/">&lt;Odd&gt;&amp;Name</a>\n'
        "  </body>\n</html>\n"
    )


def test_urls_quote_what_is_not_plain_and_keep_the_rest() -> None:
    local = replace(WHEEL, version="1.0+cpu.1", filename="acme_tools-1.0+cpu.1-py3-none-any.whl", has_provenance=True)
    document = json.loads(render_project(page(local), as_json=True))
    (entry,) = document["files"]
    assert entry["url"] == "../../files/acme-tools/1.0%2Bcpu.1/acme_tools-1.0%2Bcpu.1-py3-none-any.whl"
    assert entry["provenance"] == "../../provenance/acme-tools/1.0%2Bcpu.1/acme_tools-1.0%2Bcpu.1-py3-none-any.whl"
    assert entry["upload-time"] == "2026-05-06T07:08:09.123456Z"
    html = render_project(page(local), as_json=False).decode()
    assert 'href="../../files/acme-tools/1.0%2Bcpu.1/acme_tools-1.0%2Bcpu.1-py3-none-any.whl#sha256=' in html


def test_upload_time_keeps_whole_seconds_with_microseconds() -> None:
    on_the_second = replace(WHEEL, uploaded_at=datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC))
    (entry,) = json.loads(render_project(page(on_the_second), as_json=True))["files"]
    assert entry["upload-time"] == "2026-05-06T07:08:09.000000Z"


def test_listing_quotes_names_only_when_they_need_it() -> None:
    plain = ProjectListing(tenant=TENANT, projects=[ListedProject("Acme_Tools", "acme-tools")])
    assert '    <a href="acme-tools/">Acme_Tools</a>\n' in render_listing(plain, as_json=False).decode()
    odd = ProjectListing(tenant=TENANT, projects=[ListedProject("A", "a"), ListedProject("B c", "b c")])
    html = render_listing(odd, as_json=False).decode()
    assert '    <a href="a/">A</a>\n    <a href="b%20c/">B c</a>\n' in html
