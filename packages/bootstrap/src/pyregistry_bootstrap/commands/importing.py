"""``pyregistry import``: move a pypiserver directory, a devpi index or any PEP 503/691 index into a tenant."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pyregistry_bootstrap.commands.common import config_option, emit_json, json_option, runtime
from pyregistry_bootstrap.commands.progress import FileProgress

if TYPE_CHECKING:
    from pyregistry_application.import_ports import ImportSource
    from pyregistry_application.imports import ImportOutcome

__all__ = ["import_command"]


def _describe(outcome: ImportOutcome) -> str:
    detail = f": {outcome.detail}" if outcome.detail else ""
    return f"{outcome.status} {outcome.filename}{detail}"


def _source(location: str, username: str | None, password: str | None) -> ImportSource:
    if location.startswith(("http://", "https://")):
        from pyregistry_infrastructure.importing.index_source import IndexSource

        return IndexSource(location, username, password)
    path = Path(location)
    if not path.is_dir():
        raise click.BadParameter(f"{location} is neither a directory nor an http(s) index URL", param_hint="SOURCE")
    from pyregistry_infrastructure.importing.directory_source import DirectorySource

    return DirectorySource(path)


@click.command("import")
@config_option
@click.option("--tenant", required=True, help="Tenant slug to import into.")
@click.option("--username", default=None, help="User name for the source index (or put it in the URL).")
@click.option("--password", default=None, envvar="PYREGISTRY_IMPORT_PASSWORD", help="Password or token for it.")
@click.option("--parallelism", type=click.IntRange(1, 64), default=8, show_default=True, help="Files at a time.")
@json_option
@click.argument("source")
@click.pass_context
def import_command(
    ctx: click.Context,
    config_path: str | None,
    tenant: str,
    username: str | None,
    password: str | None,
    parallelism: int,
    as_json: bool,
    source: str,
) -> None:
    """Import SOURCE (a pypiserver directory, or a devpi / PEP 503 / PEP 691 index URL) into a tenant: the checks
    of an upload, upload times and yanks kept, files already present skipped. Exit 1 when a file was refused or
    conflicts with one the tenant has."""
    from pyregistry_application.imports import RegistryImport

    run = runtime(ctx, config_path, sync_superadmin=False)
    origin = _source(source, username, password)
    service = RegistryImport(
        run.services.metadata.tenants,
        run.services.metadata.catalogue,
        run.services.uploads,
        run.services.clock,
        run.services.audit,
    )
    with ExitStack() as stack:
        stack.callback(origin.close)
        progress = FileProgress(stack, "importing")
        report = service.run(
            tenant,
            origin,
            scratch=run.scratch.subdirectory("import"),
            parallelism=parallelism,
            on_total=progress.start,
            on_done=lambda outcome: progress.advance(_describe(outcome)),
        )
    if as_json:
        emit_json(report)
    else:
        for outcome in [*report.conflicts, *report.refused]:
            click.echo(f"{outcome.status} {outcome.filename}: {outcome.detail}")
        click.echo(
            f"imported {report.imported} of {report.offered} file(s) from {report.source} into {report.tenant}: "
            f"{report.present} already present, {len(report.conflicts)} conflict(s), {len(report.refused)} refused, "
            f"{report.yanked_releases} release(s) yanked, in {report.seconds:.1f} s"
        )
    if report.conflicts or report.refused:
        sys.exit(1)
