"""``pyregistry sweep-blobs``: remove stored blobs that no file record refers to."""

from __future__ import annotations

from datetime import timedelta

import click

from pyregistry_bootstrap.commands.common import CLI_ACTOR, config_option, emit_json, json_option, runtime

__all__ = ["sweep_blobs"]


@click.command("sweep-blobs")
@config_option
@click.option(
    "--grace-minutes",
    type=click.IntRange(min=0),
    default=60,
    show_default=True,
    help="Keep orphans younger than this: uploads and mirror downloads store a blob before recording it.",
)
@click.option("--dry-run", is_flag=True, help="List the orphans without removing anything.")
@json_option
@click.pass_context
def sweep_blobs(ctx: click.Context, config_path: str | None, grace_minutes: int, dry_run: bool, as_json: bool) -> None:
    """Find blobs in artifact storage that no file record refers to (left by a crash between storing and
    recording) and remove those older than the grace period."""
    from pyregistry_application.blob_sweep import OrphanBlobSweeper

    services = runtime(ctx, config_path).services
    sweeper = OrphanBlobSweeper(
        services.metadata.tenants, services.metadata.catalogue, services.storage, services.clock, services.audit
    )
    report = sweeper.sweep(timedelta(minutes=grace_minutes), dry_run=dry_run, actor=CLI_ACTOR)
    if as_json:
        emit_json(report)
        return
    for orphan in report.orphans:
        age = "age unknown" if orphan.age_seconds is None else f"{orphan.age_seconds // 60} min old"
        click.echo(f"orphan {orphan.key} ({orphan.size} bytes, {age})")
    verb = "would remove" if dry_run else "removed"
    count = len(report.orphans) - report.too_recent if dry_run else report.removed
    click.echo(
        f"examined {report.examined} blob(s): {report.referenced} referenced, {len(report.orphans)} orphaned; "
        f"{verb} {count}, kept {report.too_recent} younger than {grace_minutes} min or of unknown age"
    )
