"""Granting and revoking tenant roles, and signing someone out everywhere, over the in-memory adapters."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pyregistry_application.admin_access import AdminAuthorization
from pyregistry_application.audit import AuditTrail
from pyregistry_application.dto import AuditQuery
from pyregistry_application.metadata_backend import MetadataBackend
from pyregistry_application.session_revocation import SessionRevocation
from pyregistry_application.tenant_people import Member, RoleChange, TenantPeople
from pyregistry_domain.errors import Forbidden, NotFound, ValidationFailed
from pyregistry_domain.roles import Permission, TenantRole
from pyregistry_domain.sessions import AdminSession
from pyregistry_domain.tenants import new_tenant
from pyregistry_domain.users import User
from pyregistry_infrastructure.metadata_stores.memory_backend import memory_backend
from pyregistry_infrastructure.metadata_stores.memory_sessions import MemoryAdminSessionStore
from pyregistry_infrastructure.system import RandomIds, ScryptPasswordHasher, SystemClock

CLOCK = SystemClock()


@pytest.fixture
def store() -> MetadataBackend:
    store = memory_backend()
    store.tenants.add_tenant(new_tenant("t-acme", "acme", "Acme", False, CLOCK.now()))
    store.tenants.add_tenant(new_tenant("t-globex", "globex", "Globex", False, CLOCK.now()))
    store.users.add_user(
        User(id="root", email="root@x.test", password_hash="h", is_superadmin=True, created_at=CLOCK.now())
    )
    return store


def _people(store: MetadataBackend) -> TenantPeople:
    return TenantPeople(
        store.tenants,
        store.users,
        CLOCK,
        RandomIds(),
        ScryptPasswordHasher(),
        AuditTrail(store.audit_log, CLOCK, RandomIds()),
    )


def _events(store: MetadataBackend) -> list[tuple[str, str, str | None, dict[str, str]]]:
    events = store.audit_log.list_audit_events(AuditQuery(limit=50)).items
    return [(event.action, event.target, event.tenant_id, dict(event.details)) for event in reversed(events)]


def test_grant_creates_the_account_then_changes_and_revokes_the_role(store: MetadataBackend) -> None:
    people = _people(store)
    created = people.grant(
        tenant_slug="acme", email=" Dev@X.test ", role="auditor", password="dev-password", actor="boss@x.test"
    )
    assert created == RoleChange(
        tenant="acme", email="dev@x.test", role=TenantRole.AUDITOR, previous=None, account_created=True
    )
    dev = store.users.get_user_by_email("dev@x.test")
    assert dev is not None and ScryptPasswordHasher().verify(dev.password_hash, "dev-password")
    changed = people.grant(tenant_slug="acme", email="dev@x.test", role="MAINTAINER", password="ignored", actor="cli")
    assert (changed.role, changed.previous, changed.account_created) == (
        TenantRole.MAINTAINER,
        TenantRole.AUDITOR,
        False,
    )
    kept = store.users.get_user_by_email("dev@x.test")
    assert kept is not None and kept.password_hash == dev.password_hash
    people.grant(tenant_slug="globex", email="dev@x.test", role="admin", password=None, actor="cli")
    assert people.members("acme") == [Member(email="dev@x.test", role=TenantRole.MAINTAINER)]
    assert people.members("globex") == [Member(email="dev@x.test", role=TenantRole.ADMIN)]

    revoked = people.revoke(tenant_slug="acme", email="dev@x.test", actor="cli", source_ip="10.0.0.1")
    assert revoked == RoleChange(tenant="acme", email="dev@x.test", role=None, previous=TenantRole.MAINTAINER)
    assert people.members("acme") == []
    with pytest.raises(NotFound) as missing:
        people.revoke(tenant_slug="acme", email="dev@x.test", actor="cli")
    assert missing.value.message == "dev@x.test has no role in tenant 'acme'"
    assert _events(store) == [
        ("role.grant", "user:dev@x.test", "t-acme", {"role": "auditor", "previous": "", "account": "created"}),
        ("role.grant", "user:dev@x.test", "t-acme", {"role": "maintainer", "previous": "auditor"}),
        ("role.grant", "user:dev@x.test", "t-globex", {"role": "admin", "previous": ""}),
        ("role.revoke", "user:dev@x.test", "t-acme", {"role": "maintainer"}),
    ]


@pytest.mark.parametrize(
    ("tenant", "email", "role", "password", "actor", "error", "message"),
    [
        ("nowhere", "a@x.test", "admin", "password-1", "cli", NotFound, "tenant 'nowhere' does not exist"),
        ("acme", "nobody", "admin", "password-1", "cli", ValidationFailed, "'nobody' is not an email address"),
        ("acme", "a@x.test", "owner", "password-1", "cli", ValidationFailed,
         "unknown role 'owner': choose one of admin, maintainer, auditor"),
        ("acme", "a@x.test", "admin", None, "cli", ValidationFailed,
         "a@x.test has no account yet: give a password (at least 8 characters)"),
        ("acme", "a@x.test", "admin", "short", "cli", ValidationFailed, "password must have at least 8 characters"),
        ("acme", "root@x.test", "auditor", None, "cli", ValidationFailed,
         "root@x.test is the superadmin, who may do everything in every tenant"),
        ("acme", "boss@x.test", "auditor", None, "Boss@X.test", ValidationFailed,
         "you cannot change your own role; ask another admin of this tenant"),
    ],
)  # fmt: skip
def test_grant_refusals_store_nothing(
    store: MetadataBackend,
    tenant: str,
    email: str,
    role: str,
    password: str | None,
    actor: str,
    error: type[Exception],
    message: str,
) -> None:
    people = _people(store)
    with pytest.raises(error) as refused:
        people.grant(tenant_slug=tenant, email=email, role=role, password=password, actor=actor)
    assert refused.value.message == message  # type: ignore[attr-defined]
    assert store.users.get_user_by_email("a@x.test") is None
    assert people.members("acme") == [] and _events(store) == []


def test_revoke_sessions_ends_every_active_session_of_one_account(store: MetadataBackend) -> None:
    sessions = MemoryAdminSessionStore()
    now = CLOCK.now()
    for index, user_id in enumerate(["root", "root", "other"]):
        sessions.add_session(AdminSession(f"h{index}", user_id, now, now + timedelta(hours=1)), now)
    revocation = SessionRevocation(store.users, sessions, CLOCK, AuditTrail(store.audit_log, CLOCK, RandomIds()))
    assert revocation.revoke("Root@X.test", actor="cli") == 2
    assert [sessions.get_session(f"h{index}").revoked_at is not None for index in range(3)] == [True, True, False]  # type: ignore[union-attr]
    assert revocation.revoke("root@x.test", actor="cli") == 0
    with pytest.raises(NotFound) as unknown:
        revocation.revoke("ghost@x.test", actor="cli")
    assert unknown.value.message == "there is no account 'ghost@x.test'"
    assert [(action, target, details) for action, target, _, details in _events(store)] == [
        ("admin.sessions.revoke", "user:root@x.test", {"sessions": "2"}),
        ("admin.sessions.revoke", "user:root@x.test", {"sessions": "0"}),
    ]


def test_authorization_names_the_role_that_lacks_the_permission(store: MetadataBackend) -> None:
    _people(store).grant(tenant_slug="acme", email="aud@x.test", role="auditor", password="aud-password", actor="cli")
    auditor = store.users.get_user_by_email("aud@x.test")
    assert auditor is not None
    authorization = AdminAuthorization(store.tenants)
    assert authorization.tenant_for(auditor, "acme").slug == "acme"
    with pytest.raises(Forbidden) as refused:
        authorization.tenant_for(auditor, "acme", Permission.YANK)
    assert refused.value.message == "your role in acme (auditor) does not allow releases.yank"
    with pytest.raises(Forbidden) as elsewhere:
        authorization.tenant_for(auditor, "globex")
    assert elsewhere.value.message == "you have no role in this tenant"
    assert [tenant.slug for tenant in authorization.visible_tenants(auditor)] == ["acme"]
