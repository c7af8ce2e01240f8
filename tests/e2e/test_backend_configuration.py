"""Configuring the production backends from the CLI: the MinIO/S3 template, and one-line errors when they are down."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import tomlkit

from pyregistry_infrastructure.config import load_settings
from tests.support.s3 import S3Server, running_s3_server
from tests.support.server import free_port, pyregistry_exe

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with running_s3_server(tmp_path_factory.mktemp("moto")) as server:
        yield server


def pyregistry(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {key: value for key, value in os.environ.items() if key != "PYREGISTRY_CONFIG"}
    full.update({"SUPERADMIN_PASSWORD": "admin-password-for-tests", **(env or {})})
    return subprocess.run([pyregistry_exe(), *args], cwd=cwd, env=full, capture_output=True, text=True, timeout=120)


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in error_lines[0]


def test_minio_template_configures_s3_storage_that_works(s3: S3Server, tmp_path: Path) -> None:
    assert pyregistry(tmp_path, "init-config", "--storage", "minio").returncode == 0
    document = tomlkit.parse((tmp_path / "pyregistry.toml").read_text())
    options = document["artifact_storage"]["opendal"]["options"]  # type: ignore[index]
    assert document["artifact_storage"]["opendal"]["scheme"] == "s3"  # type: ignore[index]
    assert {key: options[key] for key in ("disable_config_load", "disable_ec2_metadata")} == {  # type: ignore[index]
        "disable_config_load": "true",
        "disable_ec2_metadata": "true",
    }
    bucket = s3.new_bucket()
    env = {"OPENDAL_ENDPOINT": s3.endpoint, "OPENDAL_BUCKET": bucket}
    loaded = load_settings(str(tmp_path / "pyregistry.toml"), env)
    assert loaded.settings.artifact_storage.opendal.options["endpoint"] == s3.endpoint
    assert loaded.sources["artifact_storage.opendal.options.bucket"] == "env:OPENDAL_BUCKET"
    assert loaded.settings.artifact_storage.opendal.options["root"] == "/artifacts"
    created = pyregistry(tmp_path, "create-tenant", "--slug", "acme", "--display-name", "Acme", env=env)
    assert created.returncode == 0, created.stderr
    swept = pyregistry(tmp_path, "sweep-blobs", "--dry-run", "--json", env=env)
    assert swept.returncode == 0, swept.stderr
    assert json.loads(swept.stdout)["examined"] == 0


def test_missing_bucket_is_a_one_line_error(s3: S3Server, tmp_path: Path) -> None:
    env = s3.env("no-such-bucket")
    result = pyregistry(tmp_path, "sweep-blobs", "--dry-run", env=env)
    assert_one_line_error(result, "artifact_storage.opendal", "NoSuchBucket")


def test_unreachable_postgres_is_a_one_line_error_without_the_password(tmp_path: Path) -> None:
    env = {
        "DATABASE_STORE": "postgres",
        "DATABASE_URL": f"postgres://pyregistry:hunter2@127.0.0.1:{free_port()}/pyregistry",
        "POSTGRES_ACQUIRE_TIMEOUT_SECONDS": "1",
    }
    result = pyregistry(tmp_path, "create-tenant", "--slug", "acme", "--display-name", "Acme", env=env)
    assert_one_line_error(result, "postgres.connection_url", "pyregistry:***@127.0.0.1", "refused")
    assert "hunter2" not in result.stderr


def test_unreachable_sql_server_is_a_one_line_error(tmp_path: Path) -> None:
    env = {
        "DATABASE_STORE": "sqlserver",
        "SQL_SERVER_URL": f"sqlserver://sa:hunter2@127.0.0.1:{free_port()}/pyregistry",
        "SQL_SERVER_ACQUIRE_TIMEOUT_SECONDS": "1",
    }
    result = pyregistry(tmp_path, "create-tenant", "--slug", "acme", "--display-name", "Acme", env=env)
    assert_one_line_error(result, "sql_server.connection_url", "sa:***@127.0.0.1")
    assert "hunter2" not in result.stderr


def test_bad_pool_sizes_are_refused(tmp_path: Path) -> None:
    env = {"DATABASE_STORE": "postgres", "POSTGRES_MIN_CONNECTIONS": "5", "POSTGRES_MAX_CONNECTIONS": "2"}
    result = pyregistry(tmp_path, "create-tenant", "--slug", "acme", "--display-name", "Acme", env=env)
    assert_one_line_error(result, "key 'postgres'", "min_connections (5) <= max_connections (2)")
