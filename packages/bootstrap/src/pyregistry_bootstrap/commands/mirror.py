"""``pyregistry mirror``: refresh a tenant's mirror cache from the command line, with a progress bar."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

import click

from pyregistry_bootstrap.commands.common import config_option, runtime

if TYPE_CHECKING:
    from pyregistry_domain.distributions import ReleaseFile

__all__ = ["mirror"]


class _Progress:
    """A progress bar on a terminal; one line per file otherwise (cron, CI logs), both on stderr."""

    def __init__(self, stack: ExitStack) -> None:
        self._stack = stack
        self._bar: Any = None
        self._total = 0
        self._done = 0

    def start(self, total: int) -> None:
        self._total = total
        if sys.stderr.isatty():
            self._bar = self._stack.enter_context(
                click.progressbar(length=total, label="caching files", file=sys.stderr, show_pos=True)
            )
        else:
            click.echo(f"caching {total} file(s)", err=True)

    def advance(self, file: ReleaseFile) -> None:
        self._done += 1
        if self._bar is not None:
            self._bar.update(1)
        else:
            click.echo(f"[{self._done}/{self._total}] {file.filename}", err=True)


@click.command("mirror")
@config_option
@click.option("--tenant", required=True, help="Tenant slug; the tenant must have mirroring enabled.")
@click.option("--project", default=None, help="One project to mirror (default: every mirrored project).")
@click.pass_context
def mirror(ctx: click.Context, config_path: str | None, tenant: str, project: str | None) -> None:
    """Refresh mirrored project pages from upstream and cache the newest files."""
    from pyregistry_bootstrap.cli_wiring import CLI_ACTOR

    services = runtime(ctx, config_path).services
    if services.mirroring is None:
        raise click.ClickException("mirroring is not configured")
    with ExitStack() as stack:
        progress = _Progress(stack)
        try:
            report = services.mirroring.refresh(
                tenant, project, actor=CLI_ACTOR, on_files=progress.start, on_file_done=progress.advance
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
