"""The AuditLog contract, held by every backend."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pyregistry_application.dto import AuditQuery
from pyregistry_application.metadata_backend import MetadataBackend
from pyregistry_domain.audit import AuditEvent
from tests.contract.conftest import STORE_PARAMS
from tests.contract.metadata_builders import T0

pytestmark = pytest.mark.parametrize("store_location", STORE_PARAMS, indirect=True)


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
