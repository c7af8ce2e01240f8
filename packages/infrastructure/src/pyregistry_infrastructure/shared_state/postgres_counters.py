"""Limit counters in one PostgreSQL table: atomic upserts timed by the database's clock, expired rows swept."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import psycopg
import psycopg_pool
import structlog

from pyregistry_application.limit_counters import (
    TOKEN_UNITS,
    BucketDecision,
    BucketLimits,
    LimitCountersUnavailable,
    ThrottlePolicy,
    attempt_wait_ms,
)
from pyregistry_infrastructure.secret_masking import mask_url

__all__ = ["TABLE", "PostgresLimitCounters"]

_log = structlog.get_logger(__name__)

TABLE = "pyregistry_limit_counters"
_SWEEP_INTERVAL_SECONDS = 60.0

_CREATE = """
CREATE TABLE IF NOT EXISTS pyregistry_limit_counters (
    key text PRIMARY KEY,
    amount bigint NOT NULL,
    stamp_ms bigint NOT NULL,
    granted boolean NOT NULL,
    expires_ms bigint NOT NULL
)"""

_NOW = "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint"

# The bucket refilled up to now (a row past its expiry is a full bucket) is spelled out in each SET expression,
# which all see the old row: granted when it holds a token, then less that token.
_TAKE = """
INSERT INTO pyregistry_limit_counters AS c (key, amount, stamp_ms, granted, expires_ms)
SELECT %(key)s, %(cap)s - %(token)s, n.ms, true, n.ms + %(ttl)s
FROM (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS ms) AS n
ON CONFLICT (key) DO UPDATE SET
    granted = @R >= %(token)s,
    amount = @R - CASE WHEN @R >= %(token)s THEN %(token)s ELSE 0 END,
    stamp_ms = EXCLUDED.stamp_ms,
    expires_ms = EXCLUDED.expires_ms
