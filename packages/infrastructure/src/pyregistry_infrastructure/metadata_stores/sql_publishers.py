"""Trusted-publisher and jti replay stores in portable SQL on a :class:`SqlDatabase`.

The tables come from migrations ``0500_trusted_publishers`` and ``0950_publisher_issuer`` (every dialect), so the
same adapters serve SQLite, PostgreSQL and SQL Server, and every process sharing the database sees the same
publishers and used jti values.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pyregistry_domain.errors import AlreadyExists
from pyregistry_domain.publishers import PublisherProvider, TrustedPublisher
from pyregistry_infrastructure.metadata_stores.rows import dump_time, load_time
from pyregistry_infrastructure.metadata_stores.sql_base import SqlDatabase

__all__ = ["SqlJtiReplayStore", "SqlPublisherStore"]

_PUBLISHER_SELECT = "SELECT * FROM trusted_publishers"
_JTI_COLUMNS = ("issuer", "jti", "expires_at")


def _publisher(row: dict[str, Any]) -> TrustedPublisher:
    created = load_time(row["created_at"])
    assert created is not None
    return TrustedPublisher(
        id=row["id"],
        tenant_id=row["tenant_id"],
        project=row["project"],
        provider=PublisherProvider(row["provider"]),
        issuer=row["issuer"],
        repository=row["repository"],
        workflow=row["workflow"],
        environment=row["environment"] or None,
        created_at=created,
        created_by=row["created_by"],
    )


class SqlPublisherStore:
    """Publishers in ``trusted_publishers``; ``environment`` is stored as '' when absent so UNIQUE applies.

    Repositories compare case-insensitively (as identity-token claims do): an add checks for a differently
    cased duplicate while holding the catalogue lock, and the UNIQUE constraint catches exact duplicates.
    """

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    def add_publisher(self, publisher: TrustedPublisher) -> None:
        environment = publisher.environment or ""
        try:
            with self._db.write() as conn:
                self._db.next_serial(conn)
                duplicate = conn.query(
                    """SELECT id FROM trusted_publishers WHERE tenant_id = ? AND project = ? AND provider = ?
                    AND lower(repository) = ? AND workflow = ? AND environment = ?""",
                    (
                        publisher.tenant_id,
                        publisher.project,
                        publisher.provider.value,
                        publisher.repository.lower(),
                        publisher.workflow,
                        environment,
                    ),
                )
                if duplicate:
                    raise AlreadyExists(_duplicate(publisher))
                conn.execute(
                    "INSERT INTO trusted_publishers (id, tenant_id, project, provider, issuer, repository, workflow,"
                    " environment, created_at, created_by) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (
                        publisher.id,
                        publisher.tenant_id,
                        publisher.project,
                        publisher.provider.value,
                        publisher.issuer,
                        publisher.repository,
                        publisher.workflow,
                        environment,
                        dump_time(publisher.created_at),
                        publisher.created_by,
                    ),
                )
        except self._db.dialect.integrity_errors as exc:
            if self._db.dialect.is_unique_violation(exc):
                raise AlreadyExists(_duplicate(publisher)) from None
            raise

    def list_publishers(self, tenant_id: str) -> list[TrustedPublisher]:
        rows = self._db.rows(_PUBLISHER_SELECT + " WHERE tenant_id = ? ORDER BY created_at, id", (tenant_id,))
        return [_publisher(row) for row in rows]

    def publishers_for_provider(self, provider: PublisherProvider) -> list[TrustedPublisher]:
        rows = self._db.rows(_PUBLISHER_SELECT + " WHERE provider = ? ORDER BY created_at, id", (provider.value,))
        return [_publisher(row) for row in rows]

    def remove_publisher(self, tenant_id: str, publisher_id: str) -> bool:
        with self._db.write() as conn:
            cursor = conn.execute(
                "DELETE FROM trusted_publishers WHERE tenant_id = ? AND id = ?", (tenant_id, publisher_id)
            )
            return int(cursor.rowcount) > 0

    def bind_unbound_publishers(self, provider: PublisherProvider, issuer: str) -> int:
        with self._db.write() as conn:
            cursor = conn.execute(
                "UPDATE trusted_publishers SET issuer = ? WHERE provider = ? AND issuer = ''", (issuer, provider.value)
            )
            return max(int(cursor.rowcount), 0)


def _duplicate(publisher: TrustedPublisher) -> str:
    return f"publisher {publisher.identity} is already registered for {publisher.project}"


class SqlJtiReplayStore:
    """Used jti values in ``oidc_used_jti`` keyed by ``(issuer, jti)``.

    Each claim first purges expired rows, then inserts the jti unless it is present: the primary key makes
    exactly one of any number of concurrent claims (in any process on the database) the winner.
    """

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    def claim(self, issuer: str, jti: str, expires_at: datetime, now: datetime) -> bool:
        with self._db.write() as conn:
            conn.execute("DELETE FROM oidc_used_jti WHERE expires_at < ?", (dump_time(now),))
        with self._db.write() as conn:
            cursor = conn.execute(
                self._db.dialect.insert_ignore("oidc_used_jti", _JTI_COLUMNS, ("issuer", "jti")),
                (issuer, jti, dump_time(expires_at)),
            )
            return int(cursor.rowcount) == 1
