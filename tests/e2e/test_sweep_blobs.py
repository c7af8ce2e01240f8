"""``pyregistry sweep-blobs`` against a real server's SQLite + filesystem data: orphans go, everything else stays."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_core_clients import twine_upload
from tests.support.dists import build_wheel, sha256_of
from tests.support.server import RunningRegistry

pytestmark = pytest.mark.e2e


def _plant(path: Path, data: bytes, age_seconds: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    then = time.time() - age_seconds
    os.utime(path, (then, then))
    return path


def test_sweep_removes_only_old_orphans_of_known_tenants(registry: RunningRegistry, tmp_path: Path) -> None:
    registry.create_tenant("umbrella")
    wheel = build_wheel(tmp_path, "umbrella-kit", "1.0.0")
    upload = twine_upload(registry, "umbrella", registry.issue_token("umbrella", "publish"), wheel)
    assert upload.returncode == 0, upload.stdout + upload.stderr
    blobs = registry.workdir / ".pyregistry" / "blobs"
    stored = next(blobs.rglob(wheel.name))
    tenant_dir = stored.parents[2]
    old_orphan = _plant(tenant_dir / "umbrella-kit" / "deadbeef" / "umbrella_kit-0.9-py3-none-any.whl", b"x" * 10, 7200)
    old_metadata = _plant(old_orphan.with_name(old_orphan.name + ".metadata"), b"Name: x\n", 7200)
    fresh_orphan = _plant(tenant_dir / "umbrella-kit" / "cafebabe" / "umbrella_kit-0.8-py3-none-any.whl", b"y", 30)
    foreign = _plant(blobs / "backups" / "db" / "nightly" / "dump.sql", b"keep me", 7200)
    odd_shape = _plant(tenant_dir / "README.txt", b"keep me too", 7200)

    dry = json.loads(registry.cli("sweep-blobs", "--dry-run", "--json").stdout)
    assert dry["dry_run"] is True and dry["removed"] == 0
    assert {Path(orphan["key"]).name for orphan in dry["orphans"]} == {
        old_orphan.name,
        old_metadata.name,
        fresh_orphan.name,
    }
    assert dry["too_recent"] == 1
    assert old_orphan.exists()

    swept = registry.cli("sweep-blobs")
    assert "removed 2" in swept.stdout, swept.stdout
    assert not old_orphan.exists() and not old_metadata.exists()
    assert fresh_orphan.exists() and foreign.exists() and odd_shape.exists()
    assert stored.exists() and stored.with_name(stored.name + ".metadata").exists()

    token = registry.issue_token("umbrella", "read")
    url = f"{registry.base_url}/t/umbrella/files/umbrella-kit/1.0.0/{wheel.name}"
    download = httpx.get(url, auth=("__token__", token))
    assert download.status_code == 200
    assert sha256_of(wheel) == hashlib.sha256(download.content).hexdigest()

    again = json.loads(registry.cli("sweep-blobs", "--grace-minutes", "0", "--json").stdout)
    assert again["removed"] == 1 and again["orphans"][0]["key"].endswith(fresh_orphan.name)
    assert not fresh_orphan.exists()
