"""API tokens in portable SQL."""

from __future__ import annotations

from datetime import datetime

from pyregistry_domain.errors import AlreadyExists
from pyregistry_domain.tokens import ApiToken
from pyregistry_infrastructure.metadata_stores.rows import dump_time, token_from_row
from pyregistry_infrastructure.metadata_stores.sql_base import SqlDatabase

__all__ = ["SqlTokenStore"]


class SqlTokenStore:
    """Implements ``TokenStore`` on any :class:`SqlDatabase`."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    def add_token(self, token: ApiToken) -> None:
        try:
            with self._db.write() as conn:
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
        except self._db.dialect.integrity_errors:
            raise AlreadyExists("token already exists") from None

    def get_token_by_key_id(self, key_id: str) -> ApiToken | None:
        row = self._db.row("SELECT * FROM api_tokens WHERE key_id = ?", (key_id,))
        return token_from_row(row) if row else None

    def list_tokens(self, tenant_id: str) -> list[ApiToken]:
        rows = self._db.rows("SELECT * FROM api_tokens WHERE tenant_id = ? ORDER BY created_at DESC", (tenant_id,))
        return [token_from_row(row) for row in rows]

    def revoke_token(self, tenant_id: str, token_id: str, when: datetime) -> bool:
        with self._db.write() as conn:
            cursor = conn.execute(
                "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? AND tenant_id = ?",
                (dump_time(when), token_id, tenant_id),
            )
            return int(cursor.rowcount) > 0

    def touch_token(self, token_id: str, when: datetime) -> None:
        with self._db.write() as conn:
            conn.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", (dump_time(when), token_id))
