"""A throwaway SQL Server database per test where ``PYREGISTRY_TEST_MSSQL_URL`` points at a server."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import pymssql
import pytest

from pyregistry_infrastructure.metadata_stores.sqlserver import parse_sqlserver_url

__all__ = ["MSSQL_URL", "sqlserver_database"]

MSSQL_URL = os.environ.get("PYREGISTRY_TEST_MSSQL_URL")


@contextmanager
def sqlserver_database() -> Iterator[str]:
    """Create a uniquely named database, yield its ``sqlserver://`` URL, drop it afterwards."""
    if not MSSQL_URL:
        pytest.skip("PYREGISTRY_TEST_MSSQL_URL is not set: no SQL Server to test against")
    target = parse_sqlserver_url(MSSQL_URL)
    name = f"pyr_test_{secrets.token_hex(6)}"

    def admin(statement: str) -> None:
        with pymssql.connect(
            server=target.host,
            port=str(target.port),
            user=target.user,
            password=target.password,
            database="master",
            autocommit=True,
        ) as conn:
            conn.cursor().execute(statement)

    admin(f"CREATE DATABASE [{name}]")
    parts = urlsplit(MSSQL_URL)
    try:
        yield parts._replace(path=f"/{name}").geturl()
    finally:
        admin(f"ALTER DATABASE [{name}] SET SINGLE_USER WITH ROLLBACK IMMEDIATE")
        admin(f"DROP DATABASE [{name}]")
