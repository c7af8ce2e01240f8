"""``pyregistry yank``, ``unyank``, ``purge-file``, ``purge-release`` and ``purge-project``: the admin UI's release
actions, through the same use cases, recorded in the audit trail as actor ``cli``."""

from __future__ import annotations

import click
import msgspec

from pyregistry_bootstrap.commands.common import CLI_USER, admin, config_option, emit_json, json_option

__all__ = ["purge_file", "purge_project", "purge_release", "unyank", "yank"]

_tenant = click.option("--tenant", required=True)
_project = click.option("--project", required=True)
_version = click.option("--version", "version", required=True, help="The release's version.")


class YankOutput(msgspec.Struct, frozen=True):
    """``yank --json`` / ``unyank --json``."""

    tenant: str
    project: str
    version: str
    yanked: bool
    reason: str | None


class PurgeOutput(msgspec.Struct, frozen=True):
    """``purge-* --json``: what went (records and blobs)."""

    tenant: str
    kind: str
    target: str
    files_removed: int


def _set_yanked(
    ctx: click.Context, config_path: str | None, tenant: str, project: str, version: str, reason: str | None
) -> YankOutput:
    """Yank (``reason`` given, possibly empty) or unyank through the admin use case."""
    yanked = reason is not None
    shown = " ".join((reason or "").split()) or None
    admin(ctx, config_path, storage=True).releases().set_yanked(
        CLI_USER, tenant, project, version, yanked=yanked, reason=shown or ""
    )
    return YankOutput(tenant, project, version, yanked, shown)


def _report_yank(result: YankOutput, as_json: bool) -> None:
    if as_json:
        emit_json(result)
    elif result.yanked:
        click.echo(
            f"yanked {result.project} {result.version} in tenant {result.tenant}: {result.reason or 'no reason'}"
        )
    else:
        click.echo(f"unyanked {result.project} {result.version} in tenant {result.tenant}")


@click.command("yank")
@config_option
@_tenant
@_project
@_version
@click.option("--reason", default="", help="Why (shown to installers, at most 500 characters).")
@json_option
@click.pass_context
def yank(
    ctx: click.Context, config_path: str | None, tenant: str, project: str, version: str, reason: str, as_json: bool
) -> None:
    """Yank a release (PEP 592): pip and uv skip it unless it is pinned with ==."""
    _report_yank(_set_yanked(ctx, config_path, tenant, project, version, reason), as_json)


@click.command("unyank")
@config_option
@_tenant
@_project
@_version
@json_option
@click.pass_context
def unyank(ctx: click.Context, config_path: str | None, tenant: str, project: str, version: str, as_json: bool) -> None:
    """Make a yanked release installable again."""
    _report_yank(_set_yanked(ctx, config_path, tenant, project, version, None), as_json)


def _report_purge(result: PurgeOutput, as_json: bool) -> None:
    if as_json:
        emit_json(result)
    else:
        click.echo(
            f"purged {result.kind} {result.target} from tenant {result.tenant}: {result.files_removed} file(s) removed"
        )


@click.command("purge-file")
@config_option
@_tenant
@_project
@click.option("--filename", required=True)
@json_option
@click.pass_context
def purge_file(
    ctx: click.Context, config_path: str | None, tenant: str, project: str, filename: str, as_json: bool
) -> None:
    """Delete one file: its record, blob, core metadata and provenance."""
    admin(ctx, config_path, storage=True).releases().purge_file(CLI_USER, tenant, project, filename)
    _report_purge(PurgeOutput(tenant, "file", filename, 1), as_json)


@click.command("purge-release")
@config_option
@_tenant
@_project
@_version
@json_option
@click.pass_context
def purge_release(
    ctx: click.Context, config_path: str | None, tenant: str, project: str, version: str, as_json: bool
) -> None:
    """Delete a release with all its files (records and blobs)."""
    removed = admin(ctx, config_path, storage=True).releases().purge_release(CLI_USER, tenant, project, version)
    _report_purge(PurgeOutput(tenant, "release", f"{project}=={version}", removed), as_json)


@click.command("purge-project")
@config_option
@_tenant
@_project
@json_option
@click.pass_context
def purge_project(ctx: click.Context, config_path: str | None, tenant: str, project: str, as_json: bool) -> None:
    """Delete a project with every release and file (records and blobs)."""
    removed = admin(ctx, config_path, storage=True).releases().purge_project(CLI_USER, tenant, project)
    _report_purge(PurgeOutput(tenant, "project", project, removed), as_json)
