"""Two tenants hold look-alike data in every port; each list/get method, asked for one tenant, answers only with
that tenant's rows (memory, SQLite, PostgreSQL, and SQL Server when configured).

One test per method, so a dropped tenant filter names the method that lost it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest

from pyregistry_application.dto import AuditQuery
from pyregistry_application.metadata_backend import MetadataBackend
from pyregistry_application.scan_ports import FileRelease
from pyregistry_domain.audit import AuditEvent
from pyregistry_domain.project_status import ProjectStatus, ProjectStatusKind
from pyregistry_domain.projects import Project, Release
from pyregistry_domain.publishers import PublisherProvider, TrustedPublisher
from pyregistry_domain.roles import TenantRole
from pyregistry_domain.tokens import ApiToken, TokenScope
from pyregistry_domain.users import User
from tests.contract.conftest import STORE_PARAMS
from tests.contract.metadata_builders import T0, publish, tenant, wheel

pytestmark = pytest.mark.parametrize("store_location", STORE_PARAMS, indirect=True)

ACME, GLOBEX = "t-acme", "t-globex"
SHA = {ACME: "a1" * 32, GLOBEX: "b2" * 32}
STATUS = {ACME: ProjectStatusKind.ARCHIVED, GLOBEX: ProjectStatusKind.DEPRECATED}
SIZE = {ACME: 11, GLOBEX: 21}


def _write_both_tenants(store: MetadataBackend) -> None:
    """Each tenant gets the same project names, filenames, publisher and scanned file, told apart by size/status."""
    for tenant_id, slug in ((ACME, "acme"), (GLOBEX, "globex")):
        store.tenants.add_tenant(tenant(slug))
        publish(store, tenant_id, "shared", "1.0", size=SIZE[tenant_id])
        publish(store, tenant_id, f"{slug}-only", "1.0", size=SIZE[tenant_id])
        store.catalogue.set_project_status(tenant_id, "shared", ProjectStatus(STATUS[tenant_id], "why"), T0)
        store.tokens.add_token(
            ApiToken(
                id=f"tok-{tenant_id}",
                key_id=f"KEY{slug}",
                secret_hash="hash",
                tenant_id=tenant_id,
                name="ci",
                scopes=frozenset({TokenScope("read")}),
                created_at=T0,
                created_by="admin",
            )
        )
        store.users.add_user(
            User(
                id=f"u-{slug}",
                email=f"{slug}@example.test",
                password_hash="h",
                is_superadmin=False,
                created_at=T0,
                roles={tenant_id: TenantRole.ADMIN},
            )
        )
        store.audit_log.add_audit_event(
            AuditEvent(
                id=f"e-{slug}", occurred_at=T0, actor="admin", action="token.issue", target=slug, tenant_id=tenant_id
            )
        )
        mirrored = Project(tenant_id, "Mirrored", "mirrored", T0, origin="mirror", mirrored_at=T0)
        upstream = wheel(tenant_id, "mirrored", "1.0", size=SIZE[tenant_id])
        store.mirror.record_mirrored_project(mirrored, [Release(tenant_id, "mirrored", "1.0", T0)], [upstream])
        store.publishers.add_publisher(
            TrustedPublisher(
                id=f"pub-{slug}",
                tenant_id=tenant_id,
                project="shared",
                provider=PublisherProvider.GITHUB,
                issuer="https://token.actions.githubusercontent.com",
                repository="acme/shared",
                workflow="release.yml",
                environment=None,
                created_at=T0,
                created_by="admin",
            )
        )
        store.scans.add_release(
            FileRelease(
                tenant_id=tenant_id,
                sha256=SHA[ACME],
                filename="shared-1.0-py3-none-any.whl",
                released_by="admin",
                reason=slug,
                released_at=T0 + timedelta(minutes=1),
            )
        )
    store.users.set_tenant_role("u-acme", GLOBEX, TenantRole.AUDITOR)


@dataclass(frozen=True, slots=True)
class Lookup:
    """One list/get method: what it answers for a tenant, as comparable marks, and the marks each tenant owns."""

    ask: Callable[[MetadataBackend, str], list[object]]
    owned: dict[str, list[object]]


def _slug(tenant_id: str) -> str:
    return tenant_id.removeprefix("t-")


LOOKUPS: dict[str, Lookup] = {
    "tenants.get_tenant": Lookup(
        lambda store, tid: [t.id for t in [store.tenants.get_tenant(tid)] if t], {ACME: [ACME], GLOBEX: [GLOBEX]}
    ),
    "tenants.get_tenant_by_slug": Lookup(
        lambda store, tid: [t.id for t in [store.tenants.get_tenant_by_slug(_slug(tid))] if t],
        {ACME: [ACME], GLOBEX: [GLOBEX]},
    ),
    "users.list_tenant_members": Lookup(
        lambda store, tid: [(u.email, u.role_in(tid)) for u in store.users.list_tenant_members(tid)],
        {
            ACME: [("acme@example.test", TenantRole.ADMIN)],
            GLOBEX: [("acme@example.test", TenantRole.AUDITOR), ("globex@example.test", TenantRole.ADMIN)],
        },
    ),
    "tokens.list_tokens": Lookup(
        lambda store, tid: [(t.id, t.tenant_id) for t in store.tokens.list_tokens(tid)],
        {ACME: [(f"tok-{ACME}", ACME)], GLOBEX: [(f"tok-{GLOBEX}", GLOBEX)]},
    ),
    "catalogue.get_project": Lookup(
        lambda store, tid: [p.tenant_id for p in [store.catalogue.get_project(tid, "shared")] if p],
        {ACME: [ACME], GLOBEX: [GLOBEX]},
    ),
    "catalogue.list_projects": Lookup(
        lambda store, tid: [(p.tenant_id, p.normalized_name) for p in store.catalogue.list_projects(tid)],
        {
            ACME: [(ACME, "acme-only"), (ACME, "mirrored"), (ACME, "shared")],
            GLOBEX: [(GLOBEX, "globex-only"), (GLOBEX, "mirrored"), (GLOBEX, "shared")],
        },
    ),
    "catalogue.list_releases": Lookup(
        lambda store, tid: [(r.tenant_id, r.version) for r in store.catalogue.list_releases(tid, "shared")],
        {ACME: [(ACME, "1.0")], GLOBEX: [(GLOBEX, "1.0")]},
    ),
    "catalogue.listed_projects": Lookup(
        lambda store, tid: sorted(
            (p.name, p.normalized_name) for p in store.catalogue.listed_projects(tid, with_mirrored=True)
        ),
        {
            ACME: [("Mirrored", "mirrored"), ("acme-only", "acme-only"), ("shared", "shared")],
            GLOBEX: [("Mirrored", "mirrored"), ("globex-only", "globex-only"), ("shared", "shared")],
        },
    ),
    "catalogue.listed_projects (local only)": Lookup(
        lambda store, tid: sorted(p.normalized_name for p in store.catalogue.listed_projects(tid, with_mirrored=False)),
        {ACME: ["acme-only", "shared"], GLOBEX: ["globex-only", "shared"]},
    ),
    "catalogue.release_versions": Lookup(
        lambda store, tid: store.catalogue.release_versions(tid, "shared"), {ACME: ["1.0"], GLOBEX: ["1.0"]}
    ),
    "catalogue.list_files": Lookup(
        lambda store, tid: [(f.tenant_id, f.size) for f in store.catalogue.list_files(tid, "shared")],
        {ACME: [(ACME, 11)], GLOBEX: [(GLOBEX, 21)]},
    ),
    "catalogue.list_files (mirrored)": Lookup(
        lambda store, tid: [(f.tenant_id, f.size) for f in store.catalogue.list_files(tid, "mirrored")],
        {ACME: [(ACME, 11)], GLOBEX: [(GLOBEX, 21)]},
    ),
    "catalogue.get_file": Lookup(
        lambda store, tid: [
            (f.tenant_id, f.size) for f in [store.catalogue.get_file(tid, "shared-1.0-py3-none-any.whl")] if f
        ],
        {ACME: [(ACME, 11)], GLOBEX: [(GLOBEX, 21)]},
    ),
    "catalogue.get_project_status": Lookup(
        lambda store, tid: [store.catalogue.get_project_status(tid, "shared").kind],
        {ACME: [STATUS[ACME]], GLOBEX: [STATUS[GLOBEX]]},
    ),
    "catalogue.list_project_statuses": Lookup(
        lambda store, tid: sorted((name, s.kind) for name, s in store.catalogue.list_project_statuses(tid).items()),
        {ACME: [("shared", STATUS[ACME])], GLOBEX: [("shared", STATUS[GLOBEX])]},
    ),
    "catalogue.search_projects": Lookup(
        lambda store, tid: [
            (p.tenant_id, p.normalized_name) for p in store.catalogue.search_projects([tid], "only", 10, 0).items
        ],
        {ACME: [(ACME, "acme-only")], GLOBEX: [(GLOBEX, "globex-only")]},
    ),
    "audit_log.list_audit_events": Lookup(
        lambda store, tid: [
            (e.tenant_id, e.target) for e in store.audit_log.list_audit_events(AuditQuery(tenant_id=tid)).items
        ],
        {ACME: [(ACME, "acme")], GLOBEX: [(GLOBEX, "globex")]},
    ),
    "publishers.list_publishers": Lookup(
        lambda store, tid: [(p.tenant_id, p.id) for p in store.publishers.list_publishers(tid)],
        {ACME: [(ACME, "pub-acme")], GLOBEX: [(GLOBEX, "pub-globex")]},
    ),
    "scans.find_releases": Lookup(
        lambda store, tid: [(r.tenant_id, r.reason) for r in store.scans.find_releases(tid, [SHA[ACME]]).values()],
        {ACME: [(ACME, "acme")], GLOBEX: [(GLOBEX, "globex")]},
    ),
    "index_versions.project_serial": Lookup(
        lambda store, tid: [
            name for name in ("acme-only", "globex-only") if store.index_versions.project_serial(tid, name) is not None
        ],
        {ACME: ["acme-only"], GLOBEX: ["globex-only"]},
    ),
}


@pytest.mark.parametrize("method", list(LOOKUPS))
def test_each_lookup_answers_only_with_its_tenants_rows(store: MetadataBackend, method: str) -> None:
    _write_both_tenants(store)
    lookup = LOOKUPS[method]
    for tenant_id in (ACME, GLOBEX):
        assert lookup.ask(store, tenant_id) == lookup.owned[tenant_id], f"{method} for {tenant_id}"


def test_a_listing_version_changes_only_for_the_tenant_that_changed(store: MetadataBackend) -> None:
    _write_both_tenants(store)
    before = {tid: store.index_versions.listing_version(tid) for tid in (ACME, GLOBEX)}
    publish(store, GLOBEX, "newcomer", "1.0")
    assert store.index_versions.listing_version(ACME) == before[ACME]
    assert store.index_versions.listing_version(GLOBEX) != before[GLOBEX]
