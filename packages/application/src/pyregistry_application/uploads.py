"""The legacy (twine) upload use case, in steps: form, project checks, clashes, takeover, records, blobs, audit."""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

from pyregistry_application.access import TokenAccess
from pyregistry_application.attestation_ports import AttestationVerifier
from pyregistry_application.audit import AuditTrail
from pyregistry_application.background_ports import PendingJob
from pyregistry_application.blob_keys import blob_key_for, metadata_key_for, provenance_key_for
from pyregistry_application.dto import DistributionMetadata, SpooledUpload, UploadCommand, UploadResult
from pyregistry_application.metadata_ports import Catalogue, TenantStore
from pyregistry_application.ports import ArtifactStorage, Clock, DistributionInspector, IdGenerator
from pyregistry_application.provenance import build_provenance, expected_signer, parse_attestations
from pyregistry_application.security.malware import MalwareBlocklist
from pyregistry_application.upload_form import (
    check_digests,
    check_file_matches_form,
    check_file_size,
    check_metadata_matches,
    read_upload_form,
    single_field,
)
from pyregistry_application.upload_gate import UploadGate
from pyregistry_domain.distributions import (
    DistributionKind,
    ParsedFilename,
    ReleaseFile,
    distribution_identity,
    parse_distribution_filename,
)
from pyregistry_domain.errors import AlreadyExists, ValidationFailed
from pyregistry_domain.projects import Project, ProjectOrigin, Release
from pyregistry_domain.provenance import PublisherIdentity
from pyregistry_domain.publishers import claim_details, descriptor_claims
from pyregistry_domain.tenants import Tenant
from pyregistry_domain.tokens import ApiToken, TokenScope
from pyregistry_domain.versions import canonical_version, parse_version, version_order

__all__ = [
    "Acceptance",
    "PublishJobs",
    "PublishListener",
    "UploadDistribution",
    "UploadRecords",
    "UploadTarget",
    "upload_records",
]

PublishListener = Callable[[UploadResult], None]
"""Called after an accepted upload has committed (in-process webhooks, cache invalidation)."""
PublishJobs = Callable[[UploadResult], list[PendingJob]]
"""The durable jobs an accepted upload causes (the publish webhook); they commit in the upload's transaction."""
_log = logging.getLogger(__name__)


def _is_newest(version: str, known_versions: set[str]) -> bool:
    """True when ``version`` is not older than any release already known (its summary describes the project)."""
    parsed = parse_version(version)
    return all(parse_version(known) <= parsed for known in known_versions)


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


class Acceptance(msgspec.Struct, frozen=True):
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


class UploadTarget(msgspec.Struct, frozen=True):
    """The local project an upload adds to (``None``: a new project, or a mirrored one it takes over) and the
    versions it already has."""

    project: Project | None
    known_versions: set[str]


class UploadRecords(msgspec.Struct, frozen=True):
    """The records one accepted file commits: its project, its release and the file itself."""

    project: Project
    release: Release
    file: ReleaseFile


def upload_records(
    tenant: Tenant,
    content: SpooledUpload,
    parsed: ParsedFilename,
    metadata: DistributionMetadata,
    takeover: UploadTarget,
    how: Acceptance,
    *,
    blob_key: str,
    has_provenance: bool,
) -> UploadRecords:
    """The project (named as first published, summarized by its newest version), release and file records."""
    existing = takeover.project
    normalized = parsed.normalized_name
    version = canonical_version(parsed.version)
    project = Project(
        tenant_id=tenant.id,
        name=existing.name if existing is not None else metadata.name,
        normalized_name=normalized,
        created_at=existing.created_at if existing is not None else how.uploaded_at,
        summary=metadata.summary if _is_newest(version, takeover.known_versions) else None,
        origin=ProjectOrigin.LOCAL,
    )
    release = Release(tenant_id=tenant.id, normalized_name=normalized, version=version, created_at=how.uploaded_at)
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
        uploaded_at=how.uploaded_at,
        uploaded_by=how.uploader,
        requires_python=metadata.requires_python or how.requires_python,
        metadata_sha256=hashlib.sha256(metadata.raw).hexdigest() if parsed.kind is DistributionKind.WHEEL else None,
        has_provenance=has_provenance,
    )
    return UploadRecords(project=project, release=release, file=file)


