"""``pyregistry backup``, ``restore`` and ``verify``: snapshots, moves between backends, and storage checks."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pyregistry_bootstrap.commands.common import config_option, configured, emit_json, json_option

__all__ = ["backup", "restore", "verify"]


def _progress(message: str) -> None:
    click.echo(message, err=True)


@click.command("backup")
@config_option
@click.option("--to", "directory", required=True, type=click.Path(path_type=Path), help="New or empty directory.")
@click.option(
    "--blobs",
    type=click.Choice(["copy", "reference"]),
    default="copy",
    show_default=True,
    help="Copy the blobs into the backup, or only record their keys and sha256 (they stay in storage).",
)
@json_option
@click.pass_context
def backup(ctx: click.Context, config_path: str | None, directory: Path, blobs: str, as_json: bool) -> None:
    """Write a consistent snapshot of the metadata (JSON lines) and a manifest of blobs with sha256."""
    from pyregistry_application.backups import RegistryBackup
    from pyregistry_bootstrap.cli_wiring import metadata_archive
    from pyregistry_bootstrap.store_wiring import open_existing_backend
    from pyregistry_bootstrap.wiring import build_storage
    from pyregistry_infrastructure.system import SystemClock

    settings = configured(ctx, config_path).settings
    store = open_existing_backend(settings)
    service = RegistryBackup(metadata_archive(settings, store), build_storage(settings), SystemClock())
    report = service.run(directory, "reference" if blobs == "reference" else "copy", _progress)
    if as_json:
        emit_json(report)
        return
    rows = sum(report.tables.values())
    click.echo(
        f"backed up {rows} row(s) in {len(report.tables)} table(s) and {report.blob_count} blob(s) "
        f"({report.blob_bytes} bytes, {report.blobs}) to {report.directory}"
    )


@click.command("restore")
@config_option
@click.option(
    "--from",
    "directory",
    required=True,
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    help="A directory written by `pyregistry backup`.",
)
@json_option
@click.pass_context
def restore(ctx: click.Context, config_path: str | None, directory: Path, as_json: bool) -> None:
    """Load a backup into an EMPTY deployment (any backend), checking each blob's sha256 as it is copied."""
    from pyregistry_application.restores import RegistryRestore
    from pyregistry_bootstrap.cli_wiring import metadata_archive
    from pyregistry_bootstrap.store_wiring import build_backend
    from pyregistry_bootstrap.wiring import build_storage

    settings = configured(ctx, config_path).settings
    store = build_backend(settings)
    report = RegistryRestore(metadata_archive(settings, store), build_storage(settings)).run(directory, _progress)
    if as_json:
        emit_json(report)
        return
    click.echo(
        f"restored {sum(report.tables.values())} row(s) in {len(report.tables)} table(s) and "
        f"{report.blob_count} blob(s) ({report.blob_bytes} bytes{', copied' if report.blobs_copied else ', in place'})"
    )


@click.command("verify")
@config_option
@json_option
@click.pass_context
def verify(ctx: click.Context, config_path: str | None, as_json: bool) -> None:
    """Check that every file record has its blob with the right sha256 and every blob has a record (exit 1 if not)."""
    from pyregistry_application.verification import StorageVerifier
    from pyregistry_bootstrap.store_wiring import open_existing_backend
    from pyregistry_bootstrap.wiring import build_storage

    settings = configured(ctx, config_path).settings
    backend = open_existing_backend(settings)
    report = StorageVerifier(backend.tenants, backend.catalogue, build_storage(settings)).run()
    if as_json:
        emit_json(
            {"ok": report.ok, "files": report.files, "blobs_checked": report.blobs_checked, "problems": report.problems}
        )
    else:
        for problem in report.problems:
            click.echo(f"{problem.kind} {problem.key}: {problem.detail}")
        status = "ok" if report.ok else f"{len(report.problems)} problem(s)"
        click.echo(f"verified {report.files} file record(s) and {report.blobs_checked} blob(s): {status}")
    if not report.ok:
        sys.exit(1)