RETURNING granted, amount""".replace(
    "@R",
    "LEAST(%(cap)s, CASE WHEN c.expires_ms <= EXCLUDED.stamp_ms THEN %(cap)s "
    "ELSE c.amount + GREATEST(0, EXCLUDED.stamp_ms - c.stamp_ms) * %(rate)s END)",
)

_GIVE_BACK = """
UPDATE pyregistry_limit_counters SET amount = LEAST(%(cap)s, amount + %(token)s)
WHERE key = %(key)s AND expires_ms > (extract(epoch FROM clock_timestamp()) * 1000)::bigint"""

_LIVE_ATTEMPTS = """
SELECT key, amount, stamp_ms FROM pyregistry_limit_counters WHERE key = ANY(%s) AND expires_ms > %s"""

_RECORD_FAILURE = """
INSERT INTO pyregistry_limit_counters AS c (key, amount, stamp_ms, granted, expires_ms)
VALUES (%(key)s, 1, %(now)s, true, %(now)s + %(window)s + 1)
ON CONFLICT (key) DO UPDATE SET
    amount = CASE WHEN c.expires_ms > EXCLUDED.stamp_ms THEN c.amount + 1 ELSE 1 END,
    stamp_ms = EXCLUDED.stamp_ms,
    expires_ms = EXCLUDED.expires_ms"""

_REFUND = "UPDATE pyregistry_limit_counters SET amount = GREATEST(amount - 1, 0) WHERE key = ANY(%s)"
_CLEAR = "DELETE FROM pyregistry_limit_counters WHERE key = ANY(%s)"
_SWEEP = "DELETE FROM pyregistry_limit_counters WHERE expires_ms <= %s"


def _relax_durability(conn: psycopg.Connection) -> None:
    """Counters need no flush to disk per request: a crash may lose the last few milliseconds of counts."""
    conn.execute("SET synchronous_commit = off")


class PostgresLimitCounters:
    """Buckets and failure counts as rows of ``pyregistry_limit_counters`` (created on first use).

    A bucket is one ``INSERT … ON CONFLICT … RETURNING``; a reservation locks its keys with transaction-level
    advisory locks (taken in key order, so two reservations never deadlock), reads, and upserts. Rows carry an
    expiry (a full bucket, a failure window passed) and expired rows are deleted at most once a minute.
    """

    def __init__(self, url: str, *, max_connections: int = 4, timeout_seconds: float = 2.0) -> None:
        self._location = mask_url(url)
        self._pool = psycopg_pool.ConnectionPool(
            url,
            min_size=1,
            max_size=max_connections,
            timeout=timeout_seconds,
            kwargs={"autocommit": True, "connect_timeout": max(1, round(timeout_seconds))},
            configure=_relax_durability,
            open=False,
        )
        self._opened = False
        self._ready = False
        self._lock = threading.Lock()
        self._next_sweep = 0.0

    def take_token(self, key: str, limits: BucketLimits) -> BucketDecision:
        """Spend one token of ``key``'s bucket if it has one."""
        parameters = {
            "key": f"bucket:{key}",
            "cap": limits.capacity,
            "rate": limits.requests_per_minute,
            "token": TOKEN_UNITS,
            "ttl": limits.refill_ms + 1,
        }
        with self._connection() as conn:
            row = conn.execute(_TAKE, parameters).fetchone()
            self._sweep(conn)
        if row is None or row[0]:
            return BucketDecision(allowed=True)
        wait_ms = -(-(TOKEN_UNITS - int(row[1])) // limits.requests_per_minute)
        return BucketDecision(allowed=False, retry_after_seconds=wait_ms / 1000)

    def give_back_token(self, key: str, limits: BucketLimits) -> None:
        """Return one token to ``key``'s bucket (never above its burst)."""
        with self._connection() as conn:
            conn.execute(_GIVE_BACK, {"key": f"bucket:{key}", "cap": limits.capacity, "token": TOKEN_UNITS})

    def reserve_attempt(self, keys: Mapping[str, int], policy: ThrottlePolicy) -> int:
        """The wait in ms when a key is throttled, else ``0`` with a failure recorded under every key."""
        names = {f"attempts:{key}": free for key, free in keys.items()}
        with self._connection() as conn, conn.transaction():
            for name in sorted(names):
                conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (name,))
            now = self._now(conn)
            rows = conn.execute(_LIVE_ATTEMPTS, (list(names), now)).fetchall()
            wait = max((attempt_wait_ms(int(c), int(last), names[k], now, policy) for k, c, last in rows), default=0)
            if wait == 0:
                with conn.cursor() as cursor:
                    cursor.executemany(
                        _RECORD_FAILURE, [{"key": name, "now": now, "window": policy.window_ms} for name in names]
                    )
            return wait

    def refund_attempt(self, keys: Mapping[str, int]) -> None:
        """Take back one failure under each of these keys."""
        with self._connection() as conn:
            conn.execute(_REFUND, ([f"attempts:{key}" for key in keys],))

    def clear(self, keys: Mapping[str, int]) -> None:
        """Forget the failures of these keys."""
        with self._connection() as conn:
            conn.execute(_CLEAR, ([f"attempts:{key}" for key in keys],))

    def close(self) -> None:
        """Close the connection pool."""
        if self._opened:
            self._pool.close()

    @staticmethod
    def _now(conn: psycopg.Connection) -> int:
        row = conn.execute(_NOW).fetchone()
        return int(row[0]) if row else 0

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection]:
        if not self._opened:
            with self._lock:
                if not self._opened:
                    self._pool.open(wait=False)
                    self._opened = True
        try:
            with self._pool.connection() as conn:
                self._ensure_table(conn)
                yield conn
        except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
            reason = (str(exc).strip() or type(exc).__name__).splitlines()[0]
            raise LimitCountersUnavailable(f"PostgreSQL at {self._location} is unavailable: {reason}") from None

    def _ensure_table(self, conn: psycopg.Connection) -> None:
        if self._ready:
            return
        with self._lock, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (TABLE,))
            conn.execute(_CREATE)
            self._ready = True

    def _sweep(self, conn: psycopg.Connection) -> None:
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + _SWEEP_INTERVAL_SECONDS
        deleted = conn.execute(_SWEEP, (self._now(conn),)).rowcount
        if deleted:
            _log.debug("limit_counters.swept", rows=deleted)
