"""Two tenants with the same project names: every read and write of the MetadataBackend sees only its own tenant."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pyregistry_application.dto import AuditQuery
from pyregistry_application.metadata_backend import MetadataBackend
from pyregistry_domain.audit import AuditEvent
from pyregistry_domain.tokens import ApiToken, TokenScope
from tests.contract.conftest import STORE_PARAMS
from tests.contract.metadata_builders import T0, publish, tenant

pytestmark = pytest.mark.parametrize("store_location", STORE_PARAMS, indirect=True)


def token(tenant_id: str, number: int) -> ApiToken:
    return ApiToken(
        id=f"tok-{tenant_id}",
        key_id=f"KEY{number}",
        secret_hash=f"hash-{number}",
        tenant_id=tenant_id,
        name="ci",
        scopes=frozenset({TokenScope("read")}),
        created_at=T0,
        created_by="admin",
    )


@pytest.fixture
def two_tenants(store: MetadataBackend) -> MetadataBackend:
    """acme and globex both publish ``shared`` (1.0 and 2.0 / 1.0 only) and one project of their own."""
    store.tenants.add_tenant(tenant("acme"))
    store.tenants.add_tenant(tenant("globex"))
    publish(store, "t-acme", "shared", "1.0", size=11)
    publish(store, "t-acme", "shared", "2.0", size=12)
    publish(store, "t-acme", "acme-only", "1.0", size=13)
    publish(store, "t-globex", "shared", "1.0", size=21)
    publish(store, "t-globex", "globex-only", "3.0", size=22)
    store.tokens.add_token(token("t-acme", 1))
    store.tokens.add_token(token("t-globex", 2))
    return store


def test_reads_see_only_their_tenant(two_tenants: MetadataBackend) -> None:
    store = two_tenants
    assert [p.normalized_name for p in store.catalogue.list_projects("t-acme")] == ["acme-only", "shared"]
    assert [p.normalized_name for p in store.catalogue.list_projects("t-globex")] == ["globex-only", "shared"]
    assert [(p.tenant_id, p.normalized_name) for p in [store.catalogue.get_project("t-globex", "shared")] if p] == [
        ("t-globex", "shared")
    ]
    assert store.catalogue.get_project("t-globex", "acme-only") is None
    assert [r.version for r in store.catalogue.list_releases("t-acme", "shared")] == ["1.0", "2.0"]
    assert [r.version for r in store.catalogue.list_releases("t-globex", "shared")] == ["1.0"]
    assert [(f.tenant_id, f.size) for f in store.catalogue.list_files("t-acme", "shared")] == [
        ("t-acme", 11),
        ("t-acme", 12),
    ]
    assert [(f.tenant_id, f.size) for f in store.catalogue.list_files("t-globex", "shared")] == [("t-globex", 21)]
    filename = store.catalogue.list_files("t-acme", "shared")[0].filename
    assert [(f.tenant_id, f.size) for f in [store.catalogue.get_file("t-globex", filename)] if f] == [("t-globex", 21)]
    assert store.catalogue.get_file("t-globex", "acme_only-1.0-py3-none-any.whl") is None
    assert store.catalogue.get_file("t-globex", store.catalogue.list_files("t-acme", "acme-only")[0].filename) is None
    assert [t.id for t in store.tokens.list_tokens("t-acme")] == ["tok-t-acme"]
    assert [t.id for t in store.tokens.list_tokens("t-globex")] == ["tok-t-globex"]
    found = store.catalogue.search_projects(["t-globex"], "only", limit=10, offset=0)
    assert (found.total, [p.normalized_name for p in found.items]) == (1, ["globex-only"])


def test_writes_touch_only_their_tenant(two_tenants: MetadataBackend) -> None:
    store = two_tenants
    assert store.catalogue.set_release_yanked("t-globex", "shared", "2.0", True, "no such release here") is False
    assert store.catalogue.set_release_yanked("t-globex", "shared", "1.0", True, "globex only") is True
    assert [f.yanked for f in store.catalogue.list_files("t-acme", "shared")] == [False, False]
    assert [f.yanked_reason for f in store.catalogue.list_files("t-globex", "shared")] == ["globex only"]
    assert store.tokens.revoke_token("t-globex", "tok-t-acme", T0 + timedelta(hours=1)) is False
    assert [t.revoked_at for t in store.tokens.list_tokens("t-acme")] == [None]
    acme_file = store.catalogue.list_files("t-acme", "acme-only")[0].filename
    assert store.catalogue.delete_file("t-globex", acme_file) is None
    assert [f.size for f in store.catalogue.delete_release("t-globex", "shared", "1.0")] == [21]
    assert [f.size for f in store.catalogue.list_files("t-acme", "shared")] == [11, 12]
    assert store.catalogue.delete_release("t-globex", "acme-only", "1.0") == []
    assert [f.size for f in store.catalogue.delete_project("t-acme", "shared")] == [11, 12]
    assert [p.normalized_name for p in store.catalogue.list_projects("t-globex")] == ["globex-only", "shared"]
    assert store.catalogue.delete_project("t-acme", "globex-only") == []
    assert [p.normalized_name for p in store.catalogue.list_projects("t-acme")] == ["acme-only"]


def test_audit_trail_filters_by_tenant(store: MetadataBackend) -> None:
    for number, tenant_id in enumerate(["t-acme", "t-globex", None]):
        store.audit_log.add_audit_event(
            AuditEvent(
                id=f"e{number}",
                occurred_at=T0 + timedelta(minutes=number),
                actor="admin",
                action="token.issue",
                target=f"target-{number}",
                tenant_id=tenant_id,
            )
        )
    acme = store.audit_log.list_audit_events(AuditQuery(tenant_id="t-acme"))
    assert (acme.total, [e.id for e in acme.items]) == (1, ["e0"])
    everyone = store.audit_log.list_audit_events(AuditQuery())
    assert (everyone.total, [e.id for e in everyone.items]) == (3, ["e2", "e1", "e0"])
