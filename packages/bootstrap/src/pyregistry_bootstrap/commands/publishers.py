"""``pyregistry add-publisher``, ``list-publishers`` and ``remove-publisher``: trusted publishing from the CLI."""

from __future__ import annotations

import click

from pyregistry_application.publishing import TrustedPublishing
from pyregistry_bootstrap.wiring import build_runtime
from pyregistry_domain.errors import NotFound
from pyregistry_infrastructure.config import load_settings
from pyregistry_infrastructure.logging_setup import configure_logging

__all__ = ["add_publisher", "list_publishers", "remove_publisher"]

CLI_ACTOR = "cli"


def _publishing(ctx: click.Context, config_path: str | None) -> TrustedPublishing:
    loaded = load_settings(config_path or (ctx.obj or {}).get("config_path"))
    configure_logging(loaded.settings.logging)
    publishing = build_runtime(loaded.settings).services.publishing
    if publishing is None:
        raise NotFound("trusted publishing is not wired in this build")
    return publishing


_config = click.option("--config", "config_path", default=None, metavar="PATH", help="TOML config file.")


@click.command("add-publisher")
@_config
@click.option("--tenant", required=True)
@click.option("--project", required=True, help="The project the publisher may upload.")
@click.option("--provider", required=True, type=click.Choice(["github", "gitlab"]))
@click.option("--repository", required=True, help="GitHub owner/name, or GitLab namespace/project path.")
@click.option("--workflow", required=True, help="GitHub workflow file name (release.yml) or GitLab CI config path.")
@click.option("--environment", default=None, help="Require this CI environment (optional).")
@click.option(
    "--issuer",
    default=None,
    metavar="URL",
    help="The configured OIDC issuer its tokens come from; required when the provider has several.",
)
@click.pass_context
def add_publisher(
    ctx: click.Context,
    config_path: str | None,
    tenant: str,
    project: str,
    provider: str,
    repository: str,
    workflow: str,
    environment: str | None,
    issuer: str | None,
) -> None:
    """Trust a CI workflow to mint publish tokens for one project."""
    publisher = _publishing(ctx, config_path).add_publisher(
        tenant_slug=tenant,
        project=project,
        provider=provider,
        repository=repository,
        workflow=workflow,
        environment=environment,
        issuer=issuer,
        actor=CLI_ACTOR,
    )
    click.echo(
        f"added publisher {publisher.id}: {publisher.identity} (issuer {publisher.issuer})"
        f" may publish {tenant}/{publisher.project}"
    )


@click.command("list-publishers")
@_config
@click.option("--tenant", required=True)
@click.option("--project", default=None)
@click.pass_context
def list_publishers(ctx: click.Context, config_path: str | None, tenant: str, project: str | None) -> None:
    """List a tenant's trusted publishers: id, project, identity, issuer."""
    for publisher in _publishing(ctx, config_path).list_publishers(tenant, project):
        issuer = publisher.issuer or "(no issuer: register it again)"
        click.echo(f"{publisher.id}\t{publisher.project}\t{publisher.identity}\t{issuer}")


@click.command("remove-publisher")
@_config
@click.option("--tenant", required=True)
@click.option("--id", "publisher_id", required=True)
@click.pass_context
def remove_publisher(ctx: click.Context, config_path: str | None, tenant: str, publisher_id: str) -> None:
    """Stop trusting a publisher."""
    _publishing(ctx, config_path).remove_publisher(tenant, publisher_id, actor=CLI_ACTOR)
    click.echo(f"removed publisher {publisher_id}")
