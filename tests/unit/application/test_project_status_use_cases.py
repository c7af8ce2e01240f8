"""Project status and known-malware use cases on the in-memory store: uploads, mirrored pages, audit, admin."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pyregistry_application.admin_access import AdminAuthorization
from pyregistry_application.dto import AuditQuery
from pyregistry_application.index import MALWARE_ACTOR, PackageIndex
from pyregistry_application.mirroring import MirrorOptions
from pyregistry_application.project_status import ProjectStatusAdministration, ProjectStatusRecorder
from pyregistry_application.security.malware import MalwareBlocklist
from pyregistry_bootstrap.cli_identity import CLI_USER
from pyregistry_domain.errors import Forbidden, NotFound, ValidationFailed
from pyregistry_domain.project_status import ProjectStatus, ProjectStatusKind
from pyregistry_infrastructure.vulnerabilities.osv_db import AdvisoryDatabase
from tests.support.background import mirror_service
from tests.support.dists import build_wheel
from tests.support.malware_advisories import write_malware_advisory
from tests.unit.application.test_mirroring_use_cases import WHEEL_10, WHEEL_11, Mirror


class Guarded:
    """The ``Mirror`` world (upstream ``Tool`` 1.0, 1.1, 2.0) behind an index and a mirror that know malware."""

    def __init__(self, root: Path, advisories: Path) -> None:
        self.world = Mirror(root / "world", eager_percent=100)
        app = self.world.app
        self.blocklist = MalwareBlocklist(AdvisoryDatabase(advisories))
        self.recorder = ProjectStatusRecorder(app.store.catalogue, app.audit, app.clock)
        options = MirrorOptions(
            download_concurrency=2, eager_download_percent=100, max_attempts=1, metadata_ttl_seconds=60
        )
        self.service = mirror_service(
            app.store,
            app.storage,
            self.world.upstream,
            app.clock,
            app.audit,
            root / "spool",
            options,
            malware=self.blocklist,
        )
        self.index = PackageIndex(
            app.store.catalogue, app.storage, app.access, self.service, malware=self.blocklist, statuses=self.recorder
        )
        self.admin = ProjectStatusAdministration(
            app.store.catalogue, AdminAuthorization(app.store.tenants), self.recorder
        )

    def status_events(self) -> list[tuple[str, str, dict[str, str]]]:
        page = self.world.app.audit.query(AuditQuery(action="project.status"))
        return [(event.actor, event.target, event.details) for event in page.items]


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[Guarded]:
    world = Guarded(tmp_path, tmp_path / "advisories")
    yield world
    world.service.close()
    world.world.upstream.gate.set()
    world.world.service.close()


def test_a_malware_version_is_neither_listed_nor_downloaded_nor_prefetched(tmp_path: Path) -> None:
    write_malware_advisory(tmp_path / "advisories", "MAL-2099-7", "tool", ["2.0"])
    guarded = Guarded(tmp_path, tmp_path / "advisories")
    try:
        page = guarded.index.project_page("corp", guarded.world.reader, "tool")
        assert page.versions == ["1.0", "1.1"] and "2.0" not in {file.version for file in page.files}
        guarded.service.wait_idle(10)
        cached = {
            f.filename for f in guarded.world.app.store.catalogue.list_files(guarded.world.corp, "tool") if f.cached
        }
        assert cached == {WHEEL_10, WHEEL_11, "tool-1.1.tar.gz"}, "the blocked 2.0 wheel was never fetched"
        with pytest.raises(Forbidden) as refused:
            guarded.index.download("corp", guarded.world.reader, "tool", "tool-2.0-py3-none-any.whl", version="2.0")
        assert refused.value.message == (
            "'tool-2.0-py3-none-any.whl' is blocked as known malware: MAL-2099-7 (Malicious code in tool (PyPI))"
        )
        assert guarded.status_events() == []
    finally:
        guarded.service.close()
        guarded.world.service.close()


def test_an_advisory_over_every_version_quarantines_once_and_audits_it(tmp_path: Path) -> None:
    write_malware_advisory(tmp_path / "advisories", "MAL-2099-8", "Tool")
    guarded = Guarded(tmp_path, tmp_path / "advisories")
    try:
        for _ in range(2):
            page = guarded.index.project_page("corp", guarded.world.reader, "tool")
            assert page.status == ProjectStatus(ProjectStatusKind.QUARANTINED, "MAL-2099-8")
            assert (page.files, page.versions) == ([], [])
        assert guarded.status_events() == [
            (MALWARE_ACTOR, "tool", {"status": "quarantined", "previous": "active", "reason": "MAL-2099-8",
                                     "advisory": "MAL-2099-8"})
        ]  # fmt: skip
        guarded.service.wait_idle(10)
        assert not any(f.cached for f in guarded.world.app.store.catalogue.list_files(guarded.world.corp, "tool"))
    finally:
        guarded.service.close()
        guarded.world.service.close()


def test_an_upload_to_an_archived_project_is_refused_and_stores_nothing(guarded: Guarded, tmp_path: Path) -> None:
    app = guarded.world.app
    publisher = app.tokens.issue(tenant_slug="plain", name="ci", scopes=["publish"], actor="t").secret
    app.upload("plain", publisher, build_wheel(tmp_path / "d1", "lib", "1.0"), "lib", "1.0")
    guarded.admin.set_status(CLI_USER, "plain", "lib", "archived", "frozen for audit")
    with pytest.raises(ValidationFailed) as archived:
        app.upload("plain", publisher, build_wheel(tmp_path / "d2", "lib", "1.1"), "lib", "1.1")
    assert archived.value.message == "project 'lib' is archived and does not accept uploads: frozen for audit"
    plain = app.store.tenants.get_tenant_by_slug("plain")
    assert plain is not None
    assert [release.version for release in app.store.catalogue.list_releases(plain.id, "lib")] == ["1.0"]
    assert guarded.status_events() == [
        ("cli", "lib", {"status": "archived", "previous": "active", "reason": "frozen for audit"})
    ]


def test_admin_status_needs_an_existing_project_a_valid_status_and_the_tenant(guarded: Guarded) -> None:
    with pytest.raises(NotFound) as missing:
        guarded.admin.set_status(CLI_USER, "corp", "nothing-here", "archived")
    assert missing.value.message == "project 'nothing-here' does not exist in tenant 'corp'"
    with pytest.raises(ValidationFailed):
        guarded.admin.set_status(CLI_USER, "corp", "nothing-here", "sleeping")
    with pytest.raises(NotFound) as tenant:
        guarded.admin.set_status(CLI_USER, "nobody", "tool", "archived")
    assert tenant.value.message == "tenant 'nobody' does not exist"
    assert guarded.status_events() == []
