"""The UserStore contract (accounts and tenant roles), held by every backend."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pyregistry_application.metadata_backend import MetadataBackend
from pyregistry_domain.errors import AlreadyExists, NotFound
from pyregistry_domain.roles import TenantRole
from pyregistry_domain.users import User
from tests.contract.conftest import STORE_PARAMS
from tests.contract.metadata_builders import T0, tenant

pytestmark = pytest.mark.parametrize("store_location", STORE_PARAMS, indirect=True)


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
