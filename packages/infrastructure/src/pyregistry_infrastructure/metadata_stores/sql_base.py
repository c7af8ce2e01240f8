"""The RegistryStore written once in portable SQL; SQLite, PostgreSQL and SQL Server adapters subclass it.

A subclass supplies a :class:`Dialect` and ``_connection()`` (a DB-API connection in autocommit mode for the
current thread or borrowed from a pool). Everything else lives here: queries use ``?`` placeholders through
:class:`SqlConnection`, writes run in ``_write()`` transactions, and schema migrations are applied by ``migrate()``
under the dialect's cross-process lock. Feature stores built on the same connection should do the same:
``with store._write() as conn: conn.execute("... ?", params)``, ``store._rows(...)``, and
``except store.dialect.integrity_errors`` with ``store.dialect.is_unique_violation(exc)``.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from pyregistry_application.dto import AuditQuery, Page, RegistryStats
from pyregistry_application.tracing_ports import NoTracer, Tracer
from pyregistry_domain.audit import AuditEvent
from pyregistry_domain.distributions import ReleaseFile
from pyregistry_domain.errors import AlreadyExists, NotFound, ServiceUnavailable
from pyregistry_domain.project_status import ACTIVE, ProjectStatus, ProjectStatusKind
from pyregistry_domain.projects import Project, Release
from pyregistry_domain.roles import TenantRole
from pyregistry_domain.tenants import Tenant
from pyregistry_domain.tokens import ApiToken
from pyregistry_domain.users import User
from pyregistry_infrastructure.metadata_stores.rows import (
    audit_from_row,
    dump_time,
    file_from_row,
    project_from_row,
    release_from_row,
    tenant_from_row,
    token_from_row,
    user_from_row,
)
from pyregistry_infrastructure.metadata_stores.schema_migrations import load_migrations, split_statements
from pyregistry_infrastructure.metadata_stores.search import rank_projects
from pyregistry_infrastructure.metadata_stores.sql_dialect import Dialect

__all__ = ["SqlConnection", "SqlRegistryStore", "StoreUnavailable", "redact_url"]

Params = Sequence[Any] | Mapping[str, Any]  # a mapping (``:name`` placeholders) works on SQLite only

_FILE_COLUMNS = """
    f.tenant_id, f.filename, f.normalized_name, f.version, f.project_name, f.kind, f.sha256, f.size,
    f.blob_key, f.uploaded_at, f.uploaded_by, f.requires_python, f.metadata_sha256, f.origin,
    f.upstream_url, f.cached, f.has_provenance, r.yanked, r.yanked_reason
"""
_FILE_SELECT = (
    ("SELECT" + _FILE_COLUMNS + "FROM release_files f")
    + """
