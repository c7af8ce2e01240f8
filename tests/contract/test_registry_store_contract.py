"""The MetadataBackend contract, held by every adapter: memory, SQLite, PostgreSQL and SQL Server."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from pyregistry_application.dto import AuditQuery
from pyregistry_application.metadata_backend import MetadataBackend
from pyregistry_domain.audit import AuditEvent
from pyregistry_domain.distributions import DistributionKind, ReleaseFile
from pyregistry_domain.errors import AlreadyExists, NotFound
from pyregistry_domain.projects import Project, Release
from pyregistry_domain.roles import TenantRole
from pyregistry_domain.tenants import Tenant
from pyregistry_domain.tokens import ApiToken, TokenScope
from pyregistry_domain.users import User
from tests.contract.conftest import STORE_PARAMS

pytestmark = pytest.mark.parametrize("store_location", STORE_PARAMS, indirect=True)

T0 = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)


def tenant(slug: str = "acme", tenant_id: str | None = None) -> Tenant:
    return Tenant(
        id=tenant_id or f"t-{slug}", slug=slug, display_name=slug.title(), mirroring_enabled=False, created_at=T0
    )


def project(tenant_id: str, name: str, summary: str | None = "a package") -> Project:
    return Project(tenant_id=tenant_id, name=name, normalized_name=name.lower(), created_at=T0, summary=summary)


def release(tenant_id: str, name: str, version: str) -> Release:
    return Release(tenant_id=tenant_id, normalized_name=name.lower(), version=version, created_at=T0)


def wheel(tenant_id: str, name: str, version: str, size: int = 100, tag: str = "py3-none-any") -> ReleaseFile:
    return ReleaseFile(
        tenant_id=tenant_id,
        project_name=name,
        normalized_name=name.lower(),
        version=version,
        filename=f"{name.lower()}-{version}-{tag}.whl",
        kind=DistributionKind("bdist_wheel"),
        sha256="ab" * 32,
        size=size,
        blob_key=f"{tenant_id}/{name}/{version}/{tag}",
        uploaded_at=T0,
        uploaded_by="ci@acme.test",
        requires_python=">=3.9",
        metadata_sha256="cd" * 32,
    )


def publish(store: MetadataBackend, tenant_id: str, name: str, version: str, **kwargs: object) -> ReleaseFile:
    file = wheel(tenant_id, name, version, **kwargs)  # type: ignore[arg-type]
    store.catalogue.add_release_file(project(tenant_id, name), release(tenant_id, name, version), file)
    return file


def run_concurrently(target: Callable[[int], None], arguments: Iterable[int]) -> None:
    """Run ``target(argument)`` for every argument, each in its own thread, and wait for all of them."""
    threads = [threading.Thread(target=target, args=(argument,)) for argument in arguments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)


def test_tenants_round_trip_and_unique_slug(store: MetadataBackend) -> None:
    store.tenants.add_tenant(tenant("acme"))
    store.tenants.add_tenant(tenant("globex"))
    assert store.tenants.get_tenant("t-acme") == tenant("acme")
    assert store.tenants.get_tenant_by_slug("globex") == tenant("globex")
    assert store.tenants.get_tenant("nope") is None
    assert [t.slug for t in store.tenants.list_tenants()] == ["acme", "globex"]
    with pytest.raises(AlreadyExists):
        store.tenants.add_tenant(tenant("acme", tenant_id="other-id"))
    store.tenants.set_tenant_mirroring("t-acme", True)
    assert store.tenants.get_tenant("t-acme").mirroring_enabled is True  # type: ignore[union-attr]
    with pytest.raises(NotFound):
        store.tenants.set_tenant_mirroring("missing", True)


def test_users_passwords_and_tenant_roles(store: MetadataBackend) -> None:
    store.tenants.add_tenant(tenant("acme"))
    store.tenants.add_tenant(tenant("globex"))
    user = User(
        id="u1",
        email="a@acme.test",
        password_hash="h1",
        is_superadmin=False,
        created_at=T0,
        roles={"t-acme": TenantRole.ADMIN},
    )
    store.users.add_user(user)
    assert store.users.get_user("u1") == user
    assert store.users.get_user_by_email("a@acme.test") == user
    with pytest.raises(AlreadyExists):
        store.users.add_user(replace(user, id="u2"))
    store.users.set_user_password("u1", "h2")
    store.users.set_tenant_role("u1", "t-globex", TenantRole.AUDITOR)
    store.users.set_tenant_role("u1", "t-globex", TenantRole.AUDITOR)
    loaded = store.users.get_user("u1")
    assert loaded is not None and loaded.password_hash == "h2"
    assert dict(loaded.roles) == {"t-acme": TenantRole.ADMIN, "t-globex": TenantRole.AUDITOR}
    with pytest.raises(NotFound):
        store.users.set_user_password("missing", "h")
    with pytest.raises(NotFound):
        store.users.set_tenant_role("u1", "missing-tenant", TenantRole.ADMIN)
    with pytest.raises(NotFound):
        store.users.set_tenant_role("missing-user", "t-acme", TenantRole.ADMIN)


def _person(store: MetadataBackend, user_id: str, email: str) -> None:
    store.users.add_user(User(id=user_id, email=email, password_hash="h", is_superadmin=False, created_at=T0))


def test_tenant_roles_are_per_user_and_tenant(store: MetadataBackend) -> None:
    store.tenants.add_tenant(tenant("acme"))
    store.tenants.add_tenant(tenant("globex"))
    _person(store, "u-zoe", "zoe@example.test")
    _person(store, "u-amy", "amy@example.test")
    _person(store, "u-bob", "bob@example.test")
    store.users.set_tenant_role("u-zoe", "t-acme", TenantRole.MAINTAINER)
    store.users.set_tenant_role("u-amy", "t-acme", TenantRole.AUDITOR)
    store.users.set_tenant_role("u-amy", "t-globex", TenantRole.ADMIN)
    store.users.set_tenant_role("u-zoe", "t-acme", TenantRole.ADMIN)

    acme = store.users.list_tenant_members("t-acme")
    assert [(member.email, member.role_in("t-acme")) for member in acme] == [
        ("amy@example.test", TenantRole.AUDITOR),
        ("zoe@example.test", TenantRole.ADMIN),
    ]
    globex = store.users.list_tenant_members("t-globex")
    assert [(member.email, member.role_in("t-globex")) for member in globex] == [("amy@example.test", TenantRole.ADMIN)]
    assert store.users.list_tenant_members("missing") == []

    assert store.users.remove_tenant_role("u-amy", "t-acme") is True
    assert store.users.remove_tenant_role("u-amy", "t-acme") is False
    assert store.users.remove_tenant_role("u-bob", "t-acme") is False
    amy = store.users.get_user("u-amy")
    assert amy is not None and dict(amy.roles) == {"t-globex": TenantRole.ADMIN}
    assert [member.email for member in store.users.list_tenant_members("t-acme")] == ["zoe@example.test"]
    bob = store.users.get_user("u-bob")
    assert bob is not None and dict(bob.roles) == {}


def test_tokens_revoke_and_touch(store: MetadataBackend) -> None:
    store.tenants.add_tenant(tenant("acme"))
    store.tenants.add_tenant(tenant("globex"))
    token = ApiToken(
        id="k1",
        key_id="KEY1",
        secret_hash="s",
        tenant_id="t-acme",
        name="ci",
        scopes=frozenset({TokenScope("read"), TokenScope("publish")}),
        created_at=T0,
        created_by="admin",
        project="acme-tools",
        expires_at=T0 + timedelta(days=30),
    )
    store.tokens.add_token(token)
    assert store.tokens.get_token_by_key_id("KEY1") == token
    with pytest.raises(AlreadyExists):
        store.tokens.add_token(replace(token, id="k2"))
    assert [t.id for t in store.tokens.list_tokens("t-acme")] == ["k1"]
    assert store.tokens.list_tokens("t-globex") == []
    assert store.tokens.revoke_token("t-globex", "k1", T0) is False
    assert store.tokens.revoke_token("t-acme", "k1", T0 + timedelta(hours=1)) is True
    assert store.tokens.revoke_token("t-acme", "k1", T0 + timedelta(hours=2)) is True
    store.tokens.touch_token("k1", T0 + timedelta(hours=3))
    loaded = store.tokens.get_token_by_key_id("KEY1")
    assert loaded is not None
    assert loaded.revoked_at == T0 + timedelta(hours=1)
    assert loaded.last_used_at == T0 + timedelta(hours=3)


def test_release_files_create_project_and_release_once(store: MetadataBackend) -> None:
    store.tenants.add_tenant(tenant("acme"))
    first = publish(store, "t-acme", "Tools", "1.0")
    serial_after_first = store.catalogue.get_project("t-acme", "tools").serial  # type: ignore[union-attr]
    second = publish(store, "t-acme", "Tools", "1.0", tag="py2.py3-none-any")
    publish(store, "t-acme", "Tools", "2.0")
    stored = store.catalogue.get_project("t-acme", "tools")
    assert stored is not None and stored.name == "Tools" and stored.summary == "a package"
    assert stored.serial > serial_after_first
    assert sorted(r.version for r in store.catalogue.list_releases("t-acme", "tools")) == ["1.0", "2.0"]
    assert {f.filename for f in store.catalogue.list_files("t-acme", "tools")} == {
        first.filename,
        second.filename,
        "tools-2.0-py3-none-any.whl",
    }
    assert store.catalogue.get_file("t-acme", first.filename) == first
    assert store.catalogue.get_file("t-acme", "missing.whl") is None
    store.catalogue.add_release_file(
        project("t-acme", "Tools", summary=None), release("t-acme", "Tools", "3.0"), wheel("t-acme", "Tools", "3.0")
    )
    assert store.catalogue.get_project("t-acme", "tools").summary == "a package"  # type: ignore[union-attr]


def test_duplicate_filename_is_refused_and_leaves_no_trace(store: MetadataBackend) -> None:
    store.tenants.add_tenant(tenant("acme"))
    store.tenants.add_tenant(tenant("globex"))
    publish(store, "t-acme", "tools", "1.0")
    with pytest.raises(AlreadyExists):
        publish(store, "t-acme", "tools", "1.0", size=999)
    assert [f.size for f in store.catalogue.list_files("t-acme", "tools")] == [100]
    publish(store, "t-globex", "tools", "1.0")
    assert store.catalogue.stats().files == 2


def test_concurrent_uploads_of_one_filename_store_exactly_one(store: MetadataBackend) -> None:
    store.tenants.add_tenant(tenant("acme"))
    outcomes: list[str] = []
    barrier = threading.Barrier(6)

    def upload(size: int) -> None:
        barrier.wait()
        try:
            publish(store, "t-acme", "racer", "1.0", size=size)
            outcomes.append("stored")
        except AlreadyExists:
            outcomes.append("refused")

    run_concurrently(upload, range(1, 7))
    assert sorted(outcomes) == ["refused"] * 5 + ["stored"]
    files = store.catalogue.list_files("t-acme", "racer")
    assert len(files) == 1 and store.catalogue.get_file("t-acme", files[0].filename) == files[0]


def test_yank_is_visible_on_files_and_bumps_serial(store: MetadataBackend) -> None:
    store.tenants.add_tenant(tenant("acme"))
    file = publish(store, "t-acme", "tools", "1.0")
    before = store.catalogue.get_project("t-acme", "tools").serial  # type: ignore[union-attr]
    assert store.catalogue.set_release_yanked("t-acme", "tools", "1.0", True, "broken") is True
    assert store.catalogue.set_release_yanked("t-acme", "tools", "9.9", True, "x") is False
    yanked = store.catalogue.get_file("t-acme", file.filename)
    assert yanked is not None and yanked.yanked and yanked.yanked_reason == "broken"
    assert store.catalogue.get_project("t-acme", "tools").serial > before  # type: ignore[union-attr]
    store.catalogue.set_release_yanked("t-acme", "tools", "1.0", False, "ignored")
    restored = store.catalogue.list_files("t-acme", "tools")[0]
    assert not restored.yanked and restored.yanked_reason is None


def test_deletes_return_what_they_removed(store: MetadataBackend) -> None:
    store.tenants.add_tenant(tenant("acme"))
    a = publish(store, "t-acme", "tools", "1.0")
    publish(store, "t-acme", "tools", "1.0", tag="py2-none-any")
    publish(store, "t-acme", "tools", "2.0")
    publish(store, "t-acme", "other", "1.0")
    assert store.catalogue.delete_file("t-acme", a.filename) == a
    assert store.catalogue.delete_file("t-acme", a.filename) is None
    assert [f.version for f in store.catalogue.delete_release("t-acme", "tools", "1.0")] == ["1.0"]
    assert [r.version for r in store.catalogue.list_releases("t-acme", "tools")] == ["2.0"]
    assert [f.version for f in store.catalogue.delete_project("t-acme", "tools")] == ["2.0"]
    assert store.catalogue.get_project("t-acme", "tools") is None
    assert store.catalogue.list_releases("t-acme", "tools") == []
    assert [p.normalized_name for p in store.catalogue.list_projects("t-acme")] == ["other"]


def test_search_is_ranked_paged_and_tenant_scoped(store: MetadataBackend) -> None:
    store.tenants.add_tenant(tenant("acme"))
    store.tenants.add_tenant(tenant("globex"))
    for name in ["widget", "widget-extras", "super-widget", "unrelated"]:
        publish(store, "t-acme", name, "1.0")
    publish(store, "t-globex", "widget-secret", "1.0")
    page = store.catalogue.search_projects(["t-acme"], "Widget", limit=2, offset=0)
    assert page.total == 3
    assert [p.normalized_name for p in page.items] == ["widget", "widget-extras"]
    rest = store.catalogue.search_projects(["t-acme"], "widget", limit=2, offset=2)
    assert [p.normalized_name for p in rest.items] == ["super-widget"]
    both = store.catalogue.search_projects(["t-acme", "t-globex"], "secret", limit=10, offset=0)
    assert [p.normalized_name for p in both.items] == ["widget-secret"]
    assert store.catalogue.search_projects([], "widget", limit=10, offset=0).total == 0


def test_stats_count_everything(store: MetadataBackend) -> None:
    store.tenants.add_tenant(tenant("acme"))
    publish(store, "t-acme", "tools", "1.0", size=10)
    publish(store, "t-acme", "tools", "2.0", size=32)
    stats = store.catalogue.stats()
    assert (stats.tenants, stats.projects, stats.releases, stats.files, stats.stored_bytes) == (1, 1, 2, 2, 42)


def test_audit_events_filter_and_page_newest_first(store: MetadataBackend) -> None:
    for index in range(5):
        store.audit_log.add_audit_event(
            AuditEvent(
                id=f"e{index}",
                occurred_at=T0 + timedelta(minutes=index),
                actor="Admin@acme.test" if index % 2 else "ci-bot",
                action="token.issue" if index < 3 else "upload.file",
                target=f"target-{index}",
                tenant_id="t-acme" if index != 4 else None,
                source_ip="127.0.0.1",
                details={"n": str(index)},
            )
        )
    everything = store.audit_log.list_audit_events(AuditQuery())
    assert [e.id for e in everything.items] == ["e4", "e3", "e2", "e1", "e0"] and everything.total == 5
    assert everything.items[0].details == {"n": "4"}
    assert [e.id for e in store.audit_log.list_audit_events(AuditQuery(action="token")).items] == ["e2", "e1", "e0"]
    assert [e.id for e in store.audit_log.list_audit_events(AuditQuery(actor="admin")).items] == ["e3", "e1"]
    assert store.audit_log.list_audit_events(AuditQuery(tenant_id="t-acme")).total == 4
    page = store.audit_log.list_audit_events(AuditQuery(limit=2, offset=1))
    assert [e.id for e in page.items] == ["e3", "e2"] and page.total == 5


def test_concurrent_uploads_yanks_and_deletes_neither_deadlock_nor_lose_files(store: MetadataBackend) -> None:
    store.tenants.add_tenant(tenant("acme"))
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def worker(number: int) -> None:
        barrier.wait()
        try:
            for round_ in range(12):
                version = f"{number}.{round_}"
                publish(store, "t-acme", "busy", version)
                store.catalogue.set_release_yanked("t-acme", "busy", version, True, "bad")
                if round_ % 3 == 0:
                    removed = store.catalogue.delete_release("t-acme", "busy", version)
                    assert [f.version for f in removed] == [version]
        except BaseException as exc:
            errors.append(exc)

    run_concurrently(worker, range(4))
    assert errors == []
    files = store.catalogue.list_files("t-acme", "busy")
    assert len(files) == 4 * 8 and all(file.yanked for file in files)
    assert len(store.catalogue.list_releases("t-acme", "busy")) == 32
