"""The composition root: the only place that picks concrete adapters from the settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from pyregistry_application.access import TokenAccess
from pyregistry_application.audit import AuditTrail
from pyregistry_application.index import PackageIndex
from pyregistry_application.metrics_ports import Metrics, NoMetrics
from pyregistry_application.project_status import ProjectStatusRecorder
from pyregistry_application.provenance import ProvenanceReader
from pyregistry_application.security.malware import MalwareBlocklist
from pyregistry_application.services import RegistryServices
from pyregistry_application.tenants import TenantAdministration
from pyregistry_application.tokens import TokenIssuer
from pyregistry_application.uploads import UploadDistribution
from pyregistry_bootstrap.background_wiring import build_job_executor
from pyregistry_bootstrap.limits_wiring import build_limit_counters
from pyregistry_bootstrap.mirror_wiring import background_workers, build_mirror_service, build_upstream_index
from pyregistry_bootstrap.observability_wiring import build_metrics, build_readiness, trace_storage
from pyregistry_bootstrap.policy_wiring import build_release_policies
from pyregistry_bootstrap.publishing_wiring import build_trusted_publishing
from pyregistry_bootstrap.security_wiring import advisory_database, install_publish_webhook
from pyregistry_bootstrap.store_wiring import build_backend
from pyregistry_domain.users import User, validate_email
from pyregistry_infrastructure.archives import ArchiveInspector
from pyregistry_infrastructure.background.in_process import InProcessExecutor
from pyregistry_infrastructure.background.side_threads import SideThreads
from pyregistry_infrastructure.blob_storage.opendal_storage import OpenDalStorage
from pyregistry_infrastructure.config import ConfigError, ensure_generated_secrets
from pyregistry_infrastructure.durable_jobs import DurableJobExecutor
from pyregistry_infrastructure.scratch import ScratchSpace
from pyregistry_infrastructure.settings import Settings
from pyregistry_infrastructure.sigstore_attestations import SigstoreAttestationVerifier
from pyregistry_infrastructure.system import RandomIds, ScryptPasswordHasher, SystemClock
from pyregistry_infrastructure.upstream.pypi import HttpUpstreamIndex
from pyregistry_web.authorized_requests import RequestAuthorizationRecorder

__all__ = ["Runtime", "build_runtime", "build_storage"]

if TYPE_CHECKING:
    from pyregistry_infrastructure.otel_tracing import OpenTelemetryTracer
    from pyregistry_infrastructure.prometheus_metrics import PrometheusMetrics

_log = structlog.get_logger(__name__)


@dataclass(slots=True)
class Runtime:
    """Everything a process needs: wired services plus the resolved secrets and paths."""

    settings: Settings
    services: RegistryServices
    superadmin_password: str
    superadmin_password_generated: bool
    cookie_secret: str
    spool_dir: Path
    scratch: ScratchSpace
    generated_secrets_path: Path | None
    background: InProcessExecutor = field(default_factory=InProcessExecutor)
    """The one executor of background jobs; started and shut down by the server's lifespan and the CLI."""
    side_work: SideThreads = field(default_factory=SideThreads)
    upstream: HttpUpstreamIndex | None = None
    """The one client of the upstream index (``[pypi]``), shared by the mirror and the security audit."""
    generated_secrets_created: bool = False
    prometheus: PrometheusMetrics | None = None
    tracer: OpenTelemetryTracer | None = None
    job_executor: DurableJobExecutor | None = None
    """The durable job table's executor (``[background] executor = "database"``); None runs work in-process."""


def build_storage(settings: Settings) -> OpenDalStorage:
    """The artifact storage named by ``[artifact_storage.opendal]`` (filesystem under ``blob_root`` by default)."""
    opendal_settings = settings.artifact_storage.opendal
    options = dict(opendal_settings.options)
    if opendal_settings.scheme == "fs":
        return OpenDalStorage.filesystem(Path(settings.blob_root))
    try:
        storage = OpenDalStorage(opendal_settings.scheme, options)
        storage.check()
    except Exception as exc:
        reason = (str(exc).strip() or type(exc).__name__).splitlines()[0]
        raise ConfigError(
            f"key 'artifact_storage.opendal': cannot open {opendal_settings.scheme!r} storage: {reason}"
        ) from None
    return storage


def _ensure_superadmin(services: RegistryServices, email: str, password: str) -> None:
    email = validate_email(email)
    user = services.metadata.users.get_user_by_email(email)
    if user is None:
        services.metadata.users.add_user(
            User(
                id=services.ids.new_id(),
                email=email,
                password_hash=services.hasher.hash(password),
                is_superadmin=True,
                created_at=services.clock.now(),
            )
        )
    elif not services.hasher.verify(user.password_hash, password):
        services.metadata.users.set_user_password(user.id, services.hasher.hash(password))


