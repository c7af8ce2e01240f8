"""PEP 740 attestations verified with sigstore against the production trust root shipped inside the package.

No network at verify time: the trust root is read from the ``sigstore`` package's own copy (never from a TUF
refresh or a user cache), and an attestation carries its transparency log inclusion proof. sigstore and
pypi-attestations (over a second to import, boto3 included) are imported at the first verification, not when a
server or CLI process starts.
"""

from __future__ import annotations

import binascii
import json
import logging
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat import asn1
from cryptography.x509.oid import ObjectIdentifier
from packaging.utils import InvalidSdistFilename, InvalidWheelFilename, parse_sdist_filename, parse_wheel_filename

from pyregistry_domain.errors import ValidationFailed
from pyregistry_domain.provenance import GITHUB_ACTIONS_ISSUER, PublisherIdentity

if TYPE_CHECKING:
    from sigstore.verify import Verifier

__all__ = ["SigstoreAttestationVerifier", "bundled_trusted_root_path", "certificate_identity"]

_log = logging.getLogger(__name__)
_ISSUER = ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
_SOURCE_REPOSITORY_URI = ObjectIdentifier("1.3.6.1.4.1.57264.1.12")
_BUILD_CONFIG_URI = ObjectIdentifier("1.3.6.1.4.1.57264.1.18")
_IN_TOTO_STATEMENT = "https://in-toto.io/Statement/v1"
_KNOWN_PREDICATES = frozenset({"https://docs.pypi.org/attestations/publish/v1", "https://slsa.dev/provenance/v1"})
_PRODUCTION_STORE = "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev"


def bundled_trusted_root_path() -> str:
    """Path of the production ``trusted_root.json`` shipped inside the installed ``sigstore`` package."""
    return str(resources.files("sigstore") / "_store" / _PRODUCTION_STORE / "trusted_root.json")


@cache
def _verifier() -> Verifier:
    from sigstore.models import TrustedRoot
    from sigstore.verify import Verifier

    return Verifier(trusted_root=TrustedRoot.from_file(bundled_trusted_root_path()))


def _extension(cert: x509.Certificate, oid: ObjectIdentifier) -> str | None:
    try:
        raw = cert.extensions.get_extension_for_oid(oid).value
    except x509.ExtensionNotFound:
        return None
    return asn1.decode_der(str, raw.public_bytes()) if isinstance(raw, x509.UnrecognizedExtension) else None


def certificate_identity(cert: x509.Certificate) -> PublisherIdentity:
    """The GitHub or GitLab workflow a Fulcio certificate was issued to, from its OIDC extensions.

    The build config URI names the top-level workflow: ``{repo URI}/.github/workflows/{file}@{ref}`` on GitHub,
    ``{repo URI}//{config path}@{ref}`` on GitLab.
    """
    issuer = _extension(cert, _ISSUER)
    source = _extension(cert, _SOURCE_REPOSITORY_URI)
    build_config = _extension(cert, _BUILD_CONFIG_URI)
    if not issuer or not source or not build_config or "://" not in source:
        raise ValidationFailed("the signing certificate names no CI workflow (issuer, repository, build config)")
    repository = source.split("://", 1)[1].split("/", 1)[-1]
    config = build_config.rsplit("@", 1)[0]
    if issuer == GITHUB_ACTIONS_ISSUER and config.startswith(f"{source}/.github/workflows/"):
        return PublisherIdentity("GitHub", issuer, repository, config.removeprefix(f"{source}/.github/workflows/"))
    if config.startswith(f"{source}//"):
        return PublisherIdentity("GitLab", issuer, repository, config.removeprefix(f"{source}//"))
    raise ValidationFailed(f"the signing certificate's workflow {build_config!r} is not a GitHub or GitLab workflow")


def _same_publisher(actual: PublisherIdentity, expected: PublisherIdentity) -> bool:
    repositories = (actual.repository, expected.repository)
    if actual.kind == "GitHub":  # GitHub owner and repository names are case-insensitive
        repositories = (actual.repository.lower(), expected.repository.lower())
    return (
        actual.kind == expected.kind
        and actual.issuer.rstrip("/") == expected.issuer.rstrip("/")
        and repositories[0] == repositories[1]
        and actual.workflow == expected.workflow
    )


def _distribution_key(filename: str) -> tuple[Any, ...]:
    try:
        if filename.endswith(".whl"):
            return (".whl", *parse_wheel_filename(filename))
        for suffix in (".tar.gz", ".zip"):  # unlike the name, the archive format may not differ
            if filename.endswith(suffix):
                return (suffix, *parse_sdist_filename(filename))
    except (InvalidWheelFilename, InvalidSdistFilename):
        pass
    raise ValidationFailed(f"{filename!r} is not a wheel or sdist filename")


