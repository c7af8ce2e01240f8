"""``pyregistry init-config`` and ``pyregistry serve``."""

from __future__ import annotations

from pathlib import Path

import click

from pyregistry_bootstrap.commands.common import config_option, serving_runtime

__all__ = ["init_config", "serve"]


@click.command("init-config")
@click.option("--path", "path", default="pyregistry.toml", show_default=True, help="Where to write the file.")
@click.option("--storage", type=click.Choice(["fs", "minio"]), default="fs", show_default=True)
@click.option(
    "--dev-oidc-issuer",
    is_flag=True,
    help="Trust the development OIDC issuer (JWKS on 127.0.0.1:8081, compose.yaml): anyone who can bind that port "
    "can then mint publish tokens. Never in production.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init_config(path: str, storage: str, dev_oidc_issuer: bool, force: bool) -> None:
    """Write a complete, commented configuration with fresh secrets."""
    from pyregistry_infrastructure.config import ConfigError
    from pyregistry_infrastructure.config_template import render_config_template

    target = Path(path)
    if target.suffix != ".toml":
        raise ConfigError(f"config path {path!r} must end in .toml")
    if target.exists() and not force:
        raise ConfigError(f"{path} exists already; pass --force to overwrite it")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_config_template(storage, dev_oidc_issuer=dev_oidc_issuer), encoding="utf-8")
    target.chmod(0o600)
    click.echo(f"wrote {path} ({storage} storage)")


@click.command("serve")
@config_option
@click.pass_context
def serve(ctx: click.Context, config_path: str | None) -> None:
    """Start the HTTP server."""
    from pyregistry_application.storage_check import sample_recorded_blobs
    from pyregistry_bootstrap.server import run_server, storage_description
    from pyregistry_infrastructure.config import ConfigError

    loaded, runtime = serving_runtime(ctx, config_path)
    sample = sample_recorded_blobs(
        runtime.services.metadata.tenants, runtime.services.metadata.catalogue, runtime.services.storage
    )
    if sample.none_present:
        raise ConfigError(
            f"refusing to start: the metadata store records files, but artifact storage "
            f"({storage_description(loaded.settings)}) has none of the {sample.checked} checked "
            f"(first missing: {sample.missing[0]}); check blob_root / [artifact_storage] and the working directory"
        )
    run_server(loaded, runtime)
