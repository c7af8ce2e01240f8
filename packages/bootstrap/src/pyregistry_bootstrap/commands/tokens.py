"""``pyregistry issue-token``, ``list-tokens`` and ``revoke-token``."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import click
import msgspec

from pyregistry_bootstrap.commands.common import CLI_ACTOR, admin, config_option, emit_json, json_option

__all__ = ["issue_token", "list_tokens", "parse_duration", "revoke_token"]

_DURATION_RE = re.compile(r"^(\d+)([smhdw])$")
_DURATION_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class TokenOutput(msgspec.Struct, frozen=True):
    """A token as ``list-tokens --json`` prints it (never its secret or hash)."""

    id: str
    name: str
    scopes: list[str]
    project: str | None
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    active: bool


class RevokedOutput(msgspec.Struct, frozen=True):
    """``revoke-token --json``."""

    tenant: str
    id: str
    revoked: bool = True


def parse_duration(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m``, ``2w`` or ``3600s``, at most ten years; anything else is a usage error."""
    from pyregistry_domain.errors import ValidationFailed
    from pyregistry_domain.tokens import token_lifetime

    match = _DURATION_RE.match(text.strip())
    if match is None:
        raise click.BadParameter(f"{text!r} is not a duration such as 30d, 12h, 90m, 2w or 3600s")
    try:
        return token_lifetime(int(match.group(1)), _DURATION_UNITS[match.group(2)])
    except ValidationFailed as exc:
        raise click.BadParameter(exc.message) from None


def _lifetime_option(_ctx: click.Context, _param: click.Parameter, value: str | None) -> timedelta | None:
    return parse_duration(value) if value else None


@click.command("issue-token")
@config_option
@click.option("--tenant", required=True)
@click.option("--name", required=True, help="What the token is for, e.g. ci-upload.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(["read", "publish"]),
    help="What the token may do; repeat for both: --scope read --scope publish.",
)
@click.option("--project", default=None, help="Limit the token to one project.")
@click.option(
    "--expires-in",
    "lifetime",
    default=None,
    callback=_lifetime_option,
    help="Lifetime such as 30d, 12h or 90m, at most 3650d (default: no expiry).",
)
@json_option
@click.pass_context
def issue_token(
    ctx: click.Context,
    config_path: str | None,
    tenant: str,
    name: str,
    scopes: tuple[str, ...],
    project: str | None,
    lifetime: timedelta | None,
    as_json: bool,
) -> None:
    """Issue an API token; the secret is printed once and never stored."""
    issued = admin(ctx, config_path).tokens.issue(
        tenant_slug=tenant, name=name, scopes=list(scopes), project=project, expires_in=lifetime, actor=CLI_ACTOR
    )
    if as_json:
        emit_json(issued)
        return
    click.echo(issued.secret)
    expiry = issued.expires_at.isoformat() if issued.expires_at else "never"
    click.echo(
        f"token {issued.name!r} (id {issued.id}) for tenant {issued.tenant_slug}: scopes {','.join(issued.scopes)}, "
        f"project {issued.project or '*'}, expires {expiry}. Store it now: it is not shown again.",
        err=True,
    )


@click.command("list-tokens")
@config_option
@click.option("--tenant", required=True)
@json_option
@click.pass_context
def list_tokens(ctx: click.Context, config_path: str | None, tenant: str, as_json: bool) -> None:
    """List a tenant's tokens, newest first: id, name, scopes, project, expiry and state (never secrets)."""
    tokens = admin(ctx, config_path).tokens.list(tenant)
    now = datetime.now().astimezone()
    rows = [
        TokenOutput(
            id=token.id,
            name=token.name,
            scopes=sorted(scope.value for scope in token.scopes),
            project=token.project,
            created_at=token.created_at,
            created_by=token.created_by,
            expires_at=token.expires_at,
            revoked_at=token.revoked_at,
            last_used_at=token.last_used_at,
            active=token.is_active(now),
        )
        for token in tokens
    ]
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        state = "active" if row.active else ("revoked" if row.revoked_at else "expired")
        expiry = row.expires_at.isoformat() if row.expires_at else "never"
        click.echo(f"{row.id}\t{row.name}\t{','.join(row.scopes)}\t{row.project or '*'}\texpires {expiry}\t{state}")


@click.command("revoke-token")
@config_option
@click.option("--tenant", required=True)
@click.option("--id", "token_id", required=True, help="The token's id (see list-tokens).")
@json_option
@click.pass_context
def revoke_token(ctx: click.Context, config_path: str | None, tenant: str, token_id: str, as_json: bool) -> None:
    """Revoke a token: it stops working at once."""
    admin(ctx, config_path).tokens.revoke(tenant, token_id, actor=CLI_ACTOR)
    if as_json:
        emit_json(RevokedOutput(tenant=tenant, id=token_id))
    else:
        click.echo(f"revoked token {token_id} of tenant {tenant}")
