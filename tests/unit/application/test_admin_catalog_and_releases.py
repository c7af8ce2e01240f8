"""Admin read queries and release administration on the in-memory store."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyregistry_application.admin_releases import MAX_YANK_REASON_LENGTH
from pyregistry_application.admin_services import AdminServices, build_admin_services
from pyregistry_application.dto import AuditQuery
from pyregistry_application.services import RegistryServices
from pyregistry_domain.errors import Forbidden, NotFound, ValidationFailed
from pyregistry_domain.users import User
from pyregistry_infrastructure.metadata_stores.memory_sessions import MemoryAdminSessionStore
from pyregistry_infrastructure.shared_state.memory import MemoryLimitCounters
from pyregistry_infrastructure.system import RandomIds, ScryptPasswordHasher, SystemClock
from tests.support.dists import build_sdist, build_wheel
from tests.unit.application.test_application_without_web import App


class Setup:
    def __init__(self, root: Path) -> None:
        self.app = App(root)
        services = RegistryServices(
            metadata=self.app.store,
            storage=self.app.storage,
            clock=SystemClock(),
            ids=RandomIds(),
            hasher=ScryptPasswordHasher(n=2**10),
            audit=self.app.audit,
            access=self.app.access,
            tenants=self.app.tenants,
            tokens=self.app.tokens,
            uploads=self.app.uploads,
            index=self.app.index,
            admin_sessions=MemoryAdminSessionStore(),
            limit_counters=MemoryLimitCounters(),
        )
        self.admin: AdminServices = build_admin_services(services)
        for slug, email in (("acme", "boss@acme.test"), ("globex", None)):
            self.app.tenants.create_tenant(
                slug=slug,
                display_name=slug.title(),
                admin_email=email,
                admin_password="password-1" if email else None,
                mirroring_enabled=False,
                actor="t",
            )
        now = SystemClock().now()
        self.root = User(id="root", email="root@x.test", password_hash="-", is_superadmin=True, created_at=now)
        self.app.store.users.add_user(self.root)
        boss = self.app.store.users.get_user_by_email("boss@acme.test")
        assert boss is not None
        self.boss = boss
        self.secrets = {
            slug: self.app.tokens.issue(tenant_slug=slug, name="ci", scopes=["read", "publish"], actor="t").secret
            for slug in ("acme", "globex")
        }

    def publish(self, tenant: str, wheel: Path, name: str, version: str) -> None:
        self.app.upload(tenant, self.secrets[tenant], wheel, name, version)


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    built = Setup(tmp_path)
    readme = "Long-Description-Content-Type: text/markdown\n\n# Widget\n\nMakes widgets.\n"
    for version in ("1.0", "2.0"):
        built.publish("acme", build_wheel(tmp_path / version, "widget", version, description=readme), "widget", version)
    built.publish(
        "globex", build_wheel(tmp_path / "g", "gadget", "1.0", summary="a widget-free gadget"), "gadget", "1.0"
    )
    return built


def test_dashboard_shows_each_user_only_their_tenants(setup: Setup) -> None:
    root_view = setup.admin.catalog.dashboard(setup.root)
    assert [(row.tenant.slug, row.projects, row.active_tokens) for row in root_view.tenants] == [
        ("acme", 1, 1),
        ("globex", 1, 1),
    ]
    assert root_view.stats is not None and root_view.recent
    assert root_view.tenant_slugs == {row.tenant.id: row.tenant.slug for row in root_view.tenants}
    boss_view = setup.admin.catalog.dashboard(setup.boss, recent_events=3)
    assert [row.tenant.slug for row in boss_view.tenants] == ["acme"]
    assert boss_view.stats is None and 0 < len(boss_view.recent) <= 3
    assert all(event.tenant_id == boss_view.tenants[0].tenant.id for event in boss_view.recent)


def test_search_is_limited_to_visible_tenants(setup: Setup) -> None:
    assert setup.admin.catalog.search(setup.root, "   ").total == 0
    everywhere = setup.admin.catalog.search(setup.root, "widget")
    assert {hit.tenant_slug for hit in everywhere.items} == {"acme", "globex"}
    mine = setup.admin.catalog.search(setup.boss, "widget")
    assert {hit.tenant_slug for hit in mine.items} == {"acme"}


def test_project_detail_lists_releases_newest_first_with_the_readme(setup: Setup) -> None:
    tenant, projects = setup.admin.catalog.projects(setup.boss, "acme")
    assert tenant.slug == "acme" and [row.project.normalized_name for row in projects] == ["widget"]
    widget_files = setup.app.store.catalogue.list_files(tenant.id, "widget")
    assert projects[0].latest_version == "2.0"
    assert projects[0].released_at == min(file.uploaded_at for file in widget_files if file.version == "2.0")
    detail = setup.admin.catalog.project(setup.boss, "acme", "Widget")
    assert [view.release.version for view in detail.releases] == ["2.0", "1.0"]
    assert all(len(view.files) == 1 for view in detail.releases)
    assert detail.readme is not None and "Makes widgets." in detail.readme.text
    with pytest.raises(NotFound):
        setup.admin.catalog.project(setup.boss, "acme", "missing")
    with pytest.raises(Forbidden):
        setup.admin.catalog.project(setup.boss, "globex", "gadget")


def test_sdist_only_projects_have_no_readme(setup: Setup, tmp_path: Path) -> None:
    setup.publish("acme", build_sdist(tmp_path / "s", "plain", "1.0"), "plain", "1.0")
    assert setup.admin.catalog.project(setup.root, "acme", "plain").readme is None


def test_yank_and_unyank_are_audited(setup: Setup) -> None:
    releases = setup.admin.releases
    releases.set_yanked(
        setup.boss, "acme", "widget", "1.0", yanked=True, reason="  broken   build ", source_ip="10.0.0.9"
    )
    page = setup.app.index.project_page("acme", setup.secrets["acme"], "widget")
    assert {file.version for file in page.files if file.yanked} == {"1.0"}  # type: ignore[attr-defined]
    releases.set_yanked(setup.boss, "acme", "widget", "1.0", yanked=False)
    actions = [event.action for event in setup.app.store.audit_log.list_audit_events(AuditQuery(limit=50)).items]
    assert "release.yank" in actions and "release.unyank" in actions
    with pytest.raises(ValidationFailed, match="longer than"):
        releases.set_yanked(setup.boss, "acme", "widget", "1.0", yanked=True, reason="x" * (MAX_YANK_REASON_LENGTH + 1))
    with pytest.raises(NotFound):
        releases.set_yanked(setup.boss, "acme", "widget", "9.9", yanked=True)


def test_purges_remove_records_and_blobs(setup: Setup) -> None:
    releases = setup.admin.releases
    files = setup.app.index.project_page("acme", setup.secrets["acme"], "widget").files
    blobs_before = set(setup.app.storage.list_keys())
    one = next(file for file in files if file.version == "1.0")
    releases.purge_file(setup.boss, "acme", "widget", one.filename)
    assert one.blob_key not in set(setup.app.storage.list_keys())
    with pytest.raises(NotFound):
        releases.purge_file(setup.boss, "acme", "widget", one.filename)
    assert releases.purge_release(setup.boss, "acme", "widget", "2.0") == 1
    with pytest.raises(NotFound):
        releases.purge_release(setup.boss, "acme", "widget", "2.0")
    assert releases.purge_project(setup.root, "globex", "gadget") == 1
    with pytest.raises(NotFound):
        releases.purge_project(setup.root, "globex", "gadget")
    remaining = set(setup.app.storage.list_keys())
    assert len(remaining) < len(blobs_before)
    purges = [
        event
        for event in setup.app.store.audit_log.list_audit_events(AuditQuery(limit=50)).items
        if "purge" in event.action
    ]
    assert {event.action for event in purges} == {"file.purge", "release.purge", "project.purge"}
