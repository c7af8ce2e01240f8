"""The ``pyregistry`` command line."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import click

from pyregistry_bootstrap.commands.config import config_group
from pyregistry_bootstrap.commands.mirror import mirror
from pyregistry_bootstrap.commands.publishers import add_publisher, list_publishers, remove_publisher
from pyregistry_bootstrap.commands.security import SECURITY_COMMANDS
from pyregistry_bootstrap.commands.storage import sweep_blobs
from pyregistry_bootstrap.wiring import Runtime, build_runtime
from pyregistry_domain.errors import DomainError
from pyregistry_infrastructure.config import ConfigError, LoadedSettings, load_settings
from pyregistry_infrastructure.config_template import render_config_template
from pyregistry_infrastructure.logging_setup import configure_logging

__all__ = ["main"]

F = TypeVar("F", bound=Callable[..., Any])
CLI_ACTOR = "cli"
_DURATION_RE = re.compile(r"^(\d+)([smhdw])$")
_DURATION_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class RegistryGroup(click.Group):
    """Turns expected failures into one line on stderr and a non-zero exit, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (DomainError, ConfigError) as exc:
            click.echo(f"error: {getattr(exc, 'message', None) or exc}", err=True)
            sys.exit(1)
        except OSError as exc:
            click.echo(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), err=True)
            sys.exit(1)


def config_option(func: F) -> F:
    """``--config PATH`` on a subcommand (it wins over the group-level option)."""
    return click.option(
        "--config", "config_path", default=None, metavar="PATH", help="TOML config file (must end in .toml)."
    )(func)


def _load(ctx: click.Context, config_path: str | None) -> LoadedSettings:
    path = config_path or (ctx.obj or {}).get("config_path")
    loaded = load_settings(path)
    configure_logging(loaded.settings.logging)
    return loaded


def _runtime(ctx: click.Context, config_path: str | None) -> Runtime:
    return build_runtime(_load(ctx, config_path).settings)


def parse_duration(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m``, ``2w`` or ``3600s``."""
    match = _DURATION_RE.match(text.strip())
    if match is None:
        raise click.BadParameter(f"{text!r} is not a duration such as 30d, 12h, 90m, 2w or 3600s")
    return timedelta(**{_DURATION_UNITS[match.group(2)]: int(match.group(1))})


@click.group(cls=RegistryGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", default=None, metavar="PATH", help="TOML config file (must end in .toml).")
@click.pass_context
def main(ctx: click.Context, config_path: str | None) -> None:
    """pyregistry: a private Python package registry."""
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path


@main.command("init-config")
@click.option("--path", "path", default="pyregistry.toml", show_default=True, help="Where to write the file.")
@click.option("--storage", type=click.Choice(["fs", "minio"]), default="fs", show_default=True)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init_config(path: str, storage: str, force: bool) -> None:
    """Write a complete, commented configuration with fresh secrets."""
    target = Path(path)
    if target.suffix != ".toml":
        raise ConfigError(f"config path {path!r} must end in .toml")
    if target.exists() and not force:
        raise ConfigError(f"{path} exists already; pass --force to overwrite it")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_config_template(storage), encoding="utf-8")
    target.chmod(0o600)
    click.echo(f"wrote {path} ({storage} storage)")


@main.command()
@config_option
@click.pass_context
def serve(ctx: click.Context, config_path: str | None) -> None:
    """Start the HTTP server."""
    from pyregistry_bootstrap.server import run_server

    loaded = _load(ctx, config_path)
    run_server(loaded, build_runtime(loaded.settings))


@main.command("create-tenant")
@config_option
@click.option("--slug", required=True, help="Lowercase id used in URLs, e.g. acme.")
@click.option("--display-name", required=True)
@click.option("--admin-email", default=None, help="Tenant admin account (created if new).")
@click.option("--admin-password", default=None, help="Password for a new tenant admin.")
@click.option("--enable-mirroring", is_flag=True, help="Serve PyPI projects not published locally.")
@click.pass_context
def create_tenant(
    ctx: click.Context,
    config_path: str | None,
    slug: str,
    display_name: str,
    admin_email: str | None,
    admin_password: str | None,
    enable_mirroring: bool,
) -> None:
    """Create a tenant and its admin account."""
    runtime = _runtime(ctx, config_path)
    tenant = runtime.services.tenants.create_tenant(
        slug=slug,
        display_name=display_name,
        admin_email=admin_email,
        admin_password=admin_password,
        mirroring_enabled=enable_mirroring,
        actor=CLI_ACTOR,
    )
    click.echo(f"created tenant {tenant.slug} ({tenant.display_name}); mirroring {'on' if enable_mirroring else 'off'}")


@main.command("issue-token")
@config_option
@click.option("--tenant", required=True)
@click.option("--name", required=True, help="What the token is for, e.g. ci-upload.")
@click.option("--scope", "scopes", multiple=True, required=True, type=click.Choice(["read", "publish"]))
@click.option("--project", default=None, help="Limit the token to one project.")
@click.option("--expires-in", default=None, help="Lifetime such as 30d, 12h or 90m (default: no expiry).")
@click.pass_context
def issue_token(
    ctx: click.Context,
    config_path: str | None,
    tenant: str,
    name: str,
    scopes: tuple[str, ...],
    project: str | None,
    expires_in: str | None,
) -> None:
    """Issue an API token; the secret is printed once and never stored."""
    runtime = _runtime(ctx, config_path)
    issued = runtime.services.tokens.issue(
        tenant_slug=tenant,
        name=name,
        scopes=list(scopes),
        project=project,
        expires_in=parse_duration(expires_in) if expires_in else None,
        actor=CLI_ACTOR,
    )
    click.echo(issued.secret)
    expiry = issued.expires_at.isoformat() if issued.expires_at else "never"
    click.echo(
        f"token {issued.name!r} for tenant {issued.tenant_slug}: scopes {','.join(issued.scopes)}, "
        f"project {issued.project or '*'}, expires {expiry}. Store it now: it is not shown again.",
        err=True,
    )


for _command in SECURITY_COMMANDS:
    main.add_command(_command)
main.add_command(config_group)
main.add_command(mirror)
main.add_command(add_publisher)
main.add_command(list_publishers)
main.add_command(remove_publisher)
main.add_command(sweep_blobs)
