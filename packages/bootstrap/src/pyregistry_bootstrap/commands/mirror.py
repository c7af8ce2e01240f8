"""``pyregistry mirror``: refresh a tenant's mirror cache from the command line, with a progress bar."""

from __future__ import annotations

import sys
from contextlib import ExitStack

import click

from pyregistry_bootstrap.commands.common import CLI_ACTOR, config_option, runtime
from pyregistry_bootstrap.commands.progress import FileProgress

__all__ = ["mirror"]


@click.command("mirror")
@config_option
@click.option("--tenant", required=True, help="Tenant slug; the tenant must have mirroring enabled.")
@click.option("--project", default=None, help="One project to mirror (default: every mirrored project).")
@click.pass_context
def mirror(ctx: click.Context, config_path: str | None, tenant: str, project: str | None) -> None:
    """Refresh mirrored project pages from upstream and cache the newest files."""
    services = runtime(ctx, config_path).services
    if services.mirroring is None:
        raise click.ClickException("mirroring is not configured")
    with ExitStack() as stack:
        progress = FileProgress(stack, "caching")
        try:
            report = services.mirroring.refresh(
                tenant,
                project,
                actor=CLI_ACTOR,
                on_files=progress.start,
                on_file_done=lambda file: progress.advance(file.filename),
            )
        finally:
            services.mirroring.close()
    for error in report.errors:
        click.echo(f"warning: {error}", err=True)
    click.echo(
        f"mirrored {len(report.projects)} project(s) for tenant {report.tenant_slug}; "
        f"cached {report.files_cached} file(s)"
    )
    if report.errors and report.files_cached == 0 and len(report.errors) >= len(report.projects):
        sys.exit(1)
