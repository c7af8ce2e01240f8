"""PEP 740 provenance driven directly: attestation shape checks, the provenance object, and serving it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pyregistry_application.dto import AuditQuery
from pyregistry_application.provenance import MAX_ATTESTATIONS, ProvenanceReader, build_provenance, parse_attestations
from pyregistry_domain.errors import Forbidden, NotFound, ValidationFailed
from pyregistry_domain.tokens import ApiToken, TokenScope
from tests.support.dists import build_wheel
from tests.unit.application.test_application_without_web import App
from tests.unit.application.test_purge_provenance import ATTESTATION


def _without(path: tuple[str, ...]) -> dict[str, Any]:
    """A copy of ATTESTATION with the key at ``path`` removed."""
    copy = json.loads(json.dumps(ATTESTATION))
    parent = copy
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    return copy


def _with(path: tuple[str, ...], value: object) -> dict[str, Any]:
    copy = _without(path)
    parent = copy
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return copy


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{not json", "the form field is not valid JSON"),
        ("[]", "expected a non-empty JSON array"),
        (json.dumps(ATTESTATION), "expected a non-empty JSON array"),
        (json.dumps([ATTESTATION] * (MAX_ATTESTATIONS + 1)), f"at most {MAX_ATTESTATIONS} attestations"),
        (json.dumps([ATTESTATION, "text"]), r"\[1\] is not an object"),
        (json.dumps([_with(("version",), 2)]), r"\[0\]\.version must be 1"),
        (json.dumps([_without(("verification_material",))]), r"\[0\]\.verification_material must be a non-empty dict"),
        (
            json.dumps([_with(("verification_material", "certificate"), "")]),
            r"\[0\]\.verification_material\.certificate must be a non-empty str",
        ),
        (
            json.dumps([_with(("verification_material", "transparency_entries"), {})]),
            r"transparency_entries must be a non-empty list",
        ),
        (json.dumps([_with(("envelope",), [])]), r"\[0\]\.envelope must be a non-empty dict"),
        (json.dumps([_without(("envelope", "signature"))]), r"\[0\]\.envelope\.signature must be a non-empty str"),
    ],
)
def test_malformed_attestations_are_refused_with_the_failing_field(raw: str, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        parse_attestations(raw)


def test_well_formed_attestations_are_returned_and_absence_is_none() -> None:
    assert parse_attestations(None) is None
    assert parse_attestations(json.dumps([ATTESTATION, ATTESTATION])) == [ATTESTATION, ATTESTATION]


def _token(minted_by_publisher: str | None) -> ApiToken:
    return ApiToken(
        id="t1",
        key_id="k1",
        secret_hash="0" * 64,
        tenant_id="acme",
        name="release-ci",
        scopes=frozenset({TokenScope.PUBLISH}),
        created_at=datetime.now(UTC),
        created_by="test",
        minted_by_publisher=minted_by_publisher,
    )


@pytest.mark.parametrize(
    ("described", "publisher"),
    [
        ('{"kind": "GitHub", "repository": "acme/tools"}', {"kind": "GitHub", "repository": "acme/tools"}),
        (None, {"kind": "pyregistry-token", "token_name": "release-ci"}),
        ("{broken", {"kind": "pyregistry-token", "token_name": "release-ci"}),
        ('["GitHub"]', {"kind": "pyregistry-token", "token_name": "release-ci"}),
    ],
)
def test_the_bundle_publisher_is_the_uploading_identity(described: str | None, publisher: dict[str, str]) -> None:
    provenance = json.loads(build_provenance([ATTESTATION], _token(described)))
    assert provenance == {
        "version": 1,
        "attestation_bundles": [{"publisher": publisher, "attestations": [ATTESTATION]}],
    }


@pytest.fixture
def app(tmp_path: Path) -> App:
    application = App(tmp_path)
    for slug in ("acme", "other"):
        application.tenants.create_tenant(
            slug=slug, display_name=slug, admin_email=None, admin_password=None, mirroring_enabled=False, actor="t"
        )
    return application


def test_provenance_of_an_attested_upload_is_served_to_readers_of_the_tenant(app: App, tmp_path: Path) -> None:
    descriptor = {"kind": "GitHub", "repository": "acme/widget", "workflow": "release.yml", "publisher_id": "p1"}
    publisher = app.tokens.issue(
        tenant_slug="acme",
        name="oidc github:acme/widget/release.yml",
        scopes=["publish"],
        project="widget",
        actor="publisher:github:acme/widget/release.yml",
        minted_by_publisher=json.dumps(descriptor, sort_keys=True),
    )
    reader = app.tokens.issue(tenant_slug="acme", name="pip", scopes=["read"], actor="t")
    attested = build_wheel(tmp_path / "attested", "Widget", "1.0")
    app.upload("acme", publisher.secret, attested, "Widget", "1.0", {"attestations": [json.dumps([ATTESTATION])]})
    plain = build_wheel(tmp_path / "plain", "Widget", "2.0")
    app.upload("acme", publisher.secret, plain, "Widget", "2.0")

    provenance = ProvenanceReader(app.store.catalogue, app.storage, app.access)
    served_bytes = provenance.provenance("acme", reader.secret, "WIDGET", "1.0", attested.name)
    served = json.loads(served_bytes)
    assert served["attestation_bundles"] == [{"publisher": descriptor, "attestations": [ATTESTATION]}]
    [upload] = app.audit.query(AuditQuery(action="package.upload", limit=1)).items
    assert json.loads(upload.details["publisher"]) == descriptor

    with pytest.raises(NotFound, match="has no provenance"):
        provenance.provenance("acme", reader.secret, "widget", "2.0", plain.name)
    for project, version, filename in (
        ("widget", "2.0", attested.name),
        ("gadget", "1.0", attested.name),
        ("widget", "1.0", "widget-1.0-py2-none-any.whl"),
    ):
        with pytest.raises(NotFound, match="is not a file of"):
            provenance.provenance("acme", reader.secret, project, version, filename)
    assert provenance.provenance("acme", publisher.secret, "widget", "1.0", attested.name) == served_bytes
    with pytest.raises(Forbidden, match="limited to project 'widget'"):
        provenance.provenance("acme", publisher.secret, "gadget", "1.0", attested.name)
    stranger = app.tokens.issue(tenant_slug="other", name="pip", scopes=["read"], actor="t")
    with pytest.raises(Forbidden, match="another tenant"):
        provenance.provenance("acme", stranger.secret, "widget", "1.0", attested.name)
