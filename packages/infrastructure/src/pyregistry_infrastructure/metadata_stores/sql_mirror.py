"""SQL ``MirrorStore`` in portable SQL (plain SELECT/UPDATE/INSERT, ``?`` placeholders), one transaction per page.

It runs on the ``write()`` transaction and ``next_serial()`` of a :class:`SqlDatabase`, so the same adapter
serves SQLite, PostgreSQL and SQL Server.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyregistry_domain.distributions import ReleaseFile
from pyregistry_domain.projects import Project, ProjectOrigin, Release
from pyregistry_infrastructure.metadata_stores.rows import INSERT_FILE_SQL, dump_time, file_params
from pyregistry_infrastructure.metadata_stores.sql_base import SqlConnection, SqlDatabase

__all__ = ["SqlMirrorStore"]


class SqlMirrorStore:
    """Mirrored projects live in the registry tables; local rows are never touched."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    def record_mirrored_project(self, project: Project, releases: list[Release], files: list[ReleaseFile]) -> None:
        with self._db.write() as conn:
            serial = self._db.next_serial(conn)  # first: it serialises this page with a local upload's takeover
            key = (project.tenant_id, project.normalized_name)
            row = conn.execute(
                "SELECT origin, name FROM projects WHERE tenant_id = ? AND normalized_name = ?", key
            ).fetchone()
            if row is not None and row[0] != project.origin:
                return
            if row is None:
                conn.execute(
                    """INSERT INTO projects (tenant_id, normalized_name, name, summary, origin, serial, created_at,
                    mirrored_at) VALUES (?,?,?,?,?,?,?,?)""",
                    (
                        *key,
                        project.name,
                        project.summary,
                        project.origin,
                        serial,
                        dump_time(project.created_at),
                        dump_time(project.mirrored_at),
                    ),
                )
            else:
                conn.execute(
                    """UPDATE projects SET name = ?, serial = ?, mirrored_at = ?
                    WHERE tenant_id = ? AND normalized_name = ?""",
                    (project.name, serial, dump_time(project.mirrored_at), *key),
                )
            self._db.listing_changed(conn, project.tenant_id, serial, names=row is None or row[1] != project.name)
            versions = {
                r[0]
                for r in _all(conn, "SELECT version FROM releases WHERE tenant_id = ? AND normalized_name = ?", key)
            }
            for release in releases:
                if release.version in versions:
                    conn.execute(
                        """UPDATE releases SET yanked = ?, yanked_reason = ?
                        WHERE tenant_id = ? AND normalized_name = ? AND version = ?""",
                        (int(release.yanked), release.yanked_reason, *key, release.version),
                    )
                else:
                    conn.execute(
                        """INSERT INTO releases (tenant_id, normalized_name, version, created_at, yanked, yanked_reason)
                        VALUES (?,?,?,?,?,?)""",
                        (
                            *key,
                            release.version,
                            dump_time(release.created_at),
                            int(release.yanked),
                            release.yanked_reason,
                        ),
                    )
            existing = dict(
                _all(
                    conn, "SELECT filename, origin FROM release_files WHERE tenant_id = ? AND normalized_name = ?", key
                )
            )
            for file in files:
                origin = existing.get(file.filename)
                if origin is None:
                    conn.execute(INSERT_FILE_SQL, file_params(file))
                elif origin == file.origin:
                    conn.execute(
                        """UPDATE release_files SET requires_python = ?, metadata_sha256 = ?, upstream_url = ?,
                        has_provenance = ? WHERE tenant_id = ? AND filename = ?""",
                        (
                            file.requires_python,
                            file.metadata_sha256,
                            file.upstream_url,
                            int(file.has_provenance),
                            file.tenant_id,
                            file.filename,
                        ),
                    )

    def mark_cached(self, tenant_id: str, filename: str, size: int) -> None:
        with self._db.write() as conn:
            conn.execute(
                "UPDATE release_files SET cached = ?, size = ? WHERE tenant_id = ? AND filename = ? AND origin <> ?",
                (1, size, tenant_id, filename, ProjectOrigin.LOCAL.value),
            )


def _all(conn: SqlConnection, sql: str, params: Sequence[Any]) -> list[Any]:
    return list(conn.execute(sql, tuple(params)).fetchall())
