"""The ``pyregistry`` console script refusing bad usage with one clear line, exit code and nothing stored."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from pyregistry_bootstrap.cli import main
from tests.support.postgres import postgres_schema
from tests.support.server import pyregistry_exe

pytestmark = pytest.mark.e2e


def _env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "PYREGISTRY_CONFIG"}
    env.update({"SUPERADMIN_PASSWORD": "admin-password-for-tests", "COOKIE_SECRET": "cookie-secret-for-tests" * 2})
    return env


def pyregistry(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([pyregistry_exe(), *args], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    "args",
    [
        ("list-tenants",),
        ("list-tokens", "--tenant", "acme"),
        ("issue-token", "--tenant", "acme", "--name", "ci", "--scope", "read"),
        ("revoke-token", "--tenant", "acme", "--id", "x"),
        ("yank", "--tenant", "acme", "--project", "demo", "--version", "1.0"),
        ("purge-project", "--tenant", "acme", "--project", "demo", "--json"),
    ],
)
def test_commands_run_elsewhere_name_the_database_and_create_nothing(tmp_path: Path, args: tuple[str, ...]) -> None:
    registry = tmp_path / "registry"
    registry.mkdir()
    assert pyregistry(registry, "create-tenant", "--slug", "acme", "--display-name", "Acme").returncode == 0
    elsewhere = registry / "subdirectory"
    elsewhere.mkdir()
    result = pyregistry(elsewhere, *args)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"error: no registry here: SQLite database {elsewhere}/.pyregistry/pyregistry.sqlite3 (data directory "
        f"{elsewhere}/.pyregistry) does not exist (wrong directory or --config?)\n"
    )
    assert list(elsewhere.iterdir()) == []


def test_expiry_beyond_ten_years_is_a_usage_error_and_stores_nothing(tmp_path: Path) -> None:
    assert pyregistry(tmp_path, "create-tenant", "--slug", "acme", "--display-name", "Acme").returncode == 0
    for lifetime in ("99999999999d", "3651d", "0d", "999999999999999999999999w"):
        result = pyregistry(
            tmp_path, "issue-token", "--tenant", "acme", "--name", "ci", "--scope", "read", "--expires-in", lifetime
        )
        assert (result.returncode, result.stdout) == (2, "")
        assert "Traceback" not in result.stderr
        assert result.stderr.splitlines()[-1] == (
            "Error: Invalid value for '--expires-in': token lifetime must be more than 0 and at most 3650 days "
            "(10 years)"
        )
    listed = pyregistry(tmp_path, "list-tokens", "--tenant", "acme", "--json")
    assert (listed.returncode, json.loads(listed.stdout)) == (0, [])
    longest = pyregistry(
        tmp_path,
        "issue-token",
        "--tenant",
        "acme",
        "--name",
        "ci",
        "--scope",
        "read",
        "--expires-in",
        "3650d",
        "--json",
    )
    assert longest.returncode == 0, longest.stderr
    assert json.loads(longest.stdout)["expires_at"] is not None


def test_create_tenant_says_the_admin_password_is_missing(tmp_path: Path) -> None:
    result = pyregistry(
        tmp_path, "create-tenant", "--slug", "acme", "--display-name", "Acme", "--admin-email", "boss@acme.example"
    )
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "error: the admin password is missing: boss@acme.example has no account yet, so one is needed\n"
    )
    assert json.loads(pyregistry(tmp_path, "list-tenants", "--json").stdout) == []


def test_version() -> None:
    result = subprocess.run([pyregistry_exe(), "--version"], capture_output=True, text=True, timeout=60, check=False)
    assert (result.returncode, result.stdout, result.stderr) == (0, "pyregistry 0.1.0\n", "")


def test_scope_help_says_it_can_be_repeated() -> None:
    result = CliRunner().invoke(main, ["issue-token", "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert "What the token may do; repeat for both: --scope read --scope publish." in " ".join(result.output.split())


def test_every_command_loads_and_has_help() -> None:
    listed = CliRunner().invoke(main, ["--help"])
    assert listed.exit_code == 0
    commands = [line.split()[0] for line in listed.output.split("Commands:")[1].splitlines() if line.strip()]
    assert "list-tokens" in commands and "purge-release" in commands
    for command in commands:
        result = CliRunner().invoke(main, [command, "--help"])
        assert result.exit_code == 0, (command, result.output)
        assert result.output.startswith(f"Usage: main {command} ")


def test_json_output_stays_clean_on_postgres(tmp_path: Path) -> None:
    with postgres_schema() as database_url:
        env = {**_env(), "DATABASE_STORE": "postgres", "DATABASE_URL": database_url}

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [pyregistry_exe(), *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
            )

        assert run("create-tenant", "--slug", "pgco", "--display-name", "Pg Co").returncode == 0
        issued = json.loads(run("issue-token", "--tenant", "pgco", "--name", "ci", "--scope", "read", "--json").stdout)
        listed = run("list-tokens", "--tenant", "pgco", "--json")
        assert [(token["id"], token["active"]) for token in json.loads(listed.stdout)] == [(issued["id"], True)]
        tenants = json.loads(run("list-tenants", "--json").stdout)
        assert [tenant["slug"] for tenant in tenants] == ["pgco"]
        missing = run("yank", "--tenant", "pgco", "--project", "nothing", "--version", "1.0", "--json")
        assert (missing.returncode, missing.stdout) == (1, "")
        assert missing.stderr.splitlines()[-1].startswith(
            "error: release nothing 1.0 does not exist in tenant 'pgco' in PostgreSQL database postgresql://"
        )
