"""Backup, restore and verify end to end: a registry on SQLite + filesystem moves to PostgreSQL + S3."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_core_clients import twine_upload
from tests.support.dists import build_sdist, build_wheel
from tests.support.pip_target import pip_install_into
from tests.support.postgres import postgres_schema
from tests.support.s3 import running_s3_server
from tests.support.server import RunningRegistry, pyregistry_exe, start_registry

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}


@dataclass
class Source:
    """The old registry (stopped after the backup), its tokens, the pages it served and the backup."""

    registry: RunningRegistry
    tokens: dict[str, str]
    pages: dict[str, Any]
    backup: Path


def pages_of(registry: RunningRegistry, token: str) -> dict[str, Any]:
    auth = ("__token__", token)
    return {
        path: httpx.get(f"{registry.base_url}/t/acme/simple/{path}", auth=auth, headers=JSON).json()
        for path in ("", "acme-tools/", "widget-lib/")
    }


def cli(workdir: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [pyregistry_exe(), *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Source]:
    base = tmp_path_factory.mktemp("backup-source")
    registry = start_registry(base / "old")
    try:
        registry.create_tenant("acme")
        tokens = {
            "publish": registry.issue_token("acme", "publish", name="ci"),
            "read": registry.issue_token("acme", "read", name="developers"),
        }
        dist = base / "dist"
        dist.mkdir()
        files = [
            build_wheel(dist, "acme-tools", "1.0.0"),
            build_sdist(dist, "acme-tools", "1.0.0"),
            build_wheel(dist, "acme-tools", "1.1.0"),
            build_wheel(dist, "widget-lib", "0.3.0"),
        ]
        upload = twine_upload(registry, "acme", tokens["publish"], *files)
        assert upload.returncode == 0, upload.stdout + upload.stderr
        registry.cli("yank", "--tenant", "acme", "--project", "acme-tools", "--version", "1.1.0", "--reason", "bad")
        pages = pages_of(registry, tokens["read"])
        backup = base / "backup"
        made = registry.cli("backup", "--to", str(backup), "--json")
        yield Source(registry, tokens, pages, backup)
        assert json.loads(made.stdout)["blob_count"] == 8  # four files, four core metadata blobs
    finally:
        registry.stop()


def test_move_from_sqlite_and_filesystem_to_postgres_and_s3(source: Source, tmp_path: Path) -> None:
    manifest = json.loads((source.backup / "manifest.json").read_text())
    assert manifest["database"] == "sqlite"
    assert manifest["tables"]["api_tokens"] == 2
    assert manifest["tables"]["release_files"] == 4
    with postgres_schema() as database_url, running_s3_server(tmp_path) as s3:
        env = {
            **{key: value for key, value in source.registry.env.items() if key != "BIND_ADDRESS"},
            "DATABASE_STORE": "postgres",
            "DATABASE_URL": database_url,
            **s3.env(s3.new_bucket()),
        }
        workdir = tmp_path / "new"
        workdir.mkdir()
        restored = cli(workdir, env, "restore", "--from", str(source.backup), "--json")
        assert restored.returncode == 0, restored.stderr
        report = json.loads(restored.stdout)
        assert report["tables"] == manifest["tables"]
        assert (report["blob_count"], report["blobs_copied"]) == (8, True)

        again = cli(workdir, env, "restore", "--from", str(source.backup))
        assert again.returncode == 1
        error = again.stderr.splitlines()[-1]
        assert error.startswith("error: the target metadata store is not empty: tenants (1 rows), ")
        assert error.endswith("audit_events (8 rows), tenant_listings (1 rows); restore into an empty deployment")

        verified = cli(workdir, env, "verify", "--json")
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert json.loads(verified.stdout) == {"ok": True, "files": 4, "blobs_checked": 8, "problems": []}

        new = start_registry(workdir, env)
        try:
            assert pages_of(new, source.tokens["read"]) == source.pages
            yanked = next(
                item for item in source.pages["acme-tools/"]["files"] if item["filename"].startswith("acme_tools-1.1")
            )
            assert yanked["yanked"] == "bad"
            installed = pip_install_into(tmp_path / "site", new.index_url("acme", source.tokens["read"]), "acme-tools")
            assert installed.returncode == 0, installed.stdout + installed.stderr
            assert (tmp_path / "site" / "acme_tools" / "__init__.py").read_text() == "VERSION = '1.0.0'\n"
            upload = twine_upload(new, "acme", source.tokens["publish"], build_wheel(tmp_path, "widget-lib", "0.4.0"))
            assert upload.returncode == 0, upload.stdout + upload.stderr
        finally:
            new.stop()


def test_restore_refuses_a_corrupted_blob_and_stores_nothing(source: Source, tmp_path: Path) -> None:
    damaged = tmp_path / "damaged"
    shutil.copytree(source.backup, damaged)
    entry = json.loads((damaged / "blobs.jsonl").read_text().splitlines()[0])
    blob = damaged / "blobs" / entry["key"]
    data = blob.read_bytes()
    blob.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))
    workdir = tmp_path / "target"
    workdir.mkdir()
    result = cli(workdir, source.registry.env, "restore", "--from", str(damaged))
    assert result.returncode == 1
    error = result.stderr.splitlines()[-1]
    assert error.startswith(f"error: the backup is damaged, nothing was restored: blobs/{entry['key']} is corrupted")
    assert cli(workdir, source.registry.env, "list-tenants", "--json").stdout.strip() == "[]"
    assert not any((workdir / ".pyregistry" / "blobs").rglob("*.whl"))


def test_verify_lists_missing_corrupted_and_orphaned_blobs(source: Source, tmp_path: Path) -> None:
    workdir = tmp_path / "copy"
    workdir.mkdir()
    restored = cli(workdir, source.registry.env, "restore", "--from", str(source.backup))
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.startswith("restored ")
    blobs = workdir / ".pyregistry" / "blobs"
    wheels = sorted(blobs.rglob("*.whl"))
    missing, corrupted = wheels[0], wheels[1]
    missing.unlink()
    corrupted.write_bytes(b"not the wheel")
    orphan = missing.parent.parent / "stray" / "left-behind.whl"
    orphan.parent.mkdir()
    orphan.write_bytes(b"x")
    result = cli(workdir, source.registry.env, "verify", "--json")
    assert result.returncode == 1
    problems = {(problem["kind"], problem["key"]) for problem in json.loads(result.stdout)["problems"]}
    relative = {path: path.relative_to(blobs).as_posix() for path in (missing, corrupted, orphan)}
    assert problems == {
        ("missing", relative[missing]),
        ("sha256-mismatch", relative[corrupted]),
        ("orphan", relative[orphan]),
    }
    text = cli(workdir, source.registry.env, "verify")
    assert text.returncode == 1
    assert text.stdout.rstrip().endswith("verified 4 file record(s) and 7 blob(s): 3 problem(s)")


def test_reference_backup_restores_onto_the_storage_that_holds_its_blobs(source: Source, tmp_path: Path) -> None:
    backup = tmp_path / "reference"
    made = source.registry.cli("backup", "--to", str(backup), "--blobs", "reference", "--json")
    assert (json.loads(made.stdout)["blobs"], json.loads(made.stdout)["blob_count"]) == ("reference", 8)
    assert not (backup / "blobs").exists()
    first_key = json.loads((backup / "blobs.jsonl").read_text().splitlines()[0])["key"]

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    refused = cli(elsewhere, source.registry.env, "restore", "--from", str(backup))
    assert refused.returncode == 1
    assert refused.stderr.splitlines()[-1].startswith(
        f"error: a reference backup needs its blobs in the target storage: {first_key} is missing from the target "
        "storage; "
    )
    assert cli(elsewhere, source.registry.env, "list-tenants", "--json").stdout.strip() == "[]"

    same_storage = {**source.registry.env, "BLOB_ROOT": str(source.registry.workdir / ".pyregistry" / "blobs")}
    workdir = tmp_path / "metadata-only"
    workdir.mkdir()
    restored = cli(workdir, same_storage, "restore", "--from", str(backup), "--json")
    assert restored.returncode == 0, restored.stderr
    assert (json.loads(restored.stdout)["blob_count"], json.loads(restored.stdout)["blobs_copied"]) == (8, False)
    verified = cli(workdir, same_storage, "verify")
    assert verified.stdout.splitlines()[-1] == "verified 4 file record(s) and 8 blob(s): ok"


def test_backup_refuses_a_used_directory_and_the_in_memory_store(source: Source, tmp_path: Path) -> None:
    used = source.registry.cli("backup", "--to", str(source.backup), check=False)
    assert used.returncode == 1
    assert used.stderr.splitlines()[-1] == f"error: {source.backup} is not empty: back up into a new or empty directory"
    memory = cli(tmp_path, {**source.registry.env, "DATABASE_STORE": "memory"}, "backup", "--to", str(tmp_path / "b"))
    assert memory.returncode == 1
    assert memory.stderr.splitlines()[-1] == (
        "error: key 'database_store': 'memory' keeps nothing on disk; backup and restore need sqlite, postgres or "
        "sqlserver"
    )