class UploadDistribution:
    """Validates a twine upload completely before anything is stored, then stores it atomically."""

    def __init__(
        self,
        tenants: TenantStore,
        catalogue: Catalogue,
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
        self._catalogue = catalogue
        self._storage = storage
        self._inspector = inspector
        self._access = access
        self._audit = audit
        self._clock = clock
        self._ids = ids
        self._max_upload_bytes = max_upload_bytes
        self._listeners = list(listeners or [])
        self._job_sources: list[PublishJobs] = []
        self.gate = UploadGate(access, audit, tenants)
        """Checks made before the body is read (the web layer calls it first)."""
        self._malware = malware
        self._attestation_verifier = attestation_verifier

    @property
    def max_upload_bytes(self) -> int:
        """The largest distribution file accepted (``server.max_upload_bytes``); the web layer caps bodies by it."""
        return self._max_upload_bytes

    def add_listener(self, listener: PublishListener) -> None:
        """Call ``listener`` after every accepted upload (webhooks, cache invalidation)."""
        self._listeners.append(listener)

    def add_publish_jobs(self, source: PublishJobs) -> None:
        """Enqueue ``source``'s jobs for every accepted upload in the transaction that records the file, so they
        exist exactly when the file does (the catalogue must hold a job table: a SQL store)."""
        self._job_sources.append(source)

    def execute(self, command: UploadCommand) -> UploadResult:
        """Check everything, store the blob, then commit the metadata in one transaction."""
        fields = command.fields
        form = read_upload_form(fields)
        tenant, token = self._access.authorize(
            command.tenant_slug, command.token_secret, TokenScope.PUBLISH, form.normalized_name
        )
        self._check_project_accepts(tenant, form.normalized_name, form.version)
        content, parsed = check_file_matches_form(form, fields, command.content)
        check_file_size(content, self._max_upload_bytes)
        check_digests(fields, content)
        attestations = parse_attestations(single_field(fields, "attestations"))
        signer = None
        if attestations is not None:
            signer = self._verify_attestations(attestations, content, token)
        how = Acceptance(
            uploader=f"token:{token.name}",
            uploaded_at=self._clock.now(),
            requires_python=single_field(fields, "requires_python"),
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
        )
        return self._accept(tenant, content, parsed, how)

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
        check_file_size(content, self._max_upload_bytes)
        how = Acceptance(
            uploader=actor,
            uploaded_at=uploaded_at,
            requires_python=None,
            source_ip=None,
            action="package.import",
            details={},
        )
        return self._accept(tenant, content, parsed, how)

    def _accept(self, tenant: Tenant, content: SpooledUpload, parsed: ParsedFilename, how: Acceptance) -> UploadResult:
        """The steps every accepted file goes through: clashes, metadata, takeover, records, blobs, audit, listeners."""
        normalized = parsed.normalized_name
        self._refuse_clashes(tenant, normalized, content.filename)
        metadata = self._inspector.inspect(Path(content.path), parsed.kind, parsed.archive_format)
        check_metadata_matches(metadata, normalized, canonical_version(parsed.version), content.filename)
        takeover = self._takeover(tenant.id, normalized)
        provenance = None
        if how.attestations is not None and how.token is not None:
            provenance = build_provenance(how.attestations, how.token, how.signer)
        records = upload_records(
            tenant,
            content,
            parsed,
            metadata,
            takeover,
            how,
            blob_key=blob_key_for(tenant.id, normalized, self._ids.new_id(), content.filename),
            has_provenance=provenance is not None,
        )
        result = UploadResult(
            tenant_slug=tenant.slug,
            project=records.project.name,
            version=records.release.version,
            filename=content.filename,
            sha256=content.sha256,
            size=content.size,
            new_project=takeover.project is None,
            new_release=records.release.version not in takeover.known_versions,
        )
        jobs = [job for source in self._job_sources for job in source(result)]
        replaced = self._store_blobs_and_commit(records, Path(content.path), metadata.raw, provenance, jobs)
        self._delete_blobs(replaced)
        self._record_audit(tenant, records.file, how, replaced)
        for listener in self._listeners:
            listener(result)
        return result

    def _check_project_accepts(self, tenant: Tenant, normalized: str, version: str) -> None:
        """The project's PEP 792 status takes uploads and no malware advisory covers this version."""
        self._catalogue.get_project_status(tenant.id, normalized).check_upload(normalized)
        if self._malware is not None:
            self._malware.refuse_upload(normalized, version)

    def _refuse_clashes(self, tenant: Tenant, normalized: str, filename: str) -> None:
        """Files are immutable: refuse a file stored before under this name (unless it is a mirrored file this
        upload takes over) or under another spelling of the same distribution."""
        clash = self._catalogue.get_file(tenant.id, filename)
        if clash is not None and not clash.gives_way_to_upload_of(normalized):
            raise AlreadyExists(
                f"File already exists: {filename!r} was uploaded to tenant {tenant.slug!r} before. "
                "Files are immutable: upload a new version, or skip existing files with uv publish --check-url, "
                "poetry publish --skip-existing, pdm publish --skip-existing or hatch publish."
            )
        if existing_file := self._equivalent_file(tenant.id, normalized, filename):
            raise AlreadyExists(_equivalent_message(filename, existing_file))

    def _takeover(self, tenant_id: str, normalized: str) -> UploadTarget:
        """The local project the upload adds to with its versions; a mirrored project is taken over (its releases
        and files give way when the records commit), so the upload starts it afresh."""
        existing = self._catalogue.get_project(tenant_id, normalized)
        if existing is None or existing.is_taken_over_by(ProjectOrigin.LOCAL):
            return UploadTarget(project=None, known_versions=set())
        return UploadTarget(
            project=existing,
            known_versions=set(self._catalogue.release_versions(tenant_id, normalized)),
        )

    def _record_audit(self, tenant: Tenant, file: ReleaseFile, how: Acceptance, replaced: list[ReleaseFile]) -> None:
        self._audit.record(
            actor=how.uploader,
            action=how.action,
            target=f"{file.normalized_name}=={file.version}/{file.filename}",
            tenant_id=tenant.id,
            source_ip=how.source_ip,
            details={
                **how.details,
                **({"attested_by": how.signer.identity} if how.signer is not None else {}),
                "sha256": file.sha256,
                "size": str(file.size),
                **({"replaced_mirrored_files": str(len(replaced))} if replaced else {}),
            },
        )

    def _store_blobs_and_commit(
        self,
        records: UploadRecords,
        source: Path,
        metadata: bytes,
        provenance: bytes | None,
        jobs: list[PendingJob],
    ) -> list[ReleaseFile]:
        """Write the file, its metadata and provenance, then commit the records with ``jobs`` and return the
        mirrored files the upload replaced; on any failure (a later write or the commit) remove what was written, so
        no blob is left without a record."""
        project, release, file = records.project, records.release, records.file
        metadata_key, provenance_key = metadata_key_for(file.blob_key), provenance_key_for(file.blob_key)
        try:
            self._storage.put_file(file.blob_key, source)
            self._storage.put_bytes(metadata_key, metadata)
            if provenance is not None:
                self._storage.put_bytes(provenance_key, provenance)
            replaced = self._catalogue.add_release_file(project, release, file, jobs)
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
        same_version = version_order(identity.version)
        for file in self._catalogue.list_files(tenant_id, normalized):
            # a local file's release version is its filename's canonical version: others cannot be the same file
            if (
                file.is_local
                and version_order(file.version) == same_version
                and distribution_identity(file.filename) == identity
            ):
                return file
        return None
