"""``pyregistry release-held`` and ``pyregistry provenance-policy``: the provenance-continuity hold of mirrored
releases (both audited by actor ``cli``)."""

from __future__ import annotations

import click

from pyregistry_bootstrap.commands.common import CLI_ACTOR, admin, config_option

__all__ = ["provenance_policy", "release_held"]


@click.command("release-held")
@config_option
@click.option("--tenant", required=True)
@click.option("--project", required=True)
@click.option("--version", required=True, help="The held release's version.")
@click.option("--reason", required=True, help="Why the change of publisher is accepted (kept in the audit trail).")
@click.pass_context
def release_held(
    ctx: click.Context, config_path: str | None, tenant: str, project: str, version: str, reason: str
) -> None:
    """Release a mirrored version held by provenance continuity: it is offered and served again in the tenant."""

    release = admin(ctx, config_path).continuity().release(tenant, project, version, actor=CLI_ACTOR, reason=reason)
    click.echo(f"released {release.normalized_name} {release.version} in tenant {tenant}: {release.reason}")


@click.command("provenance-policy")
@config_option
@click.option("--tenant", required=True)
@click.option(
    "--continuity",
    type=click.Choice(["on", "off", "default"]),
    required=True,
    help="Hold mirrored releases that break the chain of verified publishers; default follows the config.",
)
@click.pass_context
def provenance_policy(ctx: click.Context, config_path: str | None, tenant: str, continuity: str) -> None:
    """Turn provenance continuity on or off for one tenant (or back to security.provenance_continuity)."""

    commands = admin(ctx, config_path)
    policy = commands.continuity()
    enabled = None if continuity == "default" else continuity == "on"
    policy.set_enabled(tenant, enabled, actor=CLI_ACTOR)
    found = commands.metadata.tenants.get_tenant_by_slug(tenant)
    state = "on" if found is not None and policy.enabled(found.id) else "off"
    click.echo(f"provenance continuity is {state} for tenant {tenant} ({continuity})")
