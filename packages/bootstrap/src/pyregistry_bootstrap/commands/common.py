"""What every command shares: the ``--config`` and ``--json`` options, loading the settings, JSON output."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from pyregistry_bootstrap.cli_identity import CLI_ACTOR, CLI_USER

if TYPE_CHECKING:
    from pyregistry_bootstrap.cli_wiring import AdminCommands
    from pyregistry_bootstrap.wiring import Runtime
    from pyregistry_infrastructure.config import LoadedSettings

__all__ = [
    "CLI_ACTOR",
    "CLI_USER",
    "LOCATION_KEY",
    "admin",
    "config_option",
    "configured",
    "emit_json",
    "json_option",
    "load",
    "runtime",
    "serving_runtime",
]

F = TypeVar("F", bound=Callable[..., Any])
LOCATION_KEY = "location"
"""``ctx.obj`` key under which a command notes where it looked, for error messages."""
CLI_BACKGROUND_GRACE_SECONDS = 5.0
"""How long a command, when it ends, waits for background jobs it started (a download queued by a refresh)."""


def config_option(func: F) -> F:
    """``--config PATH`` on a subcommand (it wins over the group-level option)."""
    return click.option(
        "--config", "config_path", default=None, metavar="PATH", help="TOML config file (must end in .toml)."
    )(func)


def json_option(func: F) -> F:
    """``--json``: print the result as JSON instead of text."""
    return click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")(func)


def load(ctx: click.Context, config_path: str | None) -> LoadedSettings:
    """The settings from ``--config`` (subcommand first, then group), the environment and the defaults."""
    from pyregistry_bootstrap.store_wiring import store_location
    from pyregistry_infrastructure.config import load_settings

    root = ctx.find_root().ensure_object(dict)
    loaded = load_settings(config_path or root.get("config_path"))
    root[LOCATION_KEY] = store_location(loaded.settings)
    return loaded


def admin(ctx: click.Context, config_path: str | None, *, create: bool = False, storage: bool = False) -> AdminCommands:
    """The tenant, token and release use cases over the store (which must exist unless ``create``); logging is
    configured when the store or the artifact storage (``storage``: yank and purge) may write log lines."""
    from pyregistry_bootstrap.cli_wiring import admin_commands
    from pyregistry_bootstrap.store_wiring import store_logs

    settings = load(ctx, config_path).settings
    if storage or store_logs(settings):
        from pyregistry_infrastructure.logging_setup import configure_logging

        configure_logging(settings.logging)
    return admin_commands(settings, create=create)


def configured(ctx: click.Context, config_path: str | None) -> LoadedSettings:
    """The settings as :func:`load` reads them, with logging configured: for commands whose stores, storage or
    services write log lines."""
    from pyregistry_infrastructure.logging_setup import configure_logging

    loaded = load(ctx, config_path)
    configure_logging(loaded.settings.logging)
    return loaded


def runtime(ctx: click.Context, config_path: str | None, *, sync_superadmin: bool = True) -> Runtime:
    """Every service wired, logging configured, the background executor running until the command ends: for
    commands that need storage, mirroring or security."""
    from pyregistry_bootstrap.wiring import build_runtime

    built = build_runtime(configured(ctx, config_path).settings, sync_superadmin=sync_superadmin)
    built.background.start()
    ctx.call_on_close(lambda: built.background.shutdown(CLI_BACKGROUND_GRACE_SECONDS))
    return built


def serving_runtime(ctx: click.Context, config_path: str | None) -> tuple[LoadedSettings, Runtime]:
    """The settings and the runtime ``serve`` starts: a single worker also exports metrics and traces itself."""
    from pyregistry_bootstrap.observability_wiring import build_tracer
    from pyregistry_bootstrap.wiring import build_runtime

    loaded = configured(ctx, config_path)
    single = loaded.settings.server.workers == 1
    tracer = build_tracer(loaded.settings) if single else None
    return loaded, build_runtime(loaded.settings, export_metrics=single, tracer=tracer)


def emit_json(value: object) -> None:
    """``value`` (msgspec Structs, lists, dicts) as indented JSON on stdout."""
    import msgspec

    click.echo(msgspec.json.format(msgspec.json.encode(value), indent=2).decode())
