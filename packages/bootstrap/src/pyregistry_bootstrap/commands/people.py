"""``pyregistry grant-role``, ``revoke-role`` and ``list-people``: tenant roles from the command line (audited)."""

from __future__ import annotations

import click
import msgspec

from pyregistry_bootstrap.commands.common import CLI_ACTOR, admin, config_option, emit_json, json_option

__all__ = ["grant_role", "list_people", "revoke_role", "revoke_sessions"]


class RevokedSessions(msgspec.Struct, frozen=True):
    """``revoke-sessions --json``."""

    email: str
    revoked: int


_ROLES = click.Choice(["admin", "maintainer", "auditor"])


@click.command("grant-role")
@config_option
@click.option("--tenant", required=True)
@click.option("--email", required=True, help="The person's account (created when new; then --password).")
@click.option("--role", required=True, type=_ROLES, help="admin, maintainer or auditor.")
@click.option(
    "--password",
    default=None,
    envvar="PYREGISTRY_USER_PASSWORD",
    help="Password of a new account (or PYREGISTRY_USER_PASSWORD); an existing account keeps its own.",
)
@json_option
@click.pass_context
def grant_role(
    ctx: click.Context, config_path: str | None, tenant: str, email: str, role: str, password: str | None, as_json: bool
) -> None:
    """Give someone a role in a tenant, replacing the role they had there."""
    change = admin(ctx, config_path).people.grant(
        tenant_slug=tenant, email=email, role=role, password=password, actor=CLI_ACTOR
    )
    if as_json:
        emit_json(change)
        return
    was = f" (was {change.previous})" if change.previous else ""
    created = ", account created" if change.account_created else ""
    click.echo(f"{change.email} is {change.role} of tenant {change.tenant}{was}{created}")


@click.command("revoke-role")
@config_option
@click.option("--tenant", required=True)
@click.option("--email", required=True)
@json_option
@click.pass_context
def revoke_role(ctx: click.Context, config_path: str | None, tenant: str, email: str, as_json: bool) -> None:
    """Take someone's role in a tenant away; the account stays."""
    change = admin(ctx, config_path).people.revoke(tenant_slug=tenant, email=email, actor=CLI_ACTOR)
    if as_json:
        emit_json(change)
        return
    click.echo(f"{change.email} no longer has a role in tenant {change.tenant} (was {change.previous})")


@click.command("list-people")
@config_option
@click.option("--tenant", required=True)
@json_option
@click.pass_context
def list_people(ctx: click.Context, config_path: str | None, tenant: str, as_json: bool) -> None:
    """Everyone with a role in a tenant, by email."""
    members = admin(ctx, config_path).people.members(tenant)
    if as_json:
        emit_json(members)
        return
    for member in members:
        click.echo(f"{member.email}\t{member.role}")


@click.command("revoke-sessions")
@config_option
@click.option("--email", required=True)
@json_option
@click.pass_context
def revoke_sessions(ctx: click.Context, config_path: str | None, email: str, as_json: bool) -> None:
    """Sign someone out everywhere: every admin session of the account ends at once."""
    count = admin(ctx, config_path).sessions().revoke(email, actor=CLI_ACTOR)
    if as_json:
        emit_json(RevokedSessions(email=email.strip().lower(), revoked=count))
        return
    click.echo(f"revoked {count} admin session{'' if count == 1 else 's'} of {email.strip().lower()}")
