"""The CLI's administrative use cases run in the test process over a server's data, without a process per call.

``pyregistry create-tenant`` and ``issue-token`` cost a Python start-up each; fixtures that only need a tenant or a
token (the CLI is not what they test) call the same use cases here, with the same settings, store and audit actor.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path

from pyregistry_bootstrap.cli_identity import CLI_ACTOR
from pyregistry_bootstrap.cli_wiring import AdminCommands, admin_commands
from pyregistry_infrastructure.config import load_settings

__all__ = ["create_tenant_in_process", "issue_token_in_process", "registry_admin"]


@contextlib.contextmanager
def registry_admin(workdir: Path, env: Mapping[str, str], *, create: bool = False) -> Iterator[AdminCommands]:
    """The use cases ``pyregistry`` would wire when started in ``workdir`` with ``env``; the store is closed after."""
    with contextlib.chdir(workdir):  # ./pyregistry.toml and relative paths resolve as for the CLI run there
        settings = load_settings(None, environ=env).settings
    if settings.database_store in {"memory", "in-memory"}:
        raise ValueError("a server on the in-memory store shares its data with no other process")
    commands = admin_commands(settings, create=create)
    try:
        yield commands
    finally:
        commands.metadata.close()


def create_tenant_in_process(
    workdir: Path,
    env: Mapping[str, str],
    slug: str,
    *,
    admin_email: str | None = None,
    admin_password: str | None = None,
    mirroring_enabled: bool = False,
) -> None:
    """``pyregistry create-tenant --slug SLUG --display-name Slug [...]``, in this process."""
    with registry_admin(workdir, env, create=True) as commands:
        commands.tenants.create_tenant(
            slug=slug,
            display_name=slug.title(),
            admin_email=admin_email,
            admin_password=admin_password,
            mirroring_enabled=mirroring_enabled,
            actor=CLI_ACTOR,
        )


def issue_token_in_process(
    workdir: Path, env: Mapping[str, str], tenant: str, scopes: list[str], *, project: str | None, name: str
) -> str:
    """``pyregistry issue-token`` in this process; returns the secret the command would print."""
    with registry_admin(workdir, env) as commands:
        issued = commands.tokens.issue(tenant_slug=tenant, name=name, scopes=scopes, project=project, actor=CLI_ACTOR)
    return issued.secret
