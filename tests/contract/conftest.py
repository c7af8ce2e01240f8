"""Adapters for the contract suites: every MetadataBackend and every ArtifactStorage backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import pytest

from pyregistry_application.metadata_backend import MetadataBackend
from pyregistry_application.ports import ArtifactStorage
from pyregistry_domain.tenants import Tenant
from pyregistry_infrastructure.blob_storage.opendal_storage import OpenDalStorage
from pyregistry_infrastructure.metadata_stores.memory_backend import memory_backend
from pyregistry_infrastructure.metadata_stores.pool import PoolLimits
from pyregistry_infrastructure.metadata_stores.postgres import PostgresDatabase
from pyregistry_infrastructure.metadata_stores.sql_backend import sql_backend
from pyregistry_infrastructure.metadata_stores.sql_base import SqlDatabase
from pyregistry_infrastructure.metadata_stores.sqlite import SqliteDatabase
from pyregistry_infrastructure.metadata_stores.sqlserver import SqlServerDatabase
from tests.support.postgres import postgres_schema
from tests.support.s3 import S3Server, running_s3_server
from tests.support.sqlserver import sqlserver_database

T = TypeVar("T")

STORE_KINDS = ["memory", "sqlite", "postgres", "sqlserver"]
SQL_STORE_KINDS = ["sqlite", "postgres", "sqlserver"]


def _marks(kind: str) -> list[pytest.MarkDecorator]:
    return [pytest.mark.postgres] if kind == "postgres" else []


STORE_PARAMS = [pytest.param(kind, marks=_marks(kind), id=kind) for kind in STORE_KINDS]
SQL_STORE_PARAMS = [pytest.param(kind, marks=_marks(kind), id=kind) for kind in SQL_STORE_KINDS]


@pytest.fixture
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """``(kind, where)``: a fresh, empty database for a SQL store (``where`` is empty for memory)."""
    kind: str = request.param
    if kind == "postgres":
        with postgres_schema() as url:
            yield kind, url
    elif kind == "sqlserver":
        with sqlserver_database() as url:
            yield kind, url
    elif kind == "sqlite":
        yield kind, str(tmp_path / "registry.sqlite3")
    else:
        yield kind, ""


def open_database(kind: str, where: str, max_connections: int = 8, min_connections: int = 1) -> SqlDatabase:
    """The SQL database of ``kind`` on ``where`` (pool sizes apply to PostgreSQL and SQL Server)."""
    limits = PoolLimits(max_connections=max_connections, min_connections=min_connections)
    if kind == "postgres":
        return PostgresDatabase(where, limits)
    if kind == "sqlserver":
        return SqlServerDatabase(where, limits)
    assert kind == "sqlite", kind
    return SqliteDatabase(where)


def open_store(kind: str, where: str, max_connections: int = 8, min_connections: int = 1) -> MetadataBackend:
    """The metadata backend of ``kind`` on ``where``, built as bootstrap builds it."""
    if kind == "memory":
        return memory_backend()
    return sql_backend(open_database(kind, where, max_connections, min_connections))


def other_processes(
    store_location: tuple[str, str], seed: Callable[[MetadataBackend], None], pick: Callable[[MetadataBackend], T]
) -> Iterator[Callable[[], T]]:
    """For a fixture to ``yield from``: a factory opening ``pick`` (one store) of another "process" on the same
    database, the first one seeded by ``seed`` (memory: the one process there is); closes them all at teardown."""
    kind, where = store_location
    opened: list[MetadataBackend] = []

    def factory() -> T:
        if kind == "memory" and opened:
            return pick(opened[0])
        registry = open_store(kind, where, max_connections=4)
        if not opened:
            seed(registry)
        opened.append(registry)
        return pick(registry)

    try:
        yield factory
    finally:
        for registry in opened:
            registry.close()


def add_mirroring_tenants(registry: MetadataBackend) -> None:
    """Seed tenants ``t1`` and ``t2``, both mirroring."""
    created = datetime(2026, 1, 1, 12, tzinfo=UTC)
    for tenant_id in ("t1", "t2"):
        registry.tenants.add_tenant(
            Tenant(id=tenant_id, slug=tenant_id, display_name=tenant_id, mirroring_enabled=True, created_at=created)
        )


@pytest.fixture
def store(store_location: tuple[str, str]) -> Iterator[MetadataBackend]:
    """One MetadataBackend adapter on a fresh database."""
    opened = open_store(*store_location)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """moto's S3 server on loopback for the whole session."""
    with running_s3_server(tmp_path_factory.mktemp("moto")) as server:
        yield server


@pytest.fixture(params=["fs", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> ArtifactStorage:
    """One ArtifactStorage adapter, empty."""
    if request.param == "fs":
        return OpenDalStorage.filesystem(tmp_path / "blobs")
    server: S3Server = request.getfixturevalue("s3_server")
    return OpenDalStorage("s3", server.options(server.new_bucket()))
