"""The checks made before an upload's body is read, and their audit entries, driven without the web layer."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyregistry_application.dto import AuditQuery
from pyregistry_application.upload_gate import REFUSED_ACTION
from pyregistry_domain.errors import (
    AlreadyExists,
    DomainError,
    Forbidden,
    InvalidToken,
    Unauthenticated,
    ValidationFailed,
)
from tests.support.dists import build_wheel
from tests.unit.application.test_application_without_web import App, app

__all__ = ["app"]


def _issue(app: App, tenant: str, name: str, *scopes: str, project: str | None = None) -> str:
    return app.tokens.issue(tenant_slug=tenant, name=name, scopes=list(scopes), project=project, actor="test").secret


@pytest.mark.parametrize(
    ("case", "error", "reason", "actor", "target", "audited_tenant"),
    [
        ("read-only", Forbidden, "this token lacks the 'publish' scope", "token:reader", "acme", "acme"),
        ("other-tenant", Forbidden, "this token belongs to another tenant", "token:foreign", "acme", "acme"),
        ("unknown-tenant", Forbidden, "this token belongs to another tenant", "token:ci", "nowhere", None),
        ("no-token", Unauthenticated, "authentication required", "anonymous", "acme", "acme"),
        ("bad-token", InvalidToken, "the token is not valid", "anonymous", "acme", "acme"),
    ],
)
def test_every_refusal_is_raised_and_audited(
    app: App,
    case: str,
    error: type[DomainError],
    reason: str,
    actor: str,
    target: str,
    audited_tenant: str | None,
) -> None:
    secrets = {
        "read-only": _issue(app, "acme", "reader", "read"),
        "other-tenant": _issue(app, "other", "foreign", "publish"),
        "unknown-tenant": _issue(app, "acme", "ci", "publish"),
        "no-token": None,
        "bad-token": "pyr_AAAAAAAAAAAA_" + "A" * 43,
    }
    with pytest.raises(error) as refused:
        app.uploads.gate.admit(target, secrets[case], "192.0.2.7")
    assert refused.value.message.startswith(reason)
    [event] = app.audit.query(AuditQuery(action=REFUSED_ACTION)).items
    assert (event.actor, event.target, event.source_ip) == (actor, target, "192.0.2.7")
    assert event.details["reason"] == refused.value.message
    tenant = app.store.tenants.get_tenant_by_slug(audited_tenant) if audited_tenant else None
    assert event.tenant_id == (tenant.id if tenant else None)
    assert ("token_id" in event.details) is (actor != "anonymous")
    assert str(secrets[case]) not in repr(event)


def test_a_publish_token_is_admitted_without_an_audit_entry(app: App) -> None:
    permit = app.uploads.gate.admit("acme", _issue(app, "acme", "ci", "publish"), None)
    assert permit.tenant.slug == "acme"
    assert not permit.needs_project_name
    permit.check_project("anything")
    permit.check_file_may_start({})
    assert app.audit.query(AuditQuery(action=REFUSED_ACTION)).items == []


def test_a_project_scoped_token_is_checked_against_the_form(app: App) -> None:
    permit = app.uploads.gate.admit("acme", _issue(app, "acme", "scoped", "publish", project="allowed-pkg"), None)
    assert permit.needs_project_name
    permit.check_project(" Allowed_Pkg ")
    with pytest.raises(Forbidden, match="this token is limited to project 'allowed-pkg'"):
        permit.check_project("other-pkg")
    with pytest.raises(ValidationFailed, match="send the form's 'name' field before the 'content' file"):
        permit.check_file_may_start({"version": ["1.0"]})
    permit.check_file_may_start({"name": ["allowed-pkg"]})


def test_the_same_wheel_under_another_spelling_is_refused_naming_the_original(app: App, tmp_path: Path) -> None:
    token = _issue(app, "acme", "ci", "publish")
    original = build_wheel(tmp_path / "a", "immut", "1.0")
    app.upload("acme", token, original, "immut", "1.0")
    other = build_wheel(tmp_path / "b", "immut", "1.0", summary="other bytes")
    renamed = other.rename(other.with_name("Immut-1.0-py3-none-any.whl"))
    blobs = sorted(app.storage.list_keys())
    with pytest.raises(AlreadyExists) as refused:
        app.upload("acme", token, renamed, "immut", "1.0")
    assert refused.value.message.startswith(
        "File already exists: 'Immut-1.0-py3-none-any.whl' is the same wheel as 'immut-1.0-py3-none-any.whl'"
    )
    assert sorted(app.storage.list_keys()) == blobs
