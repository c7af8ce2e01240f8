"""SQLite trusted-publisher and jti replay stores; tables come from migration ``0500_trusted_publishers``."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from pyregistry_domain.errors import AlreadyExists
from pyregistry_domain.publishers import PublisherProvider, TrustedPublisher
from pyregistry_infrastructure.stores.rows import dump_time, load_time

__all__ = ["SqliteJtiReplayStore", "SqlitePublisherStore"]


class _Connections:
    """One connection per thread on the registry's (already migrated) database file."""

    def __init__(self, path: str | Path) -> None:
        self._path = str(path)
        self._local = threading.local()

    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self._path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        conn = self.conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


def _publisher(row: sqlite3.Row | dict[str, Any]) -> TrustedPublisher:
    created = load_time(row["created_at"])
    assert created is not None
    return TrustedPublisher(
        id=row["id"],
        tenant_id=row["tenant_id"],
        project=row["project"],
        provider=PublisherProvider(row["provider"]),
        repository=row["repository"],
        workflow=row["workflow"],
        environment=row["environment"] or None,
        created_at=created,
        created_by=row["created_by"],
    )


class SqlitePublisherStore:
    """Publishers in ``trusted_publishers``; ``environment`` is stored as '' when absent so UNIQUE applies."""

    def __init__(self, path: str | Path) -> None:
        self._db = _Connections(path)

    def add_publisher(self, publisher: TrustedPublisher) -> None:
        try:
            with self._db.write() as conn:
                conn.execute(
                    "INSERT INTO trusted_publishers (id, tenant_id, project, provider, repository, workflow,"
                    " environment, created_at, created_by) VALUES (?,?,?,?,?,?,?,?,?)",
                    (
                        publisher.id,
                        publisher.tenant_id,
                        publisher.project,
                        publisher.provider.value,
                        publisher.repository,
                        publisher.workflow,
                        publisher.environment or "",
                        dump_time(publisher.created_at),
                        publisher.created_by,
                    ),
                )
        except sqlite3.IntegrityError:
            raise AlreadyExists(
                f"publisher {publisher.identity} is already registered for {publisher.project}"
            ) from None

    def list_publishers(self, tenant_id: str) -> list[TrustedPublisher]:
        rows = self._db.conn().execute("SELECT * FROM trusted_publishers WHERE tenant_id = ?", (tenant_id,))
        return [_publisher(row) for row in rows]

    def publishers_for_provider(self, provider: PublisherProvider) -> list[TrustedPublisher]:
        rows = self._db.conn().execute("SELECT * FROM trusted_publishers WHERE provider = ?", (provider.value,))
        return [_publisher(row) for row in rows]

    def remove_publisher(self, tenant_id: str, publisher_id: str) -> bool:
        with self._db.write() as conn:
            cursor = conn.execute(
                "DELETE FROM trusted_publishers WHERE tenant_id = ? AND id = ?", (tenant_id, publisher_id)
            )
            return cursor.rowcount > 0


class SqliteJtiReplayStore:
    """Used jti values in ``oidc_used_jti``; expired rows are purged on each claim."""

    def __init__(self, path: str | Path) -> None:
        self._db = _Connections(path)

    def claim(self, issuer: str, jti: str, expires_at: datetime, now: datetime) -> bool:
        with self._db.write() as conn:
            conn.execute("DELETE FROM oidc_used_jti WHERE expires_at < ?", (dump_time(now),))
            try:
                conn.execute(
                    "INSERT INTO oidc_used_jti (issuer, jti, expires_at) VALUES (?,?,?)",
                    (issuer, jti, dump_time(expires_at)),
                )
            except sqlite3.IntegrityError:
                return False
        return True
