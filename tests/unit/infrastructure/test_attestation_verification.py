"""Real PEP 740 attestations verified offline against sigstore's bundled trust root; tampered ones are refused."""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat import asn1
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID, ObjectIdentifier
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyregistry_domain.errors import ValidationFailed
from pyregistry_domain.provenance import PublisherIdentity
from pyregistry_infrastructure.sigstore_attestations import (
    SigstoreAttestationVerifier,
    bundled_trusted_root_path,
    certificate_identity,
)
from tests.support.attestations import Attested, flipped_signature, github_attested, gitlab_attested, needs_attestations

pytestmark = needs_attestations
VERIFIER = SigstoreAttestationVerifier()


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Verification must not open a socket (no TUF refresh, no Rekor lookup)."""

    def refuse(*args: Any, **kwargs: Any) -> socket.socket:
        raise AssertionError("attestation verification tried to use the network")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    yield


@pytest.fixture(params=["github", "gitlab"])
def attested(request: pytest.FixtureRequest) -> Attested:
    return github_attested() if request.param == "github" else gitlab_attested()


def test_the_trust_root_is_the_copy_inside_the_sigstore_package() -> None:
    path = bundled_trusted_root_path()
    assert "site-packages/sigstore/_store/" in path and path.endswith("trusted_root.json")
    assert json.loads(Path(path).read_text(encoding="utf-8"))["mediaType"].startswith("application/vnd.dev.sigstore")


def test_a_real_attestation_verifies_and_names_its_publisher(attested: Attested) -> None:
    signer = VERIFIER.verify([attested.attestation], attested.filename, attested.sha256, None)
    assert signer == attested.publisher
    assert VERIFIER.verify([attested.attestation], attested.filename, attested.sha256, attested.publisher) == signer


def test_the_expected_publisher_matches_a_github_repository_in_any_case() -> None:
    attested = github_attested()
    shouting = replace(attested.publisher, repository=attested.publisher.repository.upper())
    assert VERIFIER.verify([attested.attestation], attested.filename, attested.sha256, shouting).identity == (
        "github:trailofbits/pypi-attestations/release.yml"
    )


def test_another_distribution_is_refused(attested: Attested) -> None:
    with pytest.raises(ValidationFailed, match=r"attestations: \[0\] signs '.*', not 'other_project-0.0.3.tar.gz'"):
        VERIFIER.verify([attested.attestation], "other_project-0.0.3.tar.gz", attested.sha256, None)
    renamed = attested.filename.replace(".tar.gz", ".zip")
    with pytest.raises(ValidationFailed, match="signs"):
        VERIFIER.verify([attested.attestation], renamed, attested.sha256, None)


def test_other_content_under_the_same_name_is_refused(attested: Attested) -> None:
    with pytest.raises(ValidationFailed, match="signs another sha256"):
        VERIFIER.verify([attested.attestation], attested.filename, "0" * 64, None)


def test_a_flipped_signature_byte_is_refused(attested: Attested) -> None:
    with pytest.raises(ValidationFailed, match="failed Sigstore verification: DSSE: invalid signature"):
        VERIFIER.verify([flipped_signature(attested.attestation)], attested.filename, attested.sha256, None)


@pytest.mark.parametrize(
    "change",
    [
        {"workflow": "other.yml"},
        {"repository": "someone/else"},
        {"issuer": "https://gitlab.example.test"},
    ],
)
def test_another_workflow_identity_is_refused(attested: Attested, change: dict[str, str]) -> None:
    expected = replace(attested.publisher, **change)
    with pytest.raises(ValidationFailed, match=f"signed by {attested.publisher.identity}, but the upload was"):
        VERIFIER.verify([attested.attestation], attested.filename, attested.sha256, expected)


def test_a_github_certificate_is_not_a_gitlab_publisher() -> None:
    attested = github_attested()
    expected = PublisherIdentity("GitLab", "https://gitlab.com", "trailofbits/pypi-attestations", "release.yml")
    with pytest.raises(ValidationFailed, match="but the upload was authenticated as gitlab:"):
        VERIFIER.verify([attested.attestation], attested.filename, attested.sha256, expected)


def test_attestations_from_two_identities_are_refused() -> None:
    github, gitlab = github_attested(), gitlab_attested()
    with pytest.raises(ValidationFailed, match=r"\[1\] signs"):
        VERIFIER.verify([github.attestation, gitlab.attestation], github.filename, github.sha256, None)


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda a: {**a, "version": 2}, "is not a valid attestation"),
        (
            lambda a: {**a, "verification_material": {**a["verification_material"], "certificate": "AAAA"}},
            "not a valid",
        ),
        (
            lambda a: {**a, "verification_material": {**a["verification_material"], "transparency_entries": [{}]}},
            "not a valid attestation",
        ),
        (lambda a: {**a, "envelope": {**a["envelope"], "statement": "e30="}}, "failed Sigstore verification"),
    ],
)
def test_malformed_material_is_a_clear_refusal(mangle: Any, message: str) -> None:
    attested = github_attested()
    with pytest.raises(ValidationFailed, match=message):
        VERIFIER.verify([mangle(attested.attestation)], attested.filename, attested.sha256, None)


def test_a_name_that_is_no_distribution_is_refused() -> None:
    attested = github_attested()
    with pytest.raises(ValidationFailed, match="is not a wheel or sdist filename"):
        VERIFIER.verify([attested.attestation], "setup.py", attested.sha256, None)


def test_no_attestations_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="attestations: none given"):
        VERIFIER.verify([], "demo-1.0.tar.gz", "0" * 64, None)


def _certificate(extensions: dict[str, str]) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(datetime(2026, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2026, 1, 2, tzinfo=UTC))
    )
    for oid, value in extensions.items():
        der = asn1.encode_der(value)
        builder = builder.add_extension(x509.UnrecognizedExtension(ObjectIdentifier(oid), der), critical=False)
    return builder.sign(key, hashes.SHA256())


ISSUER_OID, SOURCE_OID, CONFIG_OID = "1.3.6.1.4.1.57264.1.8", "1.3.6.1.4.1.57264.1.12", "1.3.6.1.4.1.57264.1.18"


@pytest.mark.parametrize(
    ("extensions", "result"),
    [
        ({}, "names no CI workflow"),
        ({ISSUER_OID: "https://token.actions.githubusercontent.com"}, "names no CI workflow"),
        (
            {
                ISSUER_OID: "https://token.actions.githubusercontent.com",
                SOURCE_OID: "https://github.com/acme/tools",
                CONFIG_OID: "https://github.com/acme/tools/.github/workflows/release.yml@refs/tags/v1",
            },
            "github:acme/tools/release.yml",
        ),
        (
            {
                ISSUER_OID: "https://gitlab.example.test",
                SOURCE_OID: "https://gitlab.example.test/group/sub/tools",
                CONFIG_OID: "https://gitlab.example.test/group/sub/tools//ci/release.yml@refs/heads/main",
            },
            "gitlab@https://gitlab.example.test:group/sub/tools/ci/release.yml",
        ),
        (
            {
                ISSUER_OID: "https://accounts.example",
                SOURCE_OID: "https://git.example/acme/tools",
                CONFIG_OID: "https://ci.example/pipelines/7@main",
            },
            "is not a GitHub or GitLab workflow",
        ),
    ],
)
def test_the_certificate_names_its_workflow_or_is_refused(extensions: dict[str, str], result: str) -> None:
    certificate = _certificate(extensions)
    if result.startswith(("github", "gitlab")):
        assert certificate_identity(certificate).identity == result
    else:
        with pytest.raises(ValidationFailed, match=result):
            certificate_identity(certificate)


@pytest.mark.parametrize(
    ("described", "identity"),
    [
        ({"kind": "GitHub", "repository": "Acme/Tools", "workflow": "release.yml"}, "github:acme/tools/release.yml"),
        ({"kind": "GitLab", "repository": "g/p", "workflow_filepath": ".gitlab-ci.yml"}, "gitlab:g/p/.gitlab-ci.yml"),
        ({"kind": "GitHub", "repository": "acme/tools"}, None),
        ({"kind": "Google", "email": "a@b"}, None),
    ],
)
def test_publisher_descriptors_name_a_comparable_identity(described: dict[str, str], identity: str | None) -> None:
    found = PublisherIdentity.from_descriptor(described)
    assert (found.identity if found else None) == identity


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    field=st.sampled_from(["transparency_entry", "certificate", "statement", "signature"]),
    value=JSON_VALUES,
    noise=st.binary(max_size=64),
)
def test_any_mangled_attestation_is_a_validation_failure_never_a_crash(field: str, value: object, noise: bytes) -> None:
    attested = github_attested()
    mangled: dict[str, Any] = json.loads(json.dumps(attested.attestation))
    if field == "transparency_entry":
        entry = mangled["verification_material"]["transparency_entries"][0]
        key = sorted(entry)[len(noise) % len(entry)]
        entry[key] = value
    elif field == "certificate":
        mangled["verification_material"]["certificate"] = base64.b64encode(noise).decode()
    else:
        mangled["envelope"][field] = base64.b64encode(noise).decode()
    with pytest.raises(ValidationFailed, match=r"^attestations: \[0\] "):
        VERIFIER.verify([mangled], attested.filename, attested.sha256, None)
