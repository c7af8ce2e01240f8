"""``pyregistry set-project-status``: the admin UI's PEP 792 status form, recorded in the audit trail as ``cli``."""

from __future__ import annotations

import click
import msgspec

from pyregistry_bootstrap.commands.common import CLI_USER, admin, config_option, emit_json, json_option
from pyregistry_domain.project_status import ProjectStatusKind

__all__ = ["set_project_status"]


class ProjectStatusOutput(msgspec.Struct, frozen=True):
    """``set-project-status --json``."""

    tenant: str
    project: str
    status: str
    reason: str | None


@click.command("set-project-status")
@config_option
@click.option("--tenant", required=True)
@click.option("--project", required=True)
@click.option(
    "--status", required=True, type=click.Choice([kind.value for kind in ProjectStatusKind]), help="PEP 792 status."
)
@click.option("--reason", default="", help="Why (shown to installers, at most 500 characters).")
@json_option
@click.pass_context
def set_project_status(
    ctx: click.Context, config_path: str | None, tenant: str, project: str, status: str, reason: str, as_json: bool
) -> None:
    """Set a project's status: archived and quarantined refuse uploads, quarantined offers no files."""
    recorded = admin(ctx, config_path).statuses.set_status(CLI_USER, tenant, project, status, reason)
    result = ProjectStatusOutput(tenant, project, recorded.kind.value, recorded.reason)
    if as_json:
        emit_json(result)
    else:
        click.echo(f"{project} in tenant {tenant} is now {result.status}: {result.reason or 'no reason'}")