class _IdentityPolicy:
    """A sigstore verification policy: the certificate must name a CI workflow (and ``expected``, when given)."""

    def __init__(self, expected: PublisherIdentity | None) -> None:
        self.expected = expected
        self.seen: PublisherIdentity | None = None

    def verify(self, cert: x509.Certificate) -> None:
        from sigstore.errors import VerificationError

        try:
            self.seen = certificate_identity(cert)
        except ValidationFailed as exc:
            raise VerificationError(exc.message) from None
        if self.expected is not None and not _same_publisher(self.seen, self.expected):
            raise VerificationError(
                f"signed by {self.seen.identity}, but the upload was authenticated as {self.expected.identity}"
            )


class SigstoreAttestationVerifier:
    """:class:`~pyregistry_application.attestation_ports.AttestationVerifier` over sigstore and pypi-attestations."""

    def verify(
        self,
        attestations: Sequence[Mapping[str, Any]],
        filename: str,
        sha256: str,
        expected: PublisherIdentity | None,
    ) -> PublisherIdentity:
        """The identity all ``attestations`` were signed by; :class:`ValidationFailed` on the first failure."""
        if not attestations:
            raise ValidationFailed("attestations: none given")
        dist_key = _distribution_key(filename)
        found: PublisherIdentity | None = None
        for index, raw in enumerate(attestations):
            where = f"attestations: [{index}]"
            identity = self._verify_one(raw, where, filename, dist_key, sha256.lower(), expected)
            if found is not None and identity.identity != found.identity:
                raise ValidationFailed(f"{where} was signed by {identity.identity}, [0] by {found.identity}")
            found = identity
        assert found is not None
        return found

    @staticmethod
    def _verify_one(
        raw: Mapping[str, Any],
        where: str,
        filename: str,
        dist_key: tuple[Any, ...],
        sha256: str,
        expected: PublisherIdentity | None,
    ) -> PublisherIdentity:
        from pydantic import ValidationError
        from pypi_attestations import Attestation, AttestationError
        from sigstore.errors import Error as SigstoreError

        try:
            bundle = Attestation.model_validate(raw).to_bundle()
        except (ValidationError, AttestationError, ValueError, binascii.Error) as exc:
            raise ValidationFailed(f"{where} is not a valid attestation: {_first_line(exc)}") from None
        except Exception as exc:  # untrusted input through a third-party parser: refuse it, never a 500
            _log.warning("attestation.unexpected_parse_error error=%r", exc)
            raise ValidationFailed(f"{where} is not a valid attestation: {type(exc).__name__}") from None
        policy = _IdentityPolicy(expected)
        try:
            payload_type, payload = _verifier().verify_dsse(bundle, policy)
        except (SigstoreError, ValueError, TypeError) as exc:
            raise ValidationFailed(f"{where} failed Sigstore verification: {_first_line(exc)}") from None
        except Exception as exc:  # as above: a malformed bundle the library did not anticipate
            _log.warning("attestation.unexpected_verify_error error=%r", exc)
            raise ValidationFailed(f"{where} failed Sigstore verification: {type(exc).__name__}") from None
        if payload_type != "application/vnd.in-toto+json":
            raise ValidationFailed(f"{where} envelope carries {payload_type!r}, not an in-toto statement")
        _check_statement(payload, where, filename, dist_key, sha256)
        assert policy.seen is not None
        return policy.seen


def _check_statement(payload: bytes, where: str, filename: str, dist_key: tuple[Any, ...], sha256: str) -> None:
    try:
        statement = json.loads(payload)
    except ValueError:
        raise ValidationFailed(f"{where} statement is not JSON") from None
    if not isinstance(statement, dict) or statement.get("_type") != _IN_TOTO_STATEMENT:
        raise ValidationFailed(f"{where} statement is not an in-toto v1 statement")
    if statement.get("predicateType") not in _KNOWN_PREDICATES:
        raise ValidationFailed(f"{where} has unknown predicate type {statement.get('predicateType')!r}")
    subjects = statement.get("subject")
    if not isinstance(subjects, list) or len(subjects) != 1 or not isinstance(subjects[0], dict):
        raise ValidationFailed(f"{where} statement must have exactly one subject")
    name, digest = subjects[0].get("name"), subjects[0].get("digest")
    if not isinstance(name, str) or _safe_key(name) != dist_key:
        raise ValidationFailed(f"{where} signs {name!r}, not {filename!r}")
    if not isinstance(digest, dict) or str(digest.get("sha256", "")).lower() != sha256:
        raise ValidationFailed(f"{where} signs another sha256 than {filename!r} has")


def _safe_key(name: str) -> tuple[Any, ...] | None:
    try:
        return _distribution_key(name)
    except ValidationFailed:
        return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]
