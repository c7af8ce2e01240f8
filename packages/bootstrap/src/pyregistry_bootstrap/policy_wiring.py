"""Wiring of the release policies: the store adapter beside the metadata store and the ``[policy]`` defaults."""

from __future__ import annotations

from pyregistry_application.audit import AuditTrail
from pyregistry_application.ports import Clock, IdGenerator, RegistryStore
from pyregistry_application.release_policy import ReleasePolicies
from pyregistry_application.release_policy_ports import ReleasePolicyStore
from pyregistry_application.security.ports import VulnerabilitySource
from pyregistry_domain.errors import ValidationFailed
from pyregistry_domain.release_policy import PolicyOverride, ReleasePolicy
from pyregistry_infrastructure.config import ConfigError
from pyregistry_infrastructure.settings import Settings
from pyregistry_infrastructure.stores.memory_release_policy import MemoryReleasePolicyStore
from pyregistry_infrastructure.stores.sql_base import SqlRegistryStore
from pyregistry_infrastructure.stores.sql_release_policy import SqlReleasePolicyStore

__all__ = ["build_release_policies", "build_release_policy_store", "release_policy_defaults"]


def build_release_policy_store(store: RegistryStore) -> ReleasePolicyStore:
    """Release policy state on the metadata store's own database (in memory for the memory store)."""
    if isinstance(store, SqlRegistryStore):
        return SqlReleasePolicyStore(store)
    return MemoryReleasePolicyStore()


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
    store: RegistryStore,
    clock: Clock,
    ids: IdGenerator,
    audit: AuditTrail,
    advisories: VulnerabilitySource | None = None,
) -> ReleasePolicies:
    """The release policies over the store's adapter with the configured defaults."""
    return ReleasePolicies(
        store, build_release_policy_store(store), release_policy_defaults(settings), clock, ids, audit, advisories
    )
