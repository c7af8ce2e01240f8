"""PEP 792 project status rules (domain), their HTML/JSON presentation, and the known-malware blocklist."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pyregistry_application.index import ProjectPage
from pyregistry_application.security.malware import MalwareBlocklist
from pyregistry_domain.distributions import DistributionKind, ReleaseFile
from pyregistry_domain.errors import Forbidden, ValidationFailed
from pyregistry_domain.project_status import ACTIVE, ProjectStatus, ProjectStatusKind, is_malware_advisory
from pyregistry_domain.projects import Project
from pyregistry_domain.tenants import Tenant
from pyregistry_infrastructure.vulnerabilities.osv_db import AdvisoryDatabase
from pyregistry_web.simple_pages import render_project
from tests.support.advisories import write_small_advisory_db
from tests.support.malware_advisories import write_malware_advisory

T0 = datetime(2026, 1, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kind", "uploads", "files"),
    [
        (ProjectStatusKind.ACTIVE, True, True),
        (ProjectStatusKind.DEPRECATED, True, True),
        (ProjectStatusKind.ARCHIVED, False, True),
        (ProjectStatusKind.QUARANTINED, False, False),
    ],
)
def test_each_status_allows_what_pep_792_says(kind: ProjectStatusKind, uploads: bool, files: bool) -> None:
    status = ProjectStatus(kind, "why")
    assert (status.accepts_uploads, status.offers_files) == (uploads, files)
    assert status.is_active is (kind is ProjectStatusKind.ACTIVE)


def test_parse_folds_the_reason_and_refuses_unknown_statuses_and_long_reasons() -> None:
    assert ProjectStatus.parse(" Archived ", "  moved\n to   tools-ng ") == ProjectStatus(
        ProjectStatusKind.ARCHIVED, "moved to tools-ng"
    )
    assert ProjectStatus.parse("active", "") == ACTIVE
    with pytest.raises(ValidationFailed) as unknown:
        ProjectStatus.parse("frozen")
    assert unknown.value.message == (
        "unknown project status 'frozen': use one of active, archived, quarantined, deprecated"
    )
    with pytest.raises(ValidationFailed) as long:
        ProjectStatus.parse("archived", "x" * 501)
    assert long.value.message == "the status reason is longer than 500 characters"


def test_refusals_name_the_project_the_status_and_the_reason() -> None:
    ProjectStatus(ProjectStatusKind.DEPRECATED).check_upload("tools")
    ProjectStatus(ProjectStatusKind.ARCHIVED).check_download("tools")
    with pytest.raises(ValidationFailed) as archived:
        ProjectStatus(ProjectStatusKind.ARCHIVED, "moved").check_upload("tools")
    assert archived.value.message == "project 'tools' is archived and does not accept uploads: moved"
    with pytest.raises(ValidationFailed) as quarantined:
        ProjectStatus(ProjectStatusKind.QUARANTINED).check_upload("tools")
    assert quarantined.value.message == "project 'tools' is quarantined and does not accept uploads"
    with pytest.raises(Forbidden) as download:
        ProjectStatus(ProjectStatusKind.QUARANTINED, "MAL-2099-1").check_download("tools")
    assert download.value.message == "project 'tools' is quarantined and offers no files: MAL-2099-1"


def test_malware_advisories_are_the_mal_ids() -> None:
    assert is_malware_advisory("MAL-2025-1234") and is_malware_advisory("mal-2025-1")
    assert not is_malware_advisory("PYSEC-2099-1") and not is_malware_advisory("GHSA-aaaa-bbbb-cccc")


def _page(status: ProjectStatus, *, size: int = 120, cached: bool = True) -> ProjectPage:
    tenant = Tenant(id="t1", slug="acme", display_name="Acme", mirroring_enabled=False, created_at=T0)
    project = Project(tenant_id="t1", name="Tools", normalized_name="tools", created_at=T0)
    file = ReleaseFile(
        "t1", "Tools", "tools", "1.0", "tools-1.0-py3-none-any.whl", DistributionKind.WHEEL, "ab" * 32, size,
        "k", T0, "ci", cached=cached,
    )  # fmt: skip
    return ProjectPage(tenant=tenant, project=project, files=[file], versions=["1.0"], status=status)


def test_json_page_carries_the_project_status_object_with_api_version_1_4() -> None:
    archived = json.loads(render_project(_page(ProjectStatus(ProjectStatusKind.ARCHIVED, "moved")), True))
    assert archived["meta"] == {"api-version": "1.4"}
    assert archived["project-status"] == {"status": "archived", "reason": "moved"}
    active = json.loads(render_project(_page(ACTIVE), True))
    assert (active["meta"], active["project-status"]) == ({"api-version": "1.4"}, {"status": "active"})


def test_a_sizeless_page_declares_1_0_unless_it_must_carry_a_status() -> None:
    sizeless_active = json.loads(render_project(_page(ACTIVE, size=0, cached=False), True))
    assert sizeless_active["meta"] == {"api-version": "1.0"}
    deprecated = ProjectStatus(ProjectStatusKind.DEPRECATED)
    sizeless_deprecated = json.loads(render_project(_page(deprecated, size=0, cached=False), True))
    assert sizeless_deprecated["meta"] == {"api-version": "1.4"}
    assert sizeless_deprecated["project-status"] == {"status": "deprecated"}


def test_html_page_carries_escaped_status_meta_tags() -> None:
    html = render_project(_page(ProjectStatus(ProjectStatusKind.DEPRECATED, 'use "tools-ng" <now>')), False).decode()
    assert html.startswith(
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        '    <meta name="pypi:repository-version" content="1.4">\n'
        '    <meta name="pypi:project-status" content="deprecated">\n'
        '    <meta name="pypi:project-status-reason" content="use &quot;tools-ng&quot; &lt;now&gt;">\n'
        "    <title>Links for tools</title>\n"
    )
    plain = render_project(_page(ACTIVE), False).decode()
    assert '<meta name="pypi:project-status" content="active">' in plain
    assert "pypi:project-status-reason" not in plain


def test_blocklist_reads_only_mal_records_and_finds_whole_project_blocks(tmp_path: Path) -> None:
    write_small_advisory_db(tmp_path)
    write_malware_advisory(tmp_path, "MAL-2099-1", "listed", ["1.0", "2.0"])
    write_malware_advisory(tmp_path, "MAL-2099-2", "everything")
    blocklist = MalwareBlocklist(AdvisoryDatabase(tmp_path))

    assert blocklist.blocking("vulnpkg", "1.0.0") is None  # a PYSEC advisory is a vulnerability, not malware
    assert blocklist.blocking("listed", "2.0") is not None and blocklist.blocking("listed", "3.0") is None
    assert blocklist.whole_project("listed", ["1.0", "2.0"]).id == "MAL-2099-1"  # type: ignore[union-attr]
    assert blocklist.whole_project("listed", ["1.0", "2.0", "3.0"]) is None
    assert blocklist.whole_project("listed", []) is None
    assert blocklist.whole_project("everything", []).id == "MAL-2099-2"  # type: ignore[union-attr]
    assert blocklist.whole_project("vulnpkg", ["1.0.0"]) is None
    with pytest.raises(ValidationFailed) as upload:
        blocklist.refuse_upload("listed", "1.0")
    assert upload.value.message == "listed 1.0 is known malware: MAL-2099-1 (Malicious code in listed (PyPI))"
    with pytest.raises(Forbidden) as download:
        blocklist.refuse_download("everything", "0.1", "everything-0.1.tar.gz")
    assert download.value.message == (
        "'everything-0.1.tar.gz' is blocked as known malware: MAL-2099-2 (Malicious code in everything (PyPI))"
    )


def test_an_unconfigured_advisory_directory_blocks_nothing() -> None:
    blocklist = MalwareBlocklist(AdvisoryDatabase(None))
    assert blocklist.blocking("anything", "1.0") is None
    assert blocklist.advisories("anything") == []
    assert blocklist.whole_project("anything", ["1.0"]) is None
