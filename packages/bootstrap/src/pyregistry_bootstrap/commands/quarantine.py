"""``pyregistry release-file``: serve a mirrored file that scan before serve quarantined, with a reason (audited as
``mirror.file_released`` by actor ``cli``)."""

from __future__ import annotations

import click

from pyregistry_bootstrap.commands.common import CLI_ACTOR, admin, config_option

__all__ = ["release_file"]


@click.command("release-file")
@config_option
@click.option("--tenant", required=True)
@click.option("--project", required=True)
@click.option("--file", "filename", required=True, help="The quarantined file's name.")
@click.option("--reason", required=True, help="Why the finding is accepted (kept in the audit trail).")
@click.pass_context
def release_file(
    ctx: click.Context, config_path: str | None, tenant: str, project: str, filename: str, reason: str
) -> None:
    """Release a quarantined mirrored file: it is offered and served again in the tenant."""
    gate = admin(ctx, config_path).scan_gate()
    if gate is None:
        raise click.ClickException("scan before serve is off (security.mirror_scan_enabled = false)")
    release = gate.release(tenant, project, filename, actor=CLI_ACTOR, reason=reason)
    click.echo(f"released {release.filename} in tenant {tenant}: {release.reason}")
