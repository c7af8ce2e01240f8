"""``pyregistry config``: inspect the effective configuration."""

from __future__ import annotations

import click

from pyregistry_bootstrap.commands.common import config_option, load

__all__ = ["config_group"]


@click.group("config")
def config_group() -> None:
    """Inspect the effective configuration."""


@config_group.command("show")
@config_option
@click.pass_context
def show(ctx: click.Context, config_path: str | None) -> None:
    """Print the effective settings, secrets masked, each with its source: file, env or default."""
    from pyregistry_infrastructure.config_report import describe_settings

    loaded = load(ctx, config_path)
    click.echo(f"# config file: {loaded.path or 'none (defaults and environment only)'}")
    lines = describe_settings(loaded)
    width = min(max(len(line.key) + len(line.value) for line in lines) + 3, 64)
    for line in lines:
        click.echo(f"{f'{line.key} = {line.value}':<{width}}  # {line.source}")
