"""Admin sessions in portable SQL on a :class:`SqlDatabase`.

The table comes from migration ``1100_admin_sessions`` (every dialect), so a logout in one server process ends the
session for every process sharing the database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pyregistry_domain.sessions import AdminSession
from pyregistry_infrastructure.metadata_stores.rows import dump_time, load_time
from pyregistry_infrastructure.metadata_stores.sql_base import SqlDatabase

__all__ = ["SqlAdminSessionStore"]


def _session(row: dict[str, Any]) -> AdminSession:
    created, expires = load_time(row["created_at"]), load_time(row["expires_at"])
    assert created is not None and expires is not None
    return AdminSession(
        id_hash=row["id_hash"],
        user_id=row["user_id"],
        created_at=created,
        expires_at=expires,
        revoked_at=load_time(row["revoked_at"]),
    )


class SqlAdminSessionStore:
    """Sessions in ``admin_sessions``; expired rows are deleted whenever a session is added."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    def add_session(self, session: AdminSession, now: datetime) -> None:
        with self._db.write() as conn:
            conn.execute("DELETE FROM admin_sessions WHERE expires_at < ?", (dump_time(now),))
            conn.execute(
                "INSERT INTO admin_sessions (id_hash, user_id, created_at, expires_at, revoked_at) VALUES (?,?,?,?,?)",
                (
                    session.id_hash,
                    session.user_id,
                    dump_time(session.created_at),
                    dump_time(session.expires_at),
                    dump_time(session.revoked_at),
                ),
            )

    def get_session(self, id_hash: str) -> AdminSession | None:
        rows = self._db.rows("SELECT * FROM admin_sessions WHERE id_hash = ?", (id_hash,))
        return _session(rows[0]) if rows else None

    def revoke_session(self, id_hash: str, when: datetime) -> bool:
        with self._db.write() as conn:
            conn.execute(
                "UPDATE admin_sessions SET revoked_at = ? WHERE id_hash = ? AND revoked_at IS NULL",
                (dump_time(when), id_hash),
            )
            found = conn.query("SELECT id_hash FROM admin_sessions WHERE id_hash = ?", (id_hash,))
            return bool(found)

    def revoke_user_sessions(self, user_id: str, when: datetime) -> int:
        moment = dump_time(when)
        with self._db.write() as conn:
            cursor = conn.execute(
                "UPDATE admin_sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ?",
                (moment, user_id, moment),
            )
            return int(cursor.rowcount)
