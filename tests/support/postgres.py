"""A throwaway PostgreSQL schema per test on the server at 127.0.0.1:5432 (``PYREGISTRY_TEST_POSTGRES_URL``)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import psycopg

from tests.support.required import require

__all__ = ["ADMIN_URL", "postgres_schema", "require_postgres", "schema_url"]

ADMIN_URL = os.environ.get("PYREGISTRY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def require_postgres() -> None:
    """Skip when PostgreSQL is unreachable, except under CI (``CI=true``), where that is a failure."""
    try:
        with psycopg.connect(ADMIN_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        require(False, f"PostgreSQL at {ADMIN_URL} is not reachable: {str(exc).strip().splitlines()[0]}")


def schema_url(schema: str) -> str:
    """``ADMIN_URL`` with ``search_path`` set to ``schema`` for every connection."""
    separator = "&" if "?" in ADMIN_URL else "?"
    return f"{ADMIN_URL}{separator}options={quote(f'-csearch_path={schema}')}"


@contextmanager
def postgres_schema() -> Iterator[str]:
    """Create a uniquely named schema, yield a connection URL using it, drop it afterwards."""
    require_postgres()
    schema = f"pyr_test_{secrets.token_hex(6)}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield schema_url(schema)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
