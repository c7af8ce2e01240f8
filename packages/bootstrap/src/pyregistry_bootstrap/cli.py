"""The ``pyregistry`` command line.

Every command is a ``click.command`` in a module of :mod:`pyregistry_bootstrap.commands`, listed once in
:data:`COMMANDS` and imported only when it runs (or when ``--help`` lists it); command modules reach services only
through ``commands.common`` and import their heavy dependencies inside the command (see
:mod:`pyregistry_bootstrap.commands`), so ``pyregistry --help`` and the token commands start quickly.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

__all__ = ["COMMANDS", "main"]

COMMANDS: dict[str, str] = {
    "add-publisher": "publishers:add_publisher",
    "approve-release": "release_policy:approve_release",
    "audit-wheel": "security:scan_wheel",
    "backup": "backup:backup",
    "check-registry": "security:check_registry",
    "config": "config:config_group",
    "create-tenant": "tenants:create_tenant",
    "import": "importing:import_command",
    "grant-role": "people:grant_role",
    "init-config": "setup:init_config",
    "issue-token": "tokens:issue_token",
    "list-approvals": "release_policy:list_approvals",
    "list-people": "people:list_people",
    "list-publishers": "publishers:list_publishers",
    "list-tenants": "tenants:list_tenants",
    "list-tokens": "tokens:list_tokens",
    "mirror": "mirror:mirror",
    "purge-file": "releases:purge_file",
    "purge-project": "releases:purge_project",
    "purge-release": "releases:purge_release",
    "provenance-policy": "provenance:provenance_policy",
    "release-file": "quarantine:release_file",
    "release-held": "provenance:release_held",
    "remove-publisher": "publishers:remove_publisher",
    "restore": "backup:restore",
    "revoke-approval": "release_policy:revoke_approval",
    "revoke-role": "people:revoke_role",
    "revoke-sessions": "people:revoke_sessions",
    "revoke-token": "tokens:revoke_token",
    "serve": "setup:serve",
    "set-project-status": "project_status:set_project_status",
    "set-release-policy": "release_policy:set_release_policy",
    "sweep-blobs": "storage:sweep_blobs",
    "unyank": "releases:unyank",
    "validate-dist": "security:validate_dist",
    "validate-dist-all": "security:validate_dist_all",
    "verify": "backup:verify",
    "yank": "releases:yank",
}
"""Command name -> ``module:attribute`` under ``pyregistry_bootstrap.commands``."""


class RegistryGroup(click.Group):
    """Loads commands on demand; turns expected failures into one line on stderr and exit 1, never a traceback.
    A missing tenant, token or release also names the database that was searched."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, _, attribute = target.partition(":")
        command: click.Command = getattr(
            importlib.import_module(f"pyregistry_bootstrap.commands.{module_name}"), attribute
        )
        return command

    def invoke(self, ctx: click.Context) -> Any:
        from pyregistry_domain.errors import DomainError, NotFound
        from pyregistry_infrastructure.config import ConfigError

        try:
            return super().invoke(ctx)
        except (DomainError, ConfigError) as exc:
            message = getattr(exc, "message", None) or str(exc)
            location = (ctx.obj or {}).get("location")
            if isinstance(exc, NotFound) and location:
                message += f" in {location}"
            click.echo(f"error: {message}", err=True)
            sys.exit(1)
        except OSError as exc:
            click.echo(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), err=True)
            sys.exit(1)


@click.group(cls=RegistryGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pyregistry", prog_name="pyregistry", message="%(prog)s %(version)s")
@click.option("--config", "config_path", default=None, metavar="PATH", help="TOML config file (must end in .toml).")
@click.pass_context
def main(ctx: click.Context, config_path: str | None) -> None:
    """pyregistry: a private Python package registry."""
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path
