"""Provenance of mirrored files: the upstream's PEP 740 provenance fetched, verified and recorded per file."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from pyregistry_application.attestation_ports import AttestationVerifier
from pyregistry_application.blob_keys import provenance_key_for
from pyregistry_application.client_json import decode_client_json
from pyregistry_application.ports import ArtifactStorage, Clock
from pyregistry_application.provenance import MAX_ATTESTATIONS_BYTES, serialize_provenance
from pyregistry_application.provenance_ports import FileProvenance, ProvenanceRecordStore, ProvenanceStatus
from pyregistry_domain.distributions import ReleaseFile
from pyregistry_domain.errors import InvalidVersion, NotFound, UpstreamUnavailable, ValidationFailed
from pyregistry_domain.provenance import PublisherIdentity
from pyregistry_domain.versions import parse_version

__all__ = ["MAX_FETCHES_PER_REFRESH", "MirroredProvenance", "verify_provenance_object"]

_log = logging.getLogger(__name__)
MAX_FETCHES_PER_REFRESH = 32
"""Provenance objects fetched for one project per refresh, newest versions first, so the first page view of a
project with hundreds of attested files stays quick; later refreshes check the rest."""
FetchBytes = Callable[[str], bytes]


def _version_key(version: str) -> tuple[int, object]:
    try:
        return (1, parse_version(version))
    except InvalidVersion:
        return (0, version)


def verify_provenance_object(
    raw: bytes, filename: str, sha256: str, verifier: AttestationVerifier
) -> tuple[PublisherIdentity, bytes]:
    """The signer and the re-serialized object of a PEP 740 provenance object whose every bundle verifies for
    ``filename`` / ``sha256`` against the publisher it names; :class:`ValidationFailed` otherwise."""
    parsed = decode_client_json(
        raw,
        object,
        what="provenance: the object",
        invalid="provenance: not valid JSON",
        max_bytes=MAX_ATTESTATIONS_BYTES,
    )
    if not isinstance(parsed, dict) or parsed.get("version") != 1:
        raise ValidationFailed("provenance: not a version 1 provenance object")
    bundles = parsed.get("attestation_bundles")
    if not isinstance(bundles, list) or not bundles:
        raise ValidationFailed("provenance: no attestation bundles")
    signer: PublisherIdentity | None = None
    kept: list[dict[str, Any]] = []
    for index, bundle in enumerate(bundles):
        if not isinstance(bundle, dict) or not isinstance(bundle.get("publisher"), dict):
            raise ValidationFailed(f"provenance: bundle [{index}] has no publisher")
        expected = PublisherIdentity.from_descriptor(bundle["publisher"])
        if expected is None:
            raise ValidationFailed(f"provenance: bundle [{index}] names a publisher kind that cannot be verified here")
        attestations = bundle.get("attestations")
        if not isinstance(attestations, list) or not all(isinstance(item, dict) for item in attestations):
            raise ValidationFailed(f"provenance: bundle [{index}] has no attestations")
        verified = verifier.verify(attestations, filename, sha256, expected)
        if signer is not None and verified.identity != signer.identity:
            raise ValidationFailed(f"provenance: bundles are signed by {signer.identity} and {verified.identity}")
        signer = verified
        kept.append({"publisher": bundle["publisher"], "attestations": attestations})
    assert signer is not None
    return signer, serialize_provenance(kept)


class MirroredProvenance:
    """Checks the provenance the upstream offers for each newly listed mirrored file, once per file and sha256.

    A verified provenance object is stored next to the file's blob (served by the provenance route and linked from
    the simple pages) and its signer recorded; a missing one is recorded as absent and one that fails verification
    as refused (neither is served). An unreachable upstream records nothing, so the next refresh tries again.
    """

    def __init__(
        self,
        records: ProvenanceRecordStore,
        storage: ArtifactStorage,
        fetch: FetchBytes,
        verifier: AttestationVerifier,
        clock: Clock,
        *,
        max_fetches: int = MAX_FETCHES_PER_REFRESH,
    ) -> None:
        self._max_fetches = max_fetches
        self._records = records
        self._storage = storage
        self._fetch = fetch
        self._verifier = verifier
        self._clock = clock

    @property
    def records(self) -> ProvenanceRecordStore:
        """Where the checked provenance is kept."""
        return self._records

    def check(
        self, tenant_id: str, normalized: str, files: list[ReleaseFile], urls: Mapping[str, str | None]
    ) -> list[ReleaseFile]:
        """``files`` with ``has_provenance`` set from their (possibly just made) records."""
        recorded = dict(self._records.project_provenance(tenant_id, normalized))
        stale = [file for file in files if (r := recorded.get(file.filename)) is None or r.sha256 != file.sha256]
        fetches = 0
        for file in sorted(stale, key=lambda file: _version_key(file.version), reverse=True):
            url = urls.get(file.filename)
            if url is not None:
                if fetches >= self._max_fetches:
                    continue  # checked by a later refresh; until then the file has no verified provenance
                fetches += 1
            record = self._check_one(file, url)
            if record is not None:
                recorded[file.filename] = record
        return [
            replace(
                file,
                has_provenance=(r := recorded.get(file.filename)) is not None
                and r.sha256 == file.sha256
                and r.status is ProvenanceStatus.VERIFIED,
            )
            for file in files
        ]

    def _check_one(self, file: ReleaseFile, url: str | None) -> FileProvenance | None:
        status, identity, publisher, detail = ProvenanceStatus.ABSENT, None, None, "the upstream offers no provenance"
        if url is not None:
            try:
                raw = self._fetch(url)
            except NotFound:
                raw = None
            except UpstreamUnavailable as exc:
                _log.warning("mirror.provenance_unavailable file=%s error=%s", file.filename, str(exc))
                return None
            if raw is not None:
                try:
                    signer, body = verify_provenance_object(raw, file.filename, file.sha256, self._verifier)
                except ValidationFailed as exc:
                    status, detail = ProvenanceStatus.REFUSED, exc.message
                    _log.warning("mirror.provenance_refused file=%s reason=%s", file.filename, exc.message)
                else:
                    self._storage.put_bytes(provenance_key_for(file.blob_key), body)
                    status, identity, detail = ProvenanceStatus.VERIFIED, signer.identity, "verified"
                    publisher = json.dumps(signer.descriptor(), sort_keys=True)
        record = FileProvenance(
            tenant_id=file.tenant_id,
            normalized_name=file.normalized_name,
            version=file.version,
            filename=file.filename,
            sha256=file.sha256,
            status=status,
            identity=identity,
            publisher=publisher,
            detail=detail,
            checked_at=self._clock.now(),
        )
        self._records.put_provenance(record)
        return record
