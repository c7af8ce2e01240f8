"""Row <-> entity conversion shared by the SQL stores."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from pyregistry_domain.audit import AuditEvent
from pyregistry_domain.distributions import DistributionKind, ReleaseFile
from pyregistry_domain.projects import Project, Release
from pyregistry_domain.roles import TenantRole
from pyregistry_domain.tenants import Tenant
from pyregistry_domain.tokens import ApiToken, TokenScope
from pyregistry_domain.users import User

__all__ = [
    "INSERT_FILE_SQL",
    "audit_from_row",
    "dump_time",
    "file_from_row",
    "file_params",
    "file_reader",
    "load_time",
    "project_from_row",
    "release_from_row",
    "tenant_from_row",
    "token_from_row",
    "user_from_row",
]

Row = Mapping[str, Any]


def dump_time(value: datetime | None) -> str | None:
    """Store times as sortable UTC ISO strings with microseconds."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def load_time(value: Any) -> datetime | None:
    """Read a stored time (string or driver datetime) back as aware UTC."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    loaded = datetime.fromisoformat(str(value))  # what dump_time writes; a tenth of strptime's cost
    return loaded if loaded.tzinfo else loaded.replace(tzinfo=UTC)


def _required_time(value: Any) -> datetime:
    loaded = load_time(value)
    assert loaded is not None
    return loaded


def tenant_from_row(row: Row) -> Tenant:
    return Tenant(
        id=row["id"],
        slug=row["slug"],
        display_name=row["display_name"],
        mirroring_enabled=bool(row["mirroring_enabled"]),
        created_at=_required_time(row["created_at"]),
    )


def user_from_row(row: Row, roles: Mapping[str, str]) -> User:
    return User(
        id=row["id"],
        email=row["email"],
        password_hash=row["password_hash"],
        is_superadmin=bool(row["is_superadmin"]),
        created_at=_required_time(row["created_at"]),
        roles=MappingProxyType({tenant_id: TenantRole(role) for tenant_id, role in roles.items()}),
    )


def token_from_row(row: Row) -> ApiToken:
    return ApiToken(
        id=row["id"],
        key_id=row["key_id"],
        secret_hash=row["secret_hash"],
        tenant_id=row["tenant_id"],
        name=row["name"],
        scopes=frozenset(TokenScope(scope) for scope in row["scopes"].split(",") if scope),
        created_at=_required_time(row["created_at"]),
        created_by=row["created_by"],
        project=row["project"],
        expires_at=load_time(row["expires_at"]),
        revoked_at=load_time(row["revoked_at"]),
        last_used_at=load_time(row["last_used_at"]),
        minted_by_publisher=row["minted_by_publisher"],
    )


def project_from_row(row: Row) -> Project:
    return Project(
        tenant_id=row["tenant_id"],
        name=row["name"],
        normalized_name=row["normalized_name"],
        created_at=_required_time(row["created_at"]),
        summary=row["summary"],
        origin=row["origin"],
        serial=int(row["serial"]),
        mirrored_at=load_time(row["mirrored_at"]),
    )


def release_from_row(row: Row) -> Release:
    return Release(
        tenant_id=row["tenant_id"],
        normalized_name=row["normalized_name"],
        version=row["version"],
        created_at=_required_time(row["created_at"]),
        yanked=bool(row["yanked"]),
        yanked_reason=row["yanked_reason"],
    )


def file_from_row(row: Row) -> ReleaseFile:
    return ReleaseFile(
        tenant_id=row["tenant_id"],
        project_name=row["project_name"],
        normalized_name=row["normalized_name"],
        version=row["version"],
        filename=row["filename"],
        kind=DistributionKind(row["kind"]),
        sha256=row["sha256"],
        size=int(row["size"]),
        blob_key=row["blob_key"],
        uploaded_at=_required_time(row["uploaded_at"]),
        uploaded_by=row["uploaded_by"],
        requires_python=row["requires_python"],
        metadata_sha256=row["metadata_sha256"],
        yanked=bool(row["yanked"]),
        yanked_reason=row["yanked_reason"],
        origin=row["origin"],
        upstream_url=row["upstream_url"],
        cached=bool(row["cached"]),
        has_provenance=bool(row["has_provenance"]),
    )


def file_reader(columns: Sequence[str]) -> Callable[[Sequence[Any]], ReleaseFile]:
    """:func:`file_from_row` for plain rows of ``columns`` in that order: no dictionary per row, for reads of a
    whole project's files."""
    at = {name: index for index, name in enumerate(columns)}
    (tenant_id, project_name, normalized_name, version, filename, kind, sha256, size, blob_key, uploaded_at) = (
        at[name]
        for name in (
            "tenant_id",
            "project_name",
            "normalized_name",
            "version",
            "filename",
            "kind",
            "sha256",
            "size",
            "blob_key",
            "uploaded_at",
        )
    )
    (uploaded_by, requires_python, metadata_sha256, yanked, yanked_reason, origin, upstream_url, cached) = (
        at[name]
        for name in (
            "uploaded_by",
            "requires_python",
            "metadata_sha256",
            "yanked",
            "yanked_reason",
            "origin",
            "upstream_url",
            "cached",
        )
    )
    has_provenance = at["has_provenance"]

    def read(row: Sequence[Any]) -> ReleaseFile:
        return ReleaseFile(
            tenant_id=row[tenant_id],
            project_name=row[project_name],
            normalized_name=row[normalized_name],
            version=row[version],
            filename=row[filename],
            kind=DistributionKind(row[kind]),
            sha256=row[sha256],
            size=int(row[size]),
            blob_key=row[blob_key],
            uploaded_at=_required_time(row[uploaded_at]),
            uploaded_by=row[uploaded_by],
            requires_python=row[requires_python],
            metadata_sha256=row[metadata_sha256],
            yanked=bool(row[yanked]),
            yanked_reason=row[yanked_reason],
            origin=row[origin],
            upstream_url=row[upstream_url],
            cached=bool(row[cached]),
            has_provenance=bool(row[has_provenance]),
        )

    return read


def audit_from_row(row: Row) -> AuditEvent:
    return AuditEvent(
        id=row["id"],
        occurred_at=_required_time(row["occurred_at"]),
        actor=row["actor"],
        action=row["action"],
        target=row["target"],
        tenant_id=row["tenant_id"],
        source_ip=row["source_ip"],
        details=json.loads(row["details"] or "{}"),
    )


INSERT_FILE_SQL = """INSERT INTO release_files (tenant_id, filename, normalized_name, version, project_name, kind,
sha256, size, blob_key, uploaded_at, uploaded_by, requires_python, metadata_sha256, origin, upstream_url, cached,
has_provenance) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"""
"""The one statement that records a release file (uploads and mirror refreshes); parameters from :func:`file_params`."""


def file_params(file: ReleaseFile) -> tuple[Any, ...]:
    """The parameters of :data:`INSERT_FILE_SQL` for ``file``."""
    return (
        file.tenant_id,
        file.filename,
        file.normalized_name,
        file.version,
        file.project_name,
        file.kind.value,
        file.sha256,
        file.size,
        file.blob_key,
        dump_time(file.uploaded_at),
        file.uploaded_by,
        file.requires_python,
        file.metadata_sha256,
        file.origin,
        file.upstream_url,
        int(file.cached),
        int(file.has_provenance),
    )
