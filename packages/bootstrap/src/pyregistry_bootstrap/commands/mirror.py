"""``pyregistry mirror``: refresh a tenant's mirror cache from the command line, with a progress bar."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from typing import Any

import click

from pyregistry_domain.distributions import ReleaseFile

__all__ = ["mirror"]


@click.command("mirror")
@click.option("--config", "config_path", default=None, metavar="PATH", help="TOML config file (must end in .toml).")
@click.option("--tenant", required=True, help="Tenant slug; the tenant must have mirroring enabled.")
@click.option("--project", default=None, help="One project to mirror (default: every mirrored project).")
@click.pass_context
def mirror(ctx: click.Context, config_path: str | None, tenant: str, project: str | None) -> None:
    """Refresh mirrored project pages from upstream and cache the newest files."""
    from pyregistry_bootstrap.cli import CLI_ACTOR, _runtime

    services = _runtime(ctx, config_path).services
    if services.mirroring is None:
        raise click.ClickException("mirroring is not configured")
    with ExitStack() as stack:
        bar: dict[str, Any] = {}

        def start(total: int) -> None:
            bar["bar"] = stack.enter_context(
                click.progressbar(length=total, label="caching files", file=sys.stderr, show_pos=True)
            )

        def advance(_file: ReleaseFile) -> None:
            bar["bar"].update(1)

        try:
            report = services.mirroring.refresh(tenant, project, actor=CLI_ACTOR, on_files=start, on_file_done=advance)
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
