"""Administering tenants, tokens and releases from the ``pyregistry`` command line against a real server's data."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_core_clients import twine_upload
from tests.support.dists import build_wheel
from tests.support.server import RunningRegistry

pytestmark = pytest.mark.e2e

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"


def _json(registry: RunningRegistry, *args: str) -> Any:
    result = registry.cli(*args, "--json")
    return json.loads(result.stdout)


def _files(registry: RunningRegistry, tenant: str, token: str, project: str) -> dict[str, Any]:
    response = httpx.get(
        f"{registry.base_url}/t/{tenant}/simple/{project}/",
        headers={"Accept": SIMPLE_JSON},
        auth=("__token__", token),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return {file["filename"]: file for file in response.json()["files"]}


def test_tokens_are_listed_and_revoked_as_json(registry: RunningRegistry) -> None:
    registry.create_tenant("tokenco")
    issued = _json(
        registry, "issue-token", "--tenant", "tokenco", "--name", "ci", "--scope", "read", "--scope", "publish"
    )
    assert sorted(issued) == ["expires_at", "id", "name", "project", "scopes", "secret", "tenant_slug"]
    assert (issued["name"], issued["scopes"], issued["tenant_slug"], issued["expires_at"]) == (
        "ci",
        ["publish", "read"],
        "tokenco",
        None,
    )
    page = f"{registry.base_url}/t/tokenco/simple/"
    assert httpx.get(page, auth=("__token__", issued["secret"]), timeout=30).status_code == 200

    [listed] = _json(registry, "list-tokens", "--tenant", "tokenco")
    assert sorted(listed) == [
        "active",
        "created_at",
        "created_by",
        "expires_at",
        "id",
        "last_used_at",
        "name",
        "project",
        "revoked_at",
        "scopes",
    ]
    assert (listed["id"], listed["name"], listed["scopes"], listed["active"], listed["created_by"]) == (
        issued["id"],
        "ci",
        ["publish", "read"],
        True,
        "cli",
    )
    assert issued["secret"] not in registry.cli("list-tokens", "--tenant", "tokenco").stdout

    revoked = _json(registry, "revoke-token", "--tenant", "tokenco", "--id", issued["id"])
    assert revoked == {"tenant": "tokenco", "id": issued["id"], "revoked": True}
    [after] = _json(registry, "list-tokens", "--tenant", "tokenco")
    assert after["active"] is False and after["revoked_at"] is not None
    assert httpx.get(page, auth=("__token__", issued["secret"]), timeout=30).status_code == 401
    text = registry.cli("list-tokens", "--tenant", "tokenco").stdout
    assert text == f"{issued['id']}\tci\tpublish,read\t*\texpires never\trevoked\n"

    missing = registry.cli("revoke-token", "--tenant", "tokenco", "--id", "no-such-id", check=False)
    assert missing.returncode == 1
    database = registry.workdir / ".pyregistry" / "pyregistry.sqlite3"
    assert missing.stderr == (
        f"error: token 'no-such-id' does not exist in tenant 'tokenco' in SQLite database {database} "
        f"(data directory {registry.workdir / '.pyregistry'})\n"
    )


def test_tenants_are_listed_as_json(registry: RunningRegistry) -> None:
    registry.create_tenant("listco", "--enable-mirroring")
    tenants = {tenant["slug"]: tenant for tenant in _json(registry, "list-tenants")}
    assert set(tenants["listco"]) == {"slug", "display_name", "mirroring_enabled", "created_at"}
    assert (tenants["listco"]["display_name"], tenants["listco"]["mirroring_enabled"]) == ("Listco", True)
    assert "listco\tListco\tmirroring on\n" in registry.cli("list-tenants").stdout


def test_yank_unyank_and_purge_release_files_and_projects(registry: RunningRegistry, tmp_path: Path) -> None:
    registry.create_tenant("relco")
    publish = registry.issue_token("relco", "publish")
    read = registry.issue_token("relco", "read")
    wheels = [build_wheel(tmp_path, "rocket-kit", version) for version in ("1.0.0", "2.0.0", "3.0.0")]
    other = build_wheel(tmp_path, "side-kit", "1.0.0")
    upload = twine_upload(registry, "relco", publish, *wheels, other)
    assert upload.returncode == 0, upload.stdout + upload.stderr
    blobs = registry.workdir / ".pyregistry" / "blobs"

    yanked = _json(
        registry,
        "yank",
        "--tenant",
        "relco",
        "--project",
        "rocket-kit",
        "--version",
        "2.0.0",
        "--reason",
        "broken  build",
    )
    assert yanked == {
        "tenant": "relco",
        "project": "rocket-kit",
        "version": "2.0.0",
        "yanked": True,
        "reason": "broken build",
    }
    assert _files(registry, "relco", read, "rocket-kit")[wheels[1].name]["yanked"] == "broken build"
    unyanked = registry.cli("unyank", "--tenant", "relco", "--project", "rocket-kit", "--version", "2.0.0")
    assert unyanked.stdout == "unyanked rocket-kit 2.0.0 in tenant relco\n"
    assert _files(registry, "relco", read, "rocket-kit")[wheels[1].name]["yanked"] is False

    purged_file = _json(
        registry, "purge-file", "--tenant", "relco", "--project", "rocket-kit", "--filename", wheels[0].name
    )
    assert purged_file == {"tenant": "relco", "kind": "file", "target": wheels[0].name, "files_removed": 1}
    assert not list(blobs.rglob(wheels[0].name))
    assert wheels[0].name not in _files(registry, "relco", read, "rocket-kit")

    purged_release = _json(
        registry, "purge-release", "--tenant", "relco", "--project", "rocket-kit", "--version", "2.0.0"
    )
    assert purged_release == {"tenant": "relco", "kind": "release", "target": "rocket-kit==2.0.0", "files_removed": 1}
    assert set(_files(registry, "relco", read, "rocket-kit")) == {wheels[2].name}

    purged = registry.cli("purge-project", "--tenant", "relco", "--project", "rocket-kit")
    assert purged.stdout == "purged project rocket-kit from tenant relco: 1 file(s) removed\n"
    assert not list(blobs.rglob("rocket_kit-*"))
    gone = httpx.get(f"{registry.base_url}/t/relco/simple/rocket-kit/", auth=("__token__", read), timeout=30)
    assert gone.status_code == 404
    assert set(_files(registry, "relco", read, "side-kit")) == {other.name}

    missing = registry.cli("yank", "--tenant", "relco", "--project", "side-kit", "--version", "9.9", check=False)
    assert missing.returncode == 1
    assert missing.stderr.startswith("error: release side-kit 9.9 does not exist in tenant 'relco' in SQLite database ")
    with sqlite3.connect(registry.workdir / ".pyregistry" / "pyregistry.sqlite3") as database:
        rows = database.execute(
            "SELECT actor, action, target FROM audit_events WHERE action LIKE 'release.%' OR action LIKE '%.purge' "
            "ORDER BY occurred_at"
        ).fetchall()
    assert rows == [
        ("cli", "release.yank", "rocket-kit==2.0.0"),
        ("cli", "release.unyank", "rocket-kit==2.0.0"),
        ("cli", "file.purge", wheels[0].name),
        ("cli", "release.purge", "rocket-kit==2.0.0"),
        ("cli", "project.purge", "rocket-kit"),
    ]