def build_runtime(
    settings: Settings,
    *,
    sync_superadmin: bool = True,
    export_metrics: bool = False,
    tracer: OpenTelemetryTracer | None = None,
) -> Runtime:
    """Wire every adapter; prepare the data directory and the superadmin account. ``export_metrics`` (the server)
    counts into Prometheus metrics when ``metrics.enabled``; commands count nothing. With ``tracer`` the database,
    storage and upstream calls open spans."""
    data_dir = Path(settings.data_dir)
    generated = None
    if settings.superadmin_password is None or settings.cookie_secret is None:
        generated = ensure_generated_secrets(data_dir)
    password = settings.superadmin_password or (generated.superadmin_password if generated else "")
    cookie_secret = settings.cookie_secret or (generated.cookie_secret if generated else "")
    scratch = ScratchSpace(data_dir / "tmp")
    spool_dir = scratch.subdirectory("uploads")

    store = build_backend(settings, tracer)
    storage = build_storage(settings)
    if tracer is not None:
        trace_storage(tracer, storage)
    clock = SystemClock()
    ids = RandomIds()
    hasher = ScryptPasswordHasher()
    audit = AuditTrail(store.audit_log, clock, ids)
    access = TokenAccess(store.tenants, store.tokens, clock, RequestAuthorizationRecorder())
    advisories = advisory_database(settings)
    malware = MalwareBlocklist(advisories)
    prometheus = build_metrics(settings, store.pool_stats) if export_metrics else None
    metrics: Metrics = prometheus or NoMetrics()
    policies = build_release_policies(settings, store, clock, ids, audit, advisories)
    upstream = build_upstream_index(settings.pypi)
    background = InProcessExecutor(workers=background_workers(settings))
    side_work = SideThreads(name="mirror-verify")
    mirroring = build_mirror_service(
        settings,
        store,
        storage,
        clock,
        audit,
        scratch.subdirectory("mirror"),
        upstream=upstream,
        executor=background,
        side_work=side_work,
        malware=malware,
        metrics=metrics,
        tracer=tracer,
        policies=policies,
    )
    statuses = ProjectStatusRecorder(store.catalogue, audit, clock)
    services = RegistryServices(
        metadata=store,
        storage=storage,
        clock=clock,
        ids=ids,
        hasher=hasher,
        audit=audit,
        access=access,
        tenants=TenantAdministration(store.tenants, store.users, clock, ids, hasher, audit),
        tokens=TokenIssuer(store.tenants, store.tokens, clock, ids, audit),
        uploads=UploadDistribution(
            store.tenants,
            store.catalogue,
            storage,
            ArchiveInspector(),
            access,
            audit,
            clock,
            ids,
            settings.server.max_upload_bytes,
            malware=malware,
            attestation_verifier=SigstoreAttestationVerifier(),
        ),
        index=PackageIndex(
            store.catalogue,
            storage,
            access,
            mirror=mirroring,
            versions=store.index_versions,
            awaited_stamps=store.awaited_stamps,
            malware=malware,
            statuses=statuses,
            metrics=metrics,
            policies=policies,
        ),
        mirroring=mirroring,
        provenance=ProvenanceReader(store.catalogue, storage, access),
        admin_sessions=store.sessions,
        advisories=advisories,
        statuses=statuses,
        limit_counters=build_limit_counters(settings),
        metrics=metrics,
        readiness=build_readiness(store.ping, storage),
        release_policies=policies,
    )
    services.uploads.add_listener(lambda result: metrics.upload_stored(result.size))
    job_executor = build_job_executor(settings, store, metrics)
    install_publish_webhook(settings, services.uploads, metrics, job_executor)
    services.publishing = build_trusted_publishing(settings, services)
    if sync_superadmin:
        _ensure_superadmin(services, settings.superadmin_email, password)
    return Runtime(
        settings=settings,
        services=services,
        superadmin_password=password,
        superadmin_password_generated=settings.superadmin_password is None,
        cookie_secret=cookie_secret,
        spool_dir=spool_dir,
        scratch=scratch,
        generated_secrets_path=generated.path if generated else None,
        generated_secrets_created=generated.created if generated else False,
        background=background,
        side_work=side_work,
        upstream=upstream,
        prometheus=prometheus,
        tracer=tracer,
        job_executor=job_executor,
    )
