"""The core end-to-end suite (twine, pip, uv, tenants, refusals) once more on PostgreSQL + S3 storage."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.test_core_clients import *  # noqa: F403 - re-collects every core test against the registry below
from tests.support.postgres import postgres_schema
from tests.support.s3 import running_s3_server
from tests.support.server import RunningRegistry, start_registry

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    """A real server configured only by environment variables: PostgreSQL metadata, S3 artifacts."""
    workdir = tmp_path_factory.mktemp("core-pg-s3")
    with postgres_schema() as database_url, running_s3_server(workdir) as s3:
        env = {"DATABASE_STORE": "postgres", "DATABASE_URL": database_url, **s3.env(s3.new_bucket())}
        server = start_registry(workdir / "server", env)
        try:
            yield server
        finally:
            server.stop()
