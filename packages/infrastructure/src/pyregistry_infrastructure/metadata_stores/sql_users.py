"""Users and their tenant roles in portable SQL."""

from __future__ import annotations

from typing import Any

from pyregistry_domain.errors import AlreadyExists, NotFound
from pyregistry_domain.roles import TenantRole
from pyregistry_domain.users import User
from pyregistry_infrastructure.metadata_stores.rows import dump_time, user_from_row
from pyregistry_infrastructure.metadata_stores.sql_base import SqlDatabase

__all__ = ["SqlUserStore"]


class SqlUserStore:
    """Implements ``UserStore`` on any :class:`SqlDatabase`; roles live in ``tenant_admins``."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    def _user(self, row: dict[str, Any] | None) -> User | None:
        if row is None:
            return None
        roles = self._db.rows("SELECT tenant_id, role FROM tenant_admins WHERE user_id = ?", (row["id"],))
        return user_from_row(row, {r["tenant_id"]: r["role"] for r in roles})

    def add_user(self, user: User) -> None:
        try:
            with self._db.write() as conn:
                conn.execute(
                    "INSERT INTO users (id, email, password_hash, is_superadmin, created_at) VALUES (?,?,?,?,?)",
                    (user.id, user.email, user.password_hash, int(user.is_superadmin), dump_time(user.created_at)),
                )
                conn.executemany(
                    "INSERT INTO tenant_admins (user_id, tenant_id, role) VALUES (?, ?, ?)",
                    [(user.id, tenant_id, role.value) for tenant_id, role in user.roles.items()],
                )
        except self._db.dialect.integrity_errors:
            raise AlreadyExists(f"user {user.email!r} already exists") from None

    def get_user(self, user_id: str) -> User | None:
        return self._user(self._db.row("SELECT * FROM users WHERE id = ?", (user_id,)))

    def get_user_by_email(self, email: str) -> User | None:
        return self._user(self._db.row("SELECT * FROM users WHERE email = ?", (email,)))

    def set_user_password(self, user_id: str, password_hash: str) -> None:
        with self._db.write() as conn:
            cursor = conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))
            if cursor.rowcount == 0:
                raise NotFound(f"user {user_id!r} does not exist")

    def set_tenant_role(self, user_id: str, tenant_id: str, role: TenantRole) -> None:
        try:
            with self._db.write() as conn:
                conn.execute("DELETE FROM tenant_admins WHERE user_id = ? AND tenant_id = ?", (user_id, tenant_id))
                conn.execute(
                    "INSERT INTO tenant_admins (user_id, tenant_id, role) VALUES (?, ?, ?)",
                    (user_id, tenant_id, role.value),
                )
        except self._db.dialect.integrity_errors:
            raise NotFound("user or tenant does not exist") from None

    def remove_tenant_role(self, user_id: str, tenant_id: str) -> bool:
        with self._db.write() as conn:
            cursor = conn.execute("DELETE FROM tenant_admins WHERE user_id = ? AND tenant_id = ?", (user_id, tenant_id))
            return bool(cursor.rowcount)

    def list_tenant_members(self, tenant_id: str) -> list[User]:
        rows = self._db.rows(
            "SELECT users.* FROM users JOIN tenant_admins ON tenant_admins.user_id = users.id "
            "WHERE tenant_admins.tenant_id = ? ORDER BY users.email",
            (tenant_id,),
        )
        return [user for row in rows if (user := self._user(row)) is not None]
