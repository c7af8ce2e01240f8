"""PEP 740 provenance: validating uploaded attestations, building provenance objects, serving them."""

from __future__ import annotations

import json
from typing import Any

from pyregistry_application.access import TokenAccess
from pyregistry_application.blob_keys import provenance_key_for
from pyregistry_application.client_json import decode_client_json
from pyregistry_application.metadata_ports import CatalogueReader
from pyregistry_application.ports import ArtifactStorage
from pyregistry_domain.errors import NotFound, ValidationFailed
from pyregistry_domain.names import normalize_project_name
from pyregistry_domain.provenance import PublisherIdentity
from pyregistry_domain.tokens import ApiToken, TokenScope
from pyregistry_domain.versions import canonical_version

__all__ = [
    "MAX_ATTESTATIONS",
    "MAX_ATTESTATIONS_BYTES",
    "ProvenanceReader",
    "build_provenance",
    "expected_signer",
    "parse_attestations",
    "serialize_provenance",
]

MAX_ATTESTATIONS = 16
MAX_ATTESTATIONS_BYTES = 1024 * 1024


def _require(obj: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = obj.get(key)
    if not isinstance(value, kind) or (kind is str and not value):
        raise ValidationFailed(f"attestations: {where}.{key} must be a non-empty {kind.__name__}")
    return value


def parse_attestations(raw: str | None) -> list[dict[str, Any]] | None:
    """The ``attestations`` form field as PEP 740 attestation objects, checked for shape; ``None`` when absent."""
    if raw is None:
        return None
    parsed = decode_client_json(
        raw,
        object,
        what="attestations: the form field",
        invalid="attestations: the form field is not valid JSON",
        max_bytes=MAX_ATTESTATIONS_BYTES,
    )
    if not isinstance(parsed, list) or not parsed:
        raise ValidationFailed("attestations: expected a non-empty JSON array of attestation objects")
    if len(parsed) > MAX_ATTESTATIONS:
        raise ValidationFailed(f"attestations: at most {MAX_ATTESTATIONS} attestations per file")
    for index, attestation in enumerate(parsed):
        where = f"[{index}]"
        if not isinstance(attestation, dict):
            raise ValidationFailed(f"attestations: {where} is not an object")
        if attestation.get("version") != 1:
            raise ValidationFailed(f"attestations: {where}.version must be 1")
        material = _require(attestation, "verification_material", dict, where)
        _require(material, "certificate", str, f"{where}.verification_material")
        _require(material, "transparency_entries", list, f"{where}.verification_material")
        envelope = _require(attestation, "envelope", dict, where)
        _require(envelope, "statement", str, f"{where}.envelope")
        _require(envelope, "signature", str, f"{where}.envelope")
    return parsed


def _publisher_of(token: ApiToken) -> dict[str, Any]:
    if token.minted_by_publisher:
        try:
            described = json.loads(token.minted_by_publisher)
        except ValueError:
            described = None
        if isinstance(described, dict):
            return described
    return {"kind": "pyregistry-token", "token_name": token.name}


def build_provenance(
    attestations: list[dict[str, Any]], token: ApiToken, signer: PublisherIdentity | None = None
) -> bytes:
    """A PEP 740 provenance object: one bundle whose publisher is the uploading identity.

    A token minted by a trusted publisher describes itself (with its identity token's claims); a plain token is
    described by the verified ``signer`` of the attestations when there is one.
    """
    publisher = _publisher_of(token)
    if not token.minted_by_publisher and signer is not None:
        publisher = signer.descriptor()
    return serialize_provenance([{"publisher": publisher, "attestations": attestations}])


def serialize_provenance(bundles: list[dict[str, Any]]) -> bytes:
    """A PEP 740 provenance object of ``bundles``, as served."""
    return json.dumps({"version": 1, "attestation_bundles": bundles}, sort_keys=True).encode()


def expected_signer(token: ApiToken) -> PublisherIdentity | None:
    """The publisher a token minted by a trusted publisher stands for; ``None`` for a plain token."""
    if not token.minted_by_publisher:
        return None
    described = _publisher_of(token)
    identity = PublisherIdentity.from_descriptor(described)
    if identity is None:
        raise ValidationFailed("attestations: the token's trusted publisher cannot be matched to a certificate")
    return identity


class ProvenanceReader:
    """Serves stored provenance to read-scoped tokens of the tenant."""

    def __init__(self, catalogue: CatalogueReader, storage: ArtifactStorage, access: TokenAccess) -> None:
        self._catalogue = catalogue
        self._storage = storage
        self._access = access

    def provenance(self, tenant_slug: str, secret: str | None, project: str, version: str, filename: str) -> bytes:
        """The provenance JSON of one file; :class:`NotFound` when the file has none."""
        normalized = normalize_project_name(project)
        tenant, _ = self._access.authorize(tenant_slug, secret, TokenScope.READ, normalized)
        file = self._catalogue.get_file(tenant.id, filename)
        if file is None or file.normalized_name != normalized or file.version != canonical_version(version):
            raise NotFound(f"{filename!r} is not a file of {normalized} {version}")
        if not file.has_provenance:
            raise NotFound(f"{filename!r} has no provenance")
        return self._storage.read_bytes(provenance_key_for(file.blob_key))
