"""``pyregistry add-publisher``, ``list-publishers`` and ``remove-publisher``: trusted publishing from the CLI."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from pyregistry_bootstrap.commands.common import CLI_ACTOR, config_option, runtime

if TYPE_CHECKING:
    from pyregistry_application.publishing import TrustedPublishing

__all__ = ["add_publisher", "list_publishers", "remove_publisher"]


def _publishing(ctx: click.Context, config_path: str | None) -> TrustedPublishing:
    from pyregistry_domain.errors import NotFound

    publishing = runtime(ctx, config_path).services.publishing
    if publishing is None:
        raise NotFound("trusted publishing is not wired in this build")
    return publishing


@click.command("add-publisher")
@config_option
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
@config_option
@click.option("--tenant", required=True)
@click.option("--project", default=None)
@click.pass_context
def list_publishers(ctx: click.Context, config_path: str | None, tenant: str, project: str | None) -> None:
    """List a tenant's trusted publishers: id, project, identity, issuer."""
    for publisher in _publishing(ctx, config_path).list_publishers(tenant, project):
        issuer = publisher.issuer or "(no issuer: register it again)"
        click.echo(f"{publisher.id}\t{publisher.project}\t{publisher.identity}\t{issuer}")


@click.command("remove-publisher")
@config_option
@click.option("--tenant", required=True)
@click.option("--id", "publisher_id", required=True)
@click.pass_context
def remove_publisher(ctx: click.Context, config_path: str | None, tenant: str, publisher_id: str) -> None:
    """Stop trusting a publisher."""
    _publishing(ctx, config_path).remove_publisher(tenant, publisher_id, actor=CLI_ACTOR)
    click.echo(f"removed publisher {publisher_id}")
