"""The set of use cases an entry point (web or CLI) is handed by the composition root."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pyregistry_application.access import TokenAccess
from pyregistry_application.audit import AuditTrail
from pyregistry_application.index import PackageIndex
from pyregistry_application.limit_counters import LimitCounters
from pyregistry_application.metadata_backend import MetadataBackend
from pyregistry_application.metrics_ports import Metrics, NoMetrics
from pyregistry_application.ports import ArtifactStorage, Clock, IdGenerator, PasswordHasher
from pyregistry_application.project_status import ProjectStatusRecorder
from pyregistry_application.provenance import ProvenanceReader
from pyregistry_application.publishing import TrustedPublishing
from pyregistry_application.readiness import Readiness
from pyregistry_application.security.ports import VulnerabilitySource
from pyregistry_application.session_ports import AdminSessionStore
from pyregistry_application.tenants import TenantAdministration
from pyregistry_application.tokens import TokenIssuer
from pyregistry_application.uploads import UploadDistribution

if TYPE_CHECKING:
    from pyregistry_application.mirroring import MirrorService
    from pyregistry_application.release_policy import ReleasePolicies

__all__ = ["RegistryServices"]


@dataclass(slots=True)
class RegistryServices:
    """Use cases wired to concrete adapters; built once per process by bootstrap."""

    metadata: MetadataBackend
    storage: ArtifactStorage
    clock: Clock
    ids: IdGenerator
    hasher: PasswordHasher
    audit: AuditTrail
    access: TokenAccess
    tenants: TenantAdministration
    tokens: TokenIssuer
    uploads: UploadDistribution
    index: PackageIndex
    mirroring: MirrorService | None = None
    publishing: TrustedPublishing | None = None
    provenance: ProvenanceReader | None = None
    admin_sessions: AdminSessionStore | None = None
    advisories: VulnerabilitySource | None = None
    statuses: ProjectStatusRecorder | None = None
    limit_counters: LimitCounters | None = None
    metrics: Metrics = field(default_factory=NoMetrics)
    readiness: Readiness | None = None
    release_policies: ReleasePolicies | None = None
