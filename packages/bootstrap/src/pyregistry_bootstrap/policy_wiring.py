"""Wiring of the release policies: the metadata backend's policy store and the ``[policy]`` defaults."""

from __future__ import annotations

from pyregistry_application.audit import AuditTrail
from pyregistry_application.metadata_backend import MetadataBackend
from pyregistry_application.ports import Clock, IdGenerator
from pyregistry_application.release_policy import ReleasePolicies
from pyregistry_application.security.ports import VulnerabilitySource
from pyregistry_domain.errors import ValidationFailed
from pyregistry_domain.release_policy import PolicyOverride, ReleasePolicy
from pyregistry_infrastructure.config import ConfigError
from pyregistry_infrastructure.settings import Settings

__all__ = ["build_release_policies", "release_policy_defaults"]


def release_policy_defaults(settings: Settings) -> ReleasePolicy:
    """``[policy]`` plus ``security.mirror_block_severity``; :class:`ConfigError` names a bad key."""
    policy = settings.policy
    keys = {
        "min_release_age": "policy.min_release_age",
        "unknown_upload_time": "policy.cooldown_unknown_upload_time",
        "block_severity": "security.mirror_block_severity",
        "vulnerability_action": "policy.vulnerability_action",
        "vulnerability_severity": "policy.vulnerability_severity",
    }
    values = {
        "min_release_age": policy.min_release_age,
        "unknown_upload_time": policy.cooldown_unknown_upload_time,
        "block_severity": settings.security.mirror_block_severity,
        "vulnerability_action": policy.vulnerability_action,
        "vulnerability_severity": policy.vulnerability_severity,
    }
    for name, value in values.items():
        try:
            PolicyOverride(**{name: value}).validated()
        except ValidationFailed as exc:
            raise ConfigError(f"key {keys[name]!r}: {exc.message}") from None
    return PolicyOverride(**values).applied_to(ReleasePolicy())


def build_release_policies(
    settings: Settings,
    metadata: MetadataBackend,
    clock: Clock,
    ids: IdGenerator,
    audit: AuditTrail,
    advisories: VulnerabilitySource | None = None,
) -> ReleasePolicies:
    """The release policies over the backend's policy store with the configured defaults."""
    return ReleasePolicies(
        metadata.tenants, metadata.release_policies, release_policy_defaults(settings), clock, ids, audit, advisories
    )
