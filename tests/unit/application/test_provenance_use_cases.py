"""PEP 740 provenance driven directly: attestation shape checks, the provenance object, and serving it."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pyregistry_application.dto import AuditQuery
from pyregistry_application.provenance import MAX_ATTESTATIONS, ProvenanceReader, build_provenance, parse_attestations
from pyregistry_domain.errors import Forbidden, NotFound, ValidationFailed
from pyregistry_domain.tokens import ApiToken, TokenScope
from tests.support.attestations import flipped_signature, gitlab_attested, needs_attestations
from tests.support.dists import build_wheel
from tests.unit.application.test_application_without_web import App

ATTESTATION = {
    "version": 1,
    "verification_material": {"certificate": base64.b64encode(b"cert").decode(), "transparency_entries": [{}]},
    "envelope": {"statement": base64.b64encode(b"{}").decode(), "signature": base64.b64encode(b"sig").decode()},
}
"""Well-shaped but not signed: passes the shape check, fails verification."""


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


@needs_attestations
def test_provenance_of_an_attested_upload_is_served_to_readers_of_the_tenant(app: App, tmp_path: Path) -> None:
    attested = gitlab_attested()
    descriptor = {
        "kind": "GitLab",
        "repository": "facutuesca/gitlab-oidc-project",
        "workflow": ".gitlab-ci.yml",
        "publisher_id": "p1",
        "claims": {"iss": "https://gitlab.com"},
    }
    publisher = app.tokens.issue(
        tenant_slug="acme",
        name="oidc gitlab:facutuesca/gitlab-oidc-project/.gitlab-ci.yml",
        scopes=["publish"],
        project="gitlab-oidc-project",
        actor="publisher:gitlab:facutuesca/gitlab-oidc-project/.gitlab-ci.yml",
        minted_by_publisher=json.dumps(descriptor, sort_keys=True),
    )
    reader = app.tokens.issue(tenant_slug="acme", name="pip", scopes=["read"], actor="t")
    attestations = {"attestations": [json.dumps([attested.attestation])]}
    app.upload("acme", publisher.secret, attested.path, "gitlab-oidc-project", "0.0.3", attestations)
    plain = build_wheel(tmp_path / "plain", "gitlab-oidc-project", "2.0")
    app.upload("acme", publisher.secret, plain, "gitlab-oidc-project", "2.0")

    provenance = ProvenanceReader(app.store.catalogue, app.storage, app.access)
    served_bytes = provenance.provenance("acme", reader.secret, "GITLAB_OIDC_PROJECT", "0.0.3", attested.filename)
    served = json.loads(served_bytes)
    assert served["attestation_bundles"] == [{"publisher": descriptor, "attestations": [attested.attestation]}]
    [upload] = [
        entry
        for entry in app.audit.query(AuditQuery(action="package.upload")).items
        if entry.target.startswith("gitlab-oidc-project==0.0.3/")
    ]
    assert json.loads(upload.details["publisher"]) == descriptor
    assert upload.details["attested_by"] == "gitlab:facutuesca/gitlab-oidc-project/.gitlab-ci.yml"

    with pytest.raises(NotFound, match="has no provenance"):
        provenance.provenance("acme", reader.secret, "gitlab-oidc-project", "2.0", plain.name)
    for project, version, filename in (
        ("gitlab-oidc-project", "2.0", attested.filename),
        ("gadget", "0.0.3", attested.filename),
        ("gitlab-oidc-project", "0.0.3", "gitlab_oidc_project-0.0.3-py2-none-any.whl"),
    ):
        with pytest.raises(NotFound, match="is not a file of"):
            provenance.provenance("acme", reader.secret, project, version, filename)
    assert provenance.provenance("acme", publisher.secret, "gitlab-oidc-project", "0.0.3", attested.filename) == (
        served_bytes
    )
    with pytest.raises(Forbidden, match="limited to project 'gitlab-oidc-project'"):
        provenance.provenance("acme", publisher.secret, "gadget", "0.0.3", attested.filename)
    stranger = app.tokens.issue(tenant_slug="other", name="pip", scopes=["read"], actor="t")
    with pytest.raises(Forbidden, match="another tenant"):
        provenance.provenance("acme", stranger.secret, "gitlab-oidc-project", "0.0.3", attested.filename)


@needs_attestations
@pytest.mark.parametrize("case", ["unsigned", "flipped signature", "wrong publisher", "wrong file"])
def test_an_attestation_that_does_not_verify_is_refused_and_stores_nothing(app: App, tmp_path: Path, case: str) -> None:
    attested = gitlab_attested()
    project, path, attestation = "gitlab-oidc-project", attested.path, attested.attestation
    descriptor = {"kind": "GitLab", "repository": "facutuesca/gitlab-oidc-project", "workflow": ".gitlab-ci.yml"}
    if case == "unsigned":
        attestation = ATTESTATION
    elif case == "flipped signature":
        attestation = flipped_signature(attestation)
    elif case == "wrong publisher":
        descriptor["workflow"] = "release.gitlab-ci.yml"
    else:
        path = build_wheel(tmp_path, project, "0.0.3")
    publisher = app.tokens.issue(
        tenant_slug="acme",
        name="oidc",
        scopes=["publish"],
        project=project,
        actor="publisher",
        minted_by_publisher=json.dumps(descriptor),
    )
    with pytest.raises(ValidationFailed, match=r"^attestations: \[0\] "):
        app.upload("acme", publisher.secret, path, project, "0.0.3", {"attestations": [json.dumps([attestation])]})
    tenant = app.store.tenants.get_tenant_by_slug("acme")
    assert tenant is not None
    assert app.store.catalogue.list_files(tenant.id, project) == []
    assert list(app.storage.list_keys()) == []
    assert app.audit.query(AuditQuery(action="package.upload")).items == []


@needs_attestations
def test_a_plain_token_upload_records_the_verified_signer_as_publisher(app: App) -> None:
    attested = gitlab_attested()
    token = app.tokens.issue(tenant_slug="acme", name="ci", scopes=["publish"], actor="t")
    attestations = {"attestations": [json.dumps([attested.attestation])]}
    app.upload("acme", token.secret, attested.path, "gitlab-oidc-project", "0.0.3", attestations)
    reader = ProvenanceReader(app.store.catalogue, app.storage, app.access)
    served = json.loads(reader.provenance("acme", token.secret, "gitlab-oidc-project", "0.0.3", attested.filename))
    assert served["attestation_bundles"][0]["publisher"] == {
        "kind": "GitLab",
        "repository": "facutuesca/gitlab-oidc-project",
        "workflow_filepath": ".gitlab-ci.yml",
    }