JOIN releases r ON r.tenant_id = f.tenant_id AND r.normalized_name = f.normalized_name AND r.version = f.version
"""
)
_LISTING = {"serial": "{new}.serial"}
_PROJECT_COLUMNS = ("tenant_id", "normalized_name", "name", "summary", "origin", "serial", "created_at", "mirrored_at")
_PROJECT_UPDATES = {
    "name": "{new}.name",
    "summary": "COALESCE({new}.summary, {old}.summary)",
    "origin": "{new}.origin",
    "serial": "{new}.serial",
    "mirrored_at": "COALESCE({new}.mirrored_at, {old}.mirrored_at)",
}
_RELEASE_COLUMNS = ("tenant_id", "normalized_name", "version", "created_at", "yanked", "yanked_reason")


def redact_url(url: str) -> str:
    """The connection URL (or libpq ``key=value`` string) with every password replaced, for messages and logs."""
    url = re.sub(r"(password=)[^\s&]*", r"\1***", url, flags=re.IGNORECASE)
    parts = urlsplit(url) if "://" in url else None
    if parts is None or parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


class StoreUnavailable(ServiceUnavailable):
    """The database cannot be reached or no pooled connection became free in time."""


class SqlConnection:
    """A DB-API connection that takes ``?`` placeholders whatever the driver's own style."""

    def __init__(self, raw: Any, dialect: Dialect) -> None:
        self.raw = raw
        self.dialect = dialect

    def execute(self, sql: str, params: Params = ()) -> Any:
        """Run one statement; return the driver cursor (``rowcount``, ``fetchone()``, ``description``)."""
        if isinstance(params, Mapping) and self.dialect.paramstyle != "qmark":
            raise TypeError(f"named parameters are SQLite-only; write ? placeholders for {self.dialect.name}")
        cursor = self.raw.cursor()
        if isinstance(params, Mapping):
            cursor.execute(sql, params)
        elif params:
            cursor.execute(self.dialect.sql(sql, True), tuple(params))
        else:
            cursor.execute(self.dialect.sql(sql, False))
        return cursor

    def __getattr__(self, name: str) -> Any:
        """Anything else (``total_changes``, ``create_function`` ...) is the driver's own and not portable."""
        return getattr(self.raw, name)

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        """Run one statement for each parameter row."""
        for params in rows:
            self.execute(sql, params)

    def query(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        """Rows as dictionaries keyed by column name."""
        cursor = self.execute(sql, params)
        names = [column[0] for column in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


class SqlRegistryStore(ABC):
    """Implements ``RegistryStore`` over any :class:`Dialect`; subclasses only connect."""

    dialect: Dialect
    tracer: Tracer = NoTracer()
    """Opens a ``db.query`` / ``db.transaction`` span around each statement or transaction (set by bootstrap)."""

    @abstractmethod
    def _connection(self) -> AbstractContextManager[Any]:
        """A raw DB-API connection in autocommit mode, held for the duration of the block."""

    @abstractmethod
    def close(self) -> None:
        """Release every connection."""

    @contextmanager
    def _write(self) -> Iterator[SqlConnection]:
        """One transaction: committed when the block ends, rolled back when it raises."""
        with self.tracer.span("db.transaction", {"db.system": self.dialect.name}), self._connection() as raw:
            conn = SqlConnection(raw, self.dialect)
            conn.execute(self.dialect.begin_sql)
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _rows(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        with self.tracer.span("db.query", {"db.system": self.dialect.name}), self._connection() as raw:
            return SqlConnection(raw, self.dialect).query(sql, params)

    def _row(self, sql: str, params: Params = ()) -> dict[str, Any] | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    def migrate(self) -> None:
        """Apply pending schema migrations in one transaction; safe when several processes start together."""
        steps = load_migrations(self.dialect.name)
        with self._write() as conn:
            if self.dialect.migration_lock_sql:
                conn.execute(self.dialect.migration_lock_sql)
            conn.execute(self.dialect.migrations_table_sql)
            applied = {row["id"] for row in conn.query("SELECT id FROM schema_migrations")}
            for migration_id, script in steps:
                if migration_id in applied:
                    continue
                for statement in split_statements(script):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)",
                    (migration_id, dump_time(datetime.now(UTC))),
                )

    def ping(self) -> None:
        """Raise unless a connection answers a query on this store's own schema."""
        self._rows("SELECT COUNT(*) AS n FROM schema_migrations")

    def applied_migrations(self) -> list[str]:
        """Ids of applied migrations, in name order."""
        return sorted(row["id"] for row in self._rows("SELECT id FROM schema_migrations"))

    def _next_serial(self, conn: SqlConnection) -> int:
        return int(conn.execute(self.dialect.next_serial_sql).fetchone()[0])

    def _bump(self, conn: SqlConnection, tenant_id: str, normalized_name: str) -> None:
        serial = self._next_serial(conn)
        conn.execute(
            "UPDATE projects SET serial = ? WHERE tenant_id = ? AND normalized_name = ?",
            (serial, tenant_id, normalized_name),
        )
        self._listing_changed(conn, tenant_id, serial)

    def _listing_changed(self, conn: SqlConnection, tenant_id: str, serial: int) -> None:
        """Record ``serial`` as the tenant's root-index version (read by ``SqlIndexVersions``), in this write; a
        write naming no existing tenant changes no listing."""
        if not conn.query("SELECT 1 FROM tenants WHERE id = ?", (tenant_id,)):
            return
        conn.execute(
            self.dialect.upsert("tenant_listings", ("tenant_id", "serial"), ("tenant_id",), _LISTING),
            (
                tenant_id,
                serial,
            ),
        )

    # tenants

    def add_tenant(self, tenant: Tenant) -> None:
        try:
            with self._write() as conn:
                conn.execute(
                    "INSERT INTO tenants (id, slug, display_name, mirroring_enabled, created_at) VALUES (?,?,?,?,?)",
                    (
                        tenant.id,
                        tenant.slug,
                        tenant.display_name,
                        int(tenant.mirroring_enabled),
                        dump_time(tenant.created_at),
                    ),
                )
        except self.dialect.integrity_errors:
            raise AlreadyExists(f"tenant {tenant.slug!r} already exists") from None

    def get_tenant(self, tenant_id: str) -> Tenant | None:
        row = self._row("SELECT * FROM tenants WHERE id = ?", (tenant_id,))
        return tenant_from_row(row) if row else None

    def get_tenant_by_slug(self, slug: str) -> Tenant | None:
        row = self._row("SELECT * FROM tenants WHERE slug = ?", (slug,))
        return tenant_from_row(row) if row else None

    def list_tenants(self) -> list[Tenant]:
        return [tenant_from_row(row) for row in self._rows("SELECT * FROM tenants ORDER BY slug")]

    def set_tenant_mirroring(self, tenant_id: str, enabled: bool) -> None:
        with self._write() as conn:
            cursor = conn.execute("UPDATE tenants SET mirroring_enabled = ? WHERE id = ?", (int(enabled), tenant_id))
            if cursor.rowcount == 0:
                raise NotFound(f"tenant {tenant_id!r} does not exist")

    # users

    def _user(self, row: dict[str, Any] | None) -> User | None:
        if row is None:
            return None
        roles = self._rows("SELECT tenant_id, role FROM tenant_admins WHERE user_id = ?", (row["id"],))
        return user_from_row(row, {r["tenant_id"]: r["role"] for r in roles})

    def add_user(self, user: User) -> None:
        try:
            with self._write() as conn:
                conn.execute(
                    "INSERT INTO users (id, email, password_hash, is_superadmin, created_at) VALUES (?,?,?,?,?)",
                    (user.id, user.email, user.password_hash, int(user.is_superadmin), dump_time(user.created_at)),
                )
                conn.executemany(
                    "INSERT INTO tenant_admins (user_id, tenant_id, role) VALUES (?, ?, ?)",
                    [(user.id, tenant_id, role.value) for tenant_id, role in user.roles.items()],
                )
        except self.dialect.integrity_errors:
            raise AlreadyExists(f"user {user.email!r} already exists") from None

    def get_user(self, user_id: str) -> User | None:
        return self._user(self._row("SELECT * FROM users WHERE id = ?", (user_id,)))

    def get_user_by_email(self, email: str) -> User | None:
        return self._user(self._row("SELECT * FROM users WHERE email = ?", (email,)))

    def set_user_password(self, user_id: str, password_hash: str) -> None:
        with self._write() as conn:
            cursor = conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))
            if cursor.rowcount == 0:
                raise NotFound(f"user {user_id!r} does not exist")

    def set_tenant_role(self, user_id: str, tenant_id: str, role: TenantRole) -> None:
        try:
            with self._write() as conn:
                conn.execute("DELETE FROM tenant_admins WHERE user_id = ? AND tenant_id = ?", (user_id, tenant_id))
                conn.execute(
                    "INSERT INTO tenant_admins (user_id, tenant_id, role) VALUES (?, ?, ?)",
                    (user_id, tenant_id, role.value),
                )
        except self.dialect.integrity_errors:
            raise NotFound("user or tenant does not exist") from None

    def remove_tenant_role(self, user_id: str, tenant_id: str) -> bool:
        with self._write() as conn:
            cursor = conn.execute("DELETE FROM tenant_admins WHERE user_id = ? AND tenant_id = ?", (user_id, tenant_id))
            return bool(cursor.rowcount)

    def list_tenant_members(self, tenant_id: str) -> list[User]:
        rows = self._rows(
            "SELECT users.* FROM users JOIN tenant_admins ON tenant_admins.user_id = users.id "
            "WHERE tenant_admins.tenant_id = ? ORDER BY users.email",
            (tenant_id,),
        )
        return [user for row in rows if (user := self._user(row)) is not None]

    # tokens

    def add_token(self, token: ApiToken) -> None:
        try:
            with self._write() as conn:
                conn.execute(
                    """INSERT INTO api_tokens (id, key_id, secret_hash, tenant_id, name, scopes, project, created_at,
                    created_by, expires_at, revoked_at, last_used_at, minted_by_publisher)
                    VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)""",
                    (
                        token.id,
                        token.key_id,
                        token.secret_hash,
                        token.tenant_id,
                        token.name,
                        ",".join(sorted(scope.value for scope in token.scopes)),
                        token.project,
                        dump_time(token.created_at),
                        token.created_by,
                        dump_time(token.expires_at),
                        dump_time(token.revoked_at),
                        dump_time(token.last_used_at),
                        token.minted_by_publisher,
                    ),
                )
        except self.dialect.integrity_errors:
            raise AlreadyExists("token already exists") from None

    def get_token_by_key_id(self, key_id: str) -> ApiToken | None:
        row = self._row("SELECT * FROM api_tokens WHERE key_id = ?", (key_id,))
        return token_from_row(row) if row else None

    def list_tokens(self, tenant_id: str) -> list[ApiToken]:
        rows = self._rows("SELECT * FROM api_tokens WHERE tenant_id = ? ORDER BY created_at DESC", (tenant_id,))
        return [token_from_row(row) for row in rows]

    def revoke_token(self, tenant_id: str, token_id: str, when: datetime) -> bool:
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? AND tenant_id = ?",
                (dump_time(when), token_id, tenant_id),
            )
            return int(cursor.rowcount) > 0

    def touch_token(self, token_id: str, when: datetime) -> None:
        with self._write() as conn:
            conn.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", (dump_time(when), token_id))

    # projects

    def get_project(self, tenant_id: str, normalized_name: str) -> Project | None:
        row = self._row(
            "SELECT * FROM projects WHERE tenant_id = ? AND normalized_name = ?", (tenant_id, normalized_name)
        )
        return project_from_row(row) if row else None

    def list_projects(self, tenant_id: str) -> list[Project]:
        rows = self._rows("SELECT * FROM projects WHERE tenant_id = ? ORDER BY normalized_name", (tenant_id,))
        return [project_from_row(row) for row in rows]

    def add_release_file(self, project: Project, release: Release, file: ReleaseFile) -> list[ReleaseFile]:
        try:
            with self._write() as conn:
                serial = self._next_serial(conn)
                removed = self._drop_mirrored(conn, project) if project.origin == "local" else []
                conn.execute(
                    self.dialect.upsert(
                        "projects", _PROJECT_COLUMNS, ("tenant_id", "normalized_name"), _PROJECT_UPDATES
                    ),
                    (
                        project.tenant_id,
                        project.normalized_name,
                        project.name,
                        project.summary,
                        project.origin,
                        serial,
                        dump_time(project.created_at),
                        dump_time(project.mirrored_at),
                    ),
                )
                self._listing_changed(conn, project.tenant_id, serial)
                conn.execute(
                    self.dialect.insert_ignore(
                        "releases", _RELEASE_COLUMNS, ("tenant_id", "normalized_name", "version")
                    ),
                    (
                        release.tenant_id,
                        release.normalized_name,
                        release.version,
                        dump_time(release.created_at),
                        int(release.yanked),
                        release.yanked_reason,
                    ),
                )
                conn.execute(
                    """INSERT INTO release_files (tenant_id, filename, normalized_name, version, project_name, kind,
                    sha256, size, blob_key, uploaded_at, uploaded_by, requires_python, metadata_sha256, origin,
                    upstream_url, cached, has_provenance) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
                    (
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
                    ),
                )
        except self.dialect.integrity_errors as exc:
            if self.dialect.is_unique_violation(exc):
                raise AlreadyExists(f"File already exists: {file.filename!r}") from None
            raise
        return removed

    def _drop_mirrored(self, conn: SqlConnection, project: Project) -> list[ReleaseFile]:
        """Remove a mirrored project a local upload takes over, with its releases and files (by cascade)."""
        key = (project.tenant_id, project.normalized_name)
        found = conn.query("SELECT origin FROM projects WHERE tenant_id = ? AND normalized_name = ?", key)
        if not found or found[0]["origin"] == "local":
            return []
        rows = conn.query(_FILE_SELECT + " WHERE f.tenant_id = ? AND f.normalized_name = ?", key)
        conn.execute("DELETE FROM projects WHERE tenant_id = ? AND normalized_name = ?", key)
        return [file_from_row(row) for row in rows]

    def list_releases(self, tenant_id: str, normalized_name: str) -> list[Release]:
        rows = self._rows(
            "SELECT * FROM releases WHERE tenant_id = ? AND normalized_name = ? ORDER BY created_at, version",
            (tenant_id, normalized_name),
        )
        return [release_from_row(row) for row in rows]

    def list_files(self, tenant_id: str, normalized_name: str) -> list[ReleaseFile]:
        rows = self._rows(
            _FILE_SELECT + " WHERE f.tenant_id = ? AND f.normalized_name = ?", (tenant_id, normalized_name)
        )
        return [file_from_row(row) for row in rows]

    def get_file(self, tenant_id: str, filename: str) -> ReleaseFile | None:
        row = self._row(_FILE_SELECT + " WHERE f.tenant_id = ? AND f.filename = ?", (tenant_id, filename))
        return file_from_row(row) if row else None

    def set_release_yanked(
        self, tenant_id: str, normalized_name: str, version: str, yanked: bool, reason: str | None
    ) -> bool:
        with self._write() as conn:
            self._lock_catalogue(conn)
            cursor = conn.execute(
                """UPDATE releases SET yanked = ?, yanked_reason = ?
                WHERE tenant_id = ? AND normalized_name = ? AND version = ?""",
                (int(yanked), reason if yanked else None, tenant_id, normalized_name, version),
            )
            if cursor.rowcount == 0:
                return False
            self._bump(conn, tenant_id, normalized_name)
            return True

    def _lock_catalogue(self, conn: SqlConnection) -> int:
        """Take the serial-counter row lock that every catalogue write takes first, so reads made inside the
        transaction cannot be invalidated by a concurrent upload before the write commits; return the serial."""
        return self._next_serial(conn)

    def delete_file(self, tenant_id: str, filename: str) -> ReleaseFile | None:
        with self._write() as conn:
            self._lock_catalogue(conn)
            rows = conn.query(_FILE_SELECT + " WHERE f.tenant_id = ? AND f.filename = ?", (tenant_id, filename))
            if not rows:
                return None
            file = file_from_row(rows[0])
            conn.execute("DELETE FROM release_files WHERE tenant_id = ? AND filename = ?", (tenant_id, filename))
            self._bump(conn, tenant_id, file.normalized_name)
        return file

    def delete_release(self, tenant_id: str, normalized_name: str, version: str) -> list[ReleaseFile]:
        with self._write() as conn:
            self._lock_catalogue(conn)
            rows = conn.query(
                _FILE_SELECT + " WHERE f.tenant_id = ? AND f.normalized_name = ? AND f.version = ?",
                (tenant_id, normalized_name, version),
            )
            conn.execute(
                "DELETE FROM releases WHERE tenant_id = ? AND normalized_name = ? AND version = ?",
                (tenant_id, normalized_name, version),
            )
            self._bump(conn, tenant_id, normalized_name)
        return [file_from_row(row) for row in rows]

    def delete_project(self, tenant_id: str, normalized_name: str) -> list[ReleaseFile]:
        with self._write() as conn:
            serial = self._lock_catalogue(conn)
            rows = conn.query(
                _FILE_SELECT + " WHERE f.tenant_id = ? AND f.normalized_name = ?", (tenant_id, normalized_name)
            )
            existed = conn.query(
                "SELECT 1 FROM projects WHERE tenant_id = ? AND normalized_name = ?", (tenant_id, normalized_name)
            )
            if existed:
                conn.execute(
                    "DELETE FROM projects WHERE tenant_id = ? AND normalized_name = ?", (tenant_id, normalized_name)
                )
                self._listing_changed(conn, tenant_id, serial)
        return [file_from_row(row) for row in rows]

    def get_project_status(self, tenant_id: str, normalized_name: str) -> ProjectStatus:
        row = self._row(
            "SELECT status, reason FROM project_statuses WHERE tenant_id = ? AND normalized_name = ?",
            (tenant_id, normalized_name),
        )
        return ACTIVE if row is None else ProjectStatus(ProjectStatusKind(row["status"]), row["reason"])

    def list_project_statuses(self, tenant_id: str) -> dict[str, ProjectStatus]:
        rows = self._rows(
            "SELECT normalized_name, status, reason FROM project_statuses WHERE tenant_id = ?", (tenant_id,)
        )
        return {row["normalized_name"]: ProjectStatus(ProjectStatusKind(row["status"]), row["reason"]) for row in rows}

    def set_project_status(self, tenant_id: str, normalized_name: str, status: ProjectStatus, when: datetime) -> None:
        with self._write() as conn:
            self._lock_catalogue(conn)
            conn.execute(
                "DELETE FROM project_statuses WHERE tenant_id = ? AND normalized_name = ?", (tenant_id, normalized_name)
            )
            if status != ACTIVE:
                conn.execute(
                    """INSERT INTO project_statuses (tenant_id, normalized_name, status, reason, changed_at)
                    VALUES (?, ?, ?, ?, ?)""",
                    (tenant_id, normalized_name, status.kind.value, status.reason, dump_time(when)),
                )
            self._bump(conn, tenant_id, normalized_name)

    def search_projects(self, tenant_ids: list[str], query: str, limit: int, offset: int) -> Page[Project]:
        if not tenant_ids:
            return Page(items=[], total=0)
        placeholders = ",".join("?" for _ in tenant_ids)
        needle = f"%{query.strip().lower()}%"
        rows = self._rows(
            f"""SELECT * FROM projects WHERE tenant_id IN ({placeholders})
            AND (normalized_name LIKE ? OR lower(name) LIKE ? OR lower(COALESCE(summary, '')) LIKE ?)""",  # noqa: S608
            (*tenant_ids, needle, needle, needle),
        )
        ranked = rank_projects([project_from_row(row) for row in rows], query)
        return Page(items=ranked[offset : offset + limit], total=len(ranked))

    def stats(self) -> RegistryStats:
        row = self._row(
            """SELECT (SELECT COUNT(*) FROM tenants) AS tenants, (SELECT COUNT(*) FROM projects) AS projects,
            (SELECT COUNT(*) FROM releases) AS releases, (SELECT COUNT(*) FROM release_files) AS files,
            (SELECT COALESCE(SUM(size), 0) FROM release_files WHERE cached = 1) AS stored_bytes"""
        )
        assert row is not None
        return RegistryStats(**{key: int(value) for key, value in row.items()})

    # audit

    def add_audit_event(self, event: AuditEvent) -> None:
        with self._write() as conn:
            conn.execute(
                """INSERT INTO audit_events (id, occurred_at, actor, action, target, tenant_id, source_ip, details)
                VALUES (?,?,?,?,?,?,?,?)""",
                (
                    event.id,
                    dump_time(event.occurred_at),
                    event.actor,
                    event.action,
                    event.target,
                    event.tenant_id,
                    event.source_ip,
                    json.dumps(event.details, sort_keys=True),
                ),
            )

    def list_audit_events(self, query: AuditQuery) -> Page[AuditEvent]:
        clauses: list[str] = []
        params: list[Any] = []
        if query.tenant_id is not None:
            clauses.append("tenant_id = ?")
            params.append(query.tenant_id)
        if query.action:
            clauses.append("action LIKE ?")
            params.append(query.action.replace("%", "") + "%")
        if query.actor:
            clauses.append("lower(actor) LIKE ?")
            params.append("%" + query.actor.lower().replace("%", "") + "%")
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        total_row = self._row(f"SELECT COUNT(*) AS n FROM audit_events {where}", tuple(params))  # noqa: S608
        page, page_params = self.dialect.page(query.limit, query.offset)
        rows = self._rows(
            f"SELECT * FROM audit_events {where} ORDER BY occurred_at DESC, id {page}",  # noqa: S608
            (*params, *page_params),
        )
        return Page(items=[audit_from_row(row) for row in rows], total=int(total_row["n"]) if total_row else 0)
