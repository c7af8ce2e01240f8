"""``pyregistry create-tenant`` and ``list-tenants``."""

from __future__ import annotations

from datetime import datetime

import click
import msgspec

from pyregistry_bootstrap.commands.common import CLI_ACTOR, CLI_USER, admin, config_option, emit_json, json_option

__all__ = ["create_tenant", "list_tenants"]


class TenantOutput(msgspec.Struct, frozen=True):
    """A tenant as ``list-tenants --json`` and ``create-tenant --json`` print it."""

    slug: str
    display_name: str
    mirroring_enabled: bool
    created_at: datetime


@click.command("create-tenant")
@config_option
@click.option("--slug", required=True, help="Lowercase id used in URLs, e.g. acme.")
@click.option("--display-name", required=True)
@click.option("--admin-email", default=None, help="Tenant admin account (created if new; then --admin-password).")
@click.option("--admin-password", default=None, help="Password for a new tenant admin.")
@click.option("--enable-mirroring", is_flag=True, help="Serve PyPI projects not published locally.")
@json_option
@click.pass_context
def create_tenant(
    ctx: click.Context,
    config_path: str | None,
    slug: str,
    display_name: str,
    admin_email: str | None,
    admin_password: str | None,
    enable_mirroring: bool,
    as_json: bool,
) -> None:
    """Create a tenant and its admin account."""
    tenant = admin(ctx, config_path, create=True).tenants.create_tenant(
        slug=slug,
        display_name=display_name,
        admin_email=admin_email,
        admin_password=admin_password,
        mirroring_enabled=enable_mirroring,
        actor=CLI_ACTOR,
    )
    if as_json:
        emit_json(TenantOutput(tenant.slug, tenant.display_name, tenant.mirroring_enabled, tenant.created_at))
        return
    click.echo(f"created tenant {tenant.slug} ({tenant.display_name}); mirroring {'on' if enable_mirroring else 'off'}")


@click.command("list-tenants")
@config_option
@json_option
@click.pass_context
def list_tenants(ctx: click.Context, config_path: str | None, as_json: bool) -> None:
    """List every tenant by slug: display name and whether it mirrors PyPI."""
    tenants = admin(ctx, config_path).authorization.visible_tenants(CLI_USER)
    rows = [TenantOutput(t.slug, t.display_name, t.mirroring_enabled, t.created_at) for t in tenants]
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        click.echo(f"{row.slug}\t{row.display_name}\tmirroring {'on' if row.mirroring_enabled else 'off'}")
