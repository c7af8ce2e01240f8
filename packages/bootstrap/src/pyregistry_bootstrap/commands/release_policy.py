"""``pyregistry set-release-policy``, ``approve-release``, ``list-approvals`` and ``revoke-approval``: a tenant's
release policies for upstream files, as the admin UI's policy page sets them (audited with actor ``cli``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from pyregistry_bootstrap.commands.common import CLI_ACTOR, admin, config_option, emit_json, json_option
from pyregistry_domain.release_policy import POLICY_FIELDS

if TYPE_CHECKING:
    from pyregistry_application.release_policy import TenantPolicy
    from pyregistry_domain.release_policy import ReleaseApproval

__all__ = ["approve_release", "list_approvals", "revoke_approval", "set_release_policy"]


def _approval_line(approval: ReleaseApproval) -> str:
    what = f"{approval.project} {approval.version}" if approval.version else f"{approval.project} (every version)"
    when = approval.approved_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{approval.id}  {what}  by {approval.approved_by} at {when}: {approval.reason}"


def _show(policy: TenantPolicy) -> None:
    click.echo(f"release policy of tenant {policy.tenant}:")
    for name in POLICY_FIELDS:
        value = getattr(policy.effective, name)
        origin = "tenant" if name in policy.overrides else "default"
        click.echo(f"  {name} = {value} ({origin})")
    click.echo(f"  approvals: {len(policy.approvals)}")


@click.command("set-release-policy")
@config_option
@click.option("--tenant", required=True)
@click.option("--min-release-age", default=None, help="Cooldown for upstream files, e.g. 7d, 36h, 0 (off).")
@click.option("--unknown-upload-time", default=None, help="hold or allow files without an upstream upload time.")
@click.option("--block-severity", default=None, help="Scan findings at or above this quarantine a mirrored file.")
@click.option("--vulnerabilities", "vulnerability_action", default=None, help="off, mark or hide.")
@click.option("--vulnerability-severity", default=None, help="Advisories at or above this count (info..critical).")
@click.option(
    "--default",
    "defaults",
    multiple=True,
    type=click.Choice(POLICY_FIELDS),
    help="Return a setting to the configuration default (repeatable).",
)
@json_option
@click.pass_context
def set_release_policy(
    ctx: click.Context,
    config_path: str | None,
    tenant: str,
    min_release_age: str | None,
    unknown_upload_time: str | None,
    block_severity: str | None,
    vulnerability_action: str | None,
    vulnerability_severity: str | None,
    defaults: tuple[str, ...],
    as_json: bool,
) -> None:
    """Show a tenant's release policy, overriding the settings given (no option: only show it)."""
    from pyregistry_domain.release_policy import PolicyOverride

    policies = admin(ctx, config_path).release_policies()
    changes = PolicyOverride(
        min_release_age=min_release_age,
        unknown_upload_time=unknown_upload_time,
        block_severity=block_severity,
        vulnerability_action=vulnerability_action,
        vulnerability_severity=vulnerability_severity,
    )
    if changes.as_dict() or defaults:
        policy = policies.change(tenant, changes, actor=CLI_ACTOR, cleared=frozenset(defaults))
    else:
        policy = policies.tenant_policy(tenant)
    if as_json:
        emit_json(policy)
    else:
        _show(policy)


@click.command("approve-release")
@config_option
@click.option("--tenant", required=True)
@click.option("--project", required=True)
@click.option("--version", default=None, help="One version (default: every version of the project).")
@click.option("--reason", required=True, help="Why it may skip the cooldown (kept in the audit trail).")
@json_option
@click.pass_context
def approve_release(
    ctx: click.Context,
    config_path: str | None,
    tenant: str,
    project: str,
    version: str | None,
    reason: str,
    as_json: bool,
) -> None:
    """Offer an upstream project (or one version) before the tenant's cooldown clears it."""

    approval = admin(ctx, config_path).release_policies().approve(tenant, project, version, reason, actor=CLI_ACTOR)
    if as_json:
        emit_json(approval)
    else:
        click.echo(f"approved in tenant {tenant}: {_approval_line(approval)}")


@click.command("list-approvals")
@config_option
@click.option("--tenant", required=True)
@click.option("--project", default=None, help="Only this project's approvals.")
@json_option
@click.pass_context
def list_approvals(
    ctx: click.Context, config_path: str | None, tenant: str, project: str | None, as_json: bool
) -> None:
    """List a tenant's early approvals, newest first."""
    approvals = admin(ctx, config_path).release_policies().approvals(tenant, project)
    if as_json:
        emit_json(approvals)
        return
    if not approvals:
        click.echo(f"no approvals in tenant {tenant}")
    for approval in approvals:
        click.echo(_approval_line(approval))


@click.command("revoke-approval")
@config_option
@click.option("--tenant", required=True)
@click.option("--id", "approval_id", required=True, help="The approval's id (see list-approvals).")
@click.pass_context
def revoke_approval(ctx: click.Context, config_path: str | None, tenant: str, approval_id: str) -> None:
    """Withdraw an approval: its files are held again until the cooldown clears them."""

    removed = admin(ctx, config_path).release_policies().revoke(tenant, approval_id, actor=CLI_ACTOR)
    click.echo(f"revoked in tenant {tenant}: {_approval_line(removed)}")
