"""The TokenStore contract, held by every backend."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from pyregistry_application.metadata_backend import MetadataBackend
from pyregistry_domain.errors import AlreadyExists
from pyregistry_domain.tokens import ApiToken, TokenScope
from tests.contract.conftest import STORE_PARAMS
from tests.contract.metadata_builders import T0, tenant

pytestmark = pytest.mark.parametrize("store_location", STORE_PARAMS, indirect=True)


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
