"""``pyregistry config``: inspect the effective configuration."""

from __future__ import annotations

import click

from pyregistry_infrastructure.config import load_settings
from pyregistry_infrastructure.config_report import describe_settings

__all__ = ["config_group"]


@click.group("config")
def config_group() -> None:
    """Inspect the effective configuration."""


@config_group.command("show")
@click.option("--config", "config_path", default=None, metavar="PATH", help="TOML config file (must end in .toml).")
@click.pass_context
def show(ctx: click.Context, config_path: str | None) -> None:
    """Print the effective settings, secrets masked, each with its source: file, env or default."""
    path = config_path or (ctx.find_root().obj or {}).get("config_path")
    loaded = load_settings(path)
    click.echo(f"# config file: {loaded.path or 'none (defaults and environment only)'}")
    lines = describe_settings(loaded)
    width = min(max(len(line.key) + len(line.value) for line in lines) + 3, 64)
    for line in lines:
        click.echo(f"{f'{line.key} = {line.value}':<{width}}  # {line.source}")
