"""The legacy (twine) upload use case."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

from pyregistry_application.access import TokenAccess
from pyregistry_application.attestation_ports import AttestationVerifier
from pyregistry_application.audit import AuditTrail
from pyregistry_application.dto import DistributionMetadata, SpooledUpload, UploadCommand, UploadResult
from pyregistry_application.ports import ArtifactStorage, Clock, DistributionInspector, IdGenerator, RegistryStore
from pyregistry_application.provenance import build_provenance, expected_signer, parse_attestations, provenance_key_for
from pyregistry_application.security.malware import MalwareBlocklist
from pyregistry_application.upload_gate import UploadGate
from pyregistry_domain.distributions import (
    DistributionKind,
    ParsedFilename,
    ReleaseFile,
    distribution_identity,
    parse_distribution_filename,
)
from pyregistry_domain.errors import AlreadyExists, InvalidDistribution, InvalidName, PayloadTooLarge, ValidationFailed
from pyregistry_domain.names import normalize_project_name, validate_project_name
from pyregistry_domain.projects import Project, Release
from pyregistry_domain.provenance import PublisherIdentity
from pyregistry_domain.publishers import claim_details, descriptor_claims
from pyregistry_domain.tenants import Tenant
from pyregistry_domain.tokens import ApiToken, TokenScope
from pyregistry_domain.versions import canonical_version, parse_version

__all__ = ["PublishListener", "UploadDistribution", "blob_key_for", "metadata_key_for"]

PublishListener = Callable[[UploadResult], None]
_HEX_DIGEST = re.compile(r"[0-9a-f]{32,128}")
_FILETYPES = {"bdist_wheel": DistributionKind.WHEEL, "sdist": DistributionKind.SDIST}
_log = logging.getLogger(__name__)


def blob_key_for(tenant_id: str, normalized_name: str, unique: str, filename: str) -> str:
    """Storage key of a distribution file; ``unique`` keeps racing uploads apart."""
    return f"{tenant_id}/{normalized_name}/{unique}/{filename}"


def _is_newest(version: str, known_versions: set[str]) -> bool:
    """True when ``version`` is not older than any release already known (its summary describes the project)."""
    parsed = parse_version(version)
    return all(parse_version(known) <= parsed for known in known_versions)


def metadata_key_for(blob_key: str) -> str:
    """Storage key of the core metadata extracted from a distribution (PEP 658)."""
    return blob_key + ".metadata"


def _single(fields: dict[str, list[str]], key: str) -> str | None:
    values = [value for value in fields.get(key, []) if value != ""]
    if len(values) > 1 and len(set(values)) > 1:
        raise ValidationFailed(f"form field {key!r} was sent more than once with different values")
    return values[0] if values else None


def _required(fields: dict[str, list[str]], key: str) -> str:
    value = _single(fields, key)
    if value is None:
        raise ValidationFailed(f"missing required form field {key!r}")
    return value


def _check_digest(name: str, expected: str | None, actual: str) -> bool:
    if expected is None:
        return False
    expected = expected.strip().lower()
    if not _HEX_DIGEST.fullmatch(expected):
        raise ValidationFailed(f"{name} is not a hexadecimal digest")
    if not hmac.compare_digest(expected.encode(), actual.encode()):
        raise ValidationFailed(f"{name} does not match the uploaded file: the content was altered or truncated")
    return True


def _equivalent_message(filename: str, existing: ReleaseFile) -> str:
    if existing.kind is DistributionKind.SDIST:
        return (
            f"File already exists: release {existing.version} of {existing.normalized_name!r} already has the sdist "
            f"{existing.filename!r}; a release has one sdist (.tar.gz or .zip), as on PyPI. "
            "Files are immutable: upload a new version instead."
        )
    return (
        f"File already exists: {filename!r} is the same wheel as {existing.filename!r} (same normalized name, "
        "version, build tag and tags). Files are immutable: upload a new version, or a wheel with a higher build tag."
    )


class _Acceptance(msgspec.Struct, frozen=True):
    """Who brings a file and how it is recorded: a twine upload or an import from another registry."""

    uploader: str
    uploaded_at: datetime
    requires_python: str | None
    source_ip: str | None
    action: str
    details: dict[str, str]
    attestations: list[dict[str, Any]] | None = None
    token: ApiToken | None = None
    signer: PublisherIdentity | None = None


class UploadDistribution:
    """Validates a twine upload completely before anything is stored, then stores it atomically."""

    def __init__(
        self,
        store: RegistryStore,
        storage: ArtifactStorage,
        inspector: DistributionInspector,
        access: TokenAccess,
        audit: AuditTrail,
        clock: Clock,
        ids: IdGenerator,
        max_upload_bytes: int,
        listeners: list[PublishListener] | None = None,
        malware: MalwareBlocklist | None = None,
        attestation_verifier: AttestationVerifier | None = None,
    ) -> None:
        self._store = store
        self._storage = storage
        self._inspector = inspector
        self._access = access
        self._audit = audit
        self._clock = clock
        self._ids = ids
        self._max_upload_bytes = max_upload_bytes
        self._listeners = list(listeners or [])
        self.gate = UploadGate(access, audit, store)
        """Checks made before the body is read (the web layer calls it first)."""
        self._malware = malware
        self._attestation_verifier = attestation_verifier

    def add_listener(self, listener: PublishListener) -> None:
        """Call ``listener`` after every accepted upload (webhooks, cache invalidation)."""
        self._listeners.append(listener)

    def execute(self, command: UploadCommand) -> UploadResult:
        """Check everything, store the blob, then commit the metadata in one transaction."""
        fields = command.fields
        action = _required(fields, ":action")
        if action != "file_upload":
            raise ValidationFailed(f"unsupported :action {action!r}: only 'file_upload' is accepted")
        name = validate_project_name(_required(fields, "name").strip())
        normalized = normalize_project_name(name)
        version = canonical_version(_required(fields, "version").strip())
        tenant, token = self._access.authorize(
            command.tenant_slug, command.token_secret, TokenScope.PUBLISH, normalized
        )
        self._store.get_project_status(tenant.id, normalized).check_upload(normalized)
        if self._malware is not None:
            self._malware.refuse_upload(normalized, version)

        content = command.content
        if content is None:
            raise ValidationFailed("missing file content: the multipart form needs a 'content' file part")
        parsed = parse_distribution_filename(content.filename)
        if parsed.normalized_name != normalized:
            raise ValidationFailed(
                f"filename {content.filename!r} is for project {parsed.normalized_name!r}, but the form says {name!r}"
            )
        if canonical_version(parsed.version) != version:
            raise ValidationFailed(
                f"filename {content.filename!r} is for version {parsed.version}, but the form says {version}"
            )
        filetype = _single(fields, "filetype")
        if filetype is not None and _FILETYPES.get(filetype, parsed.kind) != parsed.kind:
            raise ValidationFailed(f"filetype {filetype!r} does not match {content.filename!r}")
        self._check_content(content)
        self._check_digests(fields, content)
        attestations = parse_attestations(_single(fields, "attestations"))
        signer = None
        if attestations is not None:
            signer = self._verify_attestations(attestations, content, token)
        return self._accept(
            tenant,
            content,
            _Acceptance(
                uploader=f"token:{token.name}",
                uploaded_at=self._clock.now(),
                requires_python=_single(fields, "requires_python"),
                source_ip=command.source_ip,
                action="package.upload",
                details={
                    "token_id": token.id,
                    **({"publisher": token.minted_by_publisher} if token.minted_by_publisher else {}),
                    **claim_details(descriptor_claims(token.minted_by_publisher)),
                },
                attestations=attestations,
                token=token,
                signer=signer,
            ),
        )

    def _verify_attestations(
        self, attestations: list[dict[str, Any]], content: SpooledUpload, token: ApiToken
    ) -> PublisherIdentity:
        """The verified signer of the attestations: a token minted by a trusted publisher must match the
        certificate's workflow; a plain token accepts any GitHub or GitLab workflow, recorded as the publisher."""
        if self._attestation_verifier is None:
            raise ValidationFailed("attestations: this server cannot verify attestations; upload without them")
        return self._attestation_verifier.verify(attestations, content.filename, content.sha256, expected_signer(token))

    def import_file(self, tenant: Tenant, content: SpooledUpload, *, uploaded_at: datetime, actor: str) -> UploadResult:
        """Accept a file brought from another registry exactly as an upload (same checks, same records), keeping
        its original upload time; audited as ``package.import`` by ``actor``."""
        parsed = parse_distribution_filename(content.filename)
        self._check_content(content)
        return self._accept(
            tenant,
            content,
            _Acceptance(
                uploader=actor,
                uploaded_at=uploaded_at,
                requires_python=None,
                source_ip=None,
                action="package.import",
                details={},
            ),
            parsed=parsed,
        )

    def _accept(
        self, tenant: Tenant, content: SpooledUpload, how: _Acceptance, parsed: ParsedFilename | None = None
    ) -> UploadResult:
        """The checks every accepted file goes through, then the blobs, the records, the audit entry, listeners."""
        parsed = parsed or parse_distribution_filename(content.filename)
        normalized = parsed.normalized_name
        version = canonical_version(parsed.version)
        clash = self._store.get_file(tenant.id, content.filename)
        mirrored = clash is not None and clash.origin != "local" and clash.normalized_name == normalized
        if clash is not None and not mirrored:  # a mirrored file goes when this upload takes its project over
            raise AlreadyExists(
                f"File already exists: {content.filename!r} was uploaded to tenant {tenant.slug!r} before. "
                "Files are immutable: upload a new version, or skip existing files with uv publish --check-url, "
                "poetry publish --skip-existing, pdm publish --skip-existing or hatch publish."
            )
        if existing_file := self._equivalent_file(tenant.id, normalized, content.filename):
            raise AlreadyExists(_equivalent_message(content.filename, existing_file))
        metadata = self._inspector.inspect(Path(content.path), parsed.kind, parsed.archive_format)
        self._check_metadata(metadata, normalized, version, content.filename)

        now = how.uploaded_at
        existing = self._store.get_project(tenant.id, normalized)
        if existing is not None and existing.origin != "local":
            existing = None  # a mirrored project: this upload replaces it, with its releases and files
        existing_release: set[str] = set()
        if existing is not None:
            existing_release = {release.version for release in self._store.list_releases(tenant.id, normalized)}
        blob_key = blob_key_for(tenant.id, normalized, self._ids.new_id(), content.filename)
        provenance = None
        if how.attestations is not None and how.token is not None:
            provenance = build_provenance(how.attestations, how.token, how.signer)
        metadata_sha256 = None
        if parsed.kind is DistributionKind.WHEEL:
            metadata_sha256 = hashlib.sha256(metadata.raw).hexdigest()
        project = Project(
            tenant_id=tenant.id,
            name=existing.name if existing is not None else metadata.name,
            normalized_name=normalized,
            created_at=existing.created_at if existing is not None else now,
            summary=metadata.summary if _is_newest(version, existing_release) else None,
            origin="local",
        )
        release = Release(tenant_id=tenant.id, normalized_name=normalized, version=version, created_at=now)
        file = ReleaseFile(
            tenant_id=tenant.id,
            project_name=project.name,
            normalized_name=normalized,
            version=version,
            filename=content.filename,
            kind=parsed.kind,
            sha256=content.sha256,
            size=content.size,
            blob_key=blob_key,
            uploaded_at=now,
            uploaded_by=how.uploader,
            requires_python=metadata.requires_python or how.requires_python,
            metadata_sha256=metadata_sha256,
            has_provenance=provenance is not None,
        )
        replaced = self._store_blobs_and_commit(project, release, file, Path(content.path), metadata.raw, provenance)
        self._delete_blobs(replaced)
        result = UploadResult(
            tenant_slug=tenant.slug,
            project=project.name,
            version=version,
            filename=content.filename,
            sha256=content.sha256,
            size=content.size,
            new_project=existing is None,
            new_release=version not in existing_release,
        )
        self._audit.record(
            actor=how.uploader,
            action=how.action,
            target=f"{normalized}=={version}/{content.filename}",
            tenant_id=tenant.id,
            source_ip=how.source_ip,
            details={
                **how.details,
                **({"attested_by": how.signer.identity} if how.signer is not None else {}),
                "sha256": content.sha256,
                "size": str(content.size),
                **({"replaced_mirrored_files": str(len(replaced))} if replaced else {}),
            },
        )
        for listener in self._listeners:
            listener(result)
        return result

    def _store_blobs_and_commit(
        self,
        project: Project,
        release: Release,
        file: ReleaseFile,
        source: Path,
        metadata: bytes,
        provenance: bytes | None,
    ) -> list[ReleaseFile]:
        """Write the file, its metadata and provenance, then commit the records and return the mirrored files the
        upload replaced; on any failure (a later write or the commit) remove what was written, so no blob is left
        without a record."""
        metadata_key, provenance_key = metadata_key_for(file.blob_key), provenance_key_for(file.blob_key)
        try:
            self._storage.put_file(file.blob_key, source)
            self._storage.put_bytes(metadata_key, metadata)
            if provenance is not None:
                self._storage.put_bytes(provenance_key, provenance)
            replaced = self._store.add_release_file(project, release, file)
        except BaseException:
            for key in (file.blob_key, metadata_key, provenance_key):
                with contextlib.suppress(Exception):  # storage down: `pyregistry sweep-blobs` removes it later
                    self._storage.delete(key)
            raise
        return replaced

    def _delete_blobs(self, files: list[ReleaseFile]) -> None:
        """Remove the cached blobs (and verified provenance) of mirrored files a local upload replaced; a failure
        leaves an orphan blob for ``pyregistry sweep-blobs``, never a failed upload (the metadata is committed)."""
        for file in files:
            keys = [file.blob_key, metadata_key_for(file.blob_key)]
            if file.has_provenance:
                keys.append(provenance_key_for(file.blob_key))
            for key in keys:
                try:
                    self._storage.delete(key)
                except Exception as exc:
                    _log.warning("upload.blob_delete_failed key=%s error=%s", key, str(exc))

    def _equivalent_file(self, tenant_id: str, normalized: str, filename: str) -> ReleaseFile | None:
        """A local file that is this one under another spelling (see :class:`DistributionIdentity`), if any."""
        identity = distribution_identity(filename)
        for file in self._store.list_files(tenant_id, normalized):
            if file.origin == "local" and distribution_identity(file.filename) == identity:
                return file
        return None

    def _check_content(self, content: SpooledUpload) -> None:
        if content.size == 0:
            raise InvalidDistribution(f"{content.filename!r} is empty")
        if content.size > self._max_upload_bytes:
            raise PayloadTooLarge(
                f"{content.filename!r} is {content.size} bytes; the limit is {self._max_upload_bytes} bytes"
            )

    def _check_digests(self, fields: dict[str, list[str]], content: SpooledUpload) -> None:
        checked = [
            _check_digest("sha256_digest", _single(fields, "sha256_digest"), content.sha256),
            _check_digest("blake2_256_digest", _single(fields, "blake2_256_digest"), content.blake2_256),
            _check_digest("md5_digest", _single(fields, "md5_digest"), content.md5),
        ]
        if not any(checked):
            raise ValidationFailed("missing digest: send sha256_digest (twine does this)")

    @staticmethod
    def _check_metadata(metadata: DistributionMetadata, normalized: str, version: str, filename: str) -> None:
        try:
            validate_project_name(metadata.name)
        except InvalidName as exc:
            raise InvalidDistribution(f"{filename!r} metadata Name is refused: {exc.message}") from None
        if normalize_project_name(metadata.name) != normalized:
            raise InvalidDistribution(
                f"{filename!r} contains metadata for project {metadata.name!r}, not {normalized!r}"
            )
        try:
            metadata_version = canonical_version(metadata.version)
        except ValidationFailed:
            raise InvalidDistribution(f"{filename!r} metadata has an invalid version {metadata.version!r}") from None
        if metadata_version != version:
            raise InvalidDistribution(f"{filename!r} contains metadata for version {metadata.version}, not {version}")
