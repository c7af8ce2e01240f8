"""Wiring of the security use cases: scanners, advisory database, checkers and webhooks."""

from __future__ import annotations

from pathlib import Path

from pyregistry_application.background_ports import BackgroundExecutor
from pyregistry_application.metrics_ports import Metrics
from pyregistry_application.mirror_ports import UpstreamIndex
from pyregistry_application.security.findings import Severity
from pyregistry_application.security.malware import MalwareBlocklist
from pyregistry_application.security.notifications import PublishAlerts, VulnerabilityAlerts
from pyregistry_application.security.ports import Notifier
from pyregistry_application.security.services import SecurityServices
from pyregistry_application.security.validation import ValidateDistributions
from pyregistry_application.security.vulnerabilities import CheckRegistry, ReleaseVulnerabilitySummary
from pyregistry_application.security.wheel_scan import ScanWheel
from pyregistry_application.services import RegistryServices
from pyregistry_application.uploads import UploadDistribution
from pyregistry_bootstrap.background_wiring import WEBHOOK_ATTEMPTS
from pyregistry_bootstrap.scan_wiring import build_scanners, yara_scanner_for
from pyregistry_infrastructure.archives import ArchiveInspector
from pyregistry_infrastructure.config import ConfigError
from pyregistry_infrastructure.durable_jobs import DurableJobExecutor
from pyregistry_infrastructure.scanning.unpack import SafeWheelUnpacker
from pyregistry_infrastructure.settings import Settings, WebhookSettings
from pyregistry_infrastructure.upstream.wheel_fetcher import UpstreamWheelFetcher
from pyregistry_infrastructure.vulnerabilities.osv_db import AdvisoryDatabase, LocalAdvisoryChecker
from pyregistry_infrastructure.webhooks import (
    VULNERABILITY_WEBHOOK_JOB,
    BackgroundNotifier,
    DiscordWebhook,
    NullNotifier,
    PublishWebhookJobs,
    QueuedNotifier,
)

__all__ = ["advisory_database", "build_security", "install_publish_webhook", "notifier_for", "yara_scanner_for"]


def notifier_for(webhook: WebhookSettings) -> Notifier:
    """A Discord-compatible webhook, or a notifier that does nothing when no URL is set."""
    if not webhook.url:
        return NullNotifier()
    return DiscordWebhook(webhook.url, webhook.username, webhook.timeout_seconds)


def install_publish_webhook(
    settings: Settings,
    uploads: UploadDistribution,
    metrics: Metrics | None = None,
    executor: DurableJobExecutor | None = None,
) -> None:
    """Send ``[security.package_publish_webhook]`` messages after accepted uploads (when configured).

    They go out from a background thread, so a slow or hanging receiver never delays the upload's answer; with a
    durable ``executor`` each message is a job enqueued in the upload's own transaction (it exists exactly when the
    file does), posted by any node; a local worker is woken once the upload has committed.
    """
    webhook = settings.security.package_publish_webhook
    if not webhook.url:
        return
    if executor is not None:
        uploads.add_publish_jobs(PublishWebhookJobs(WEBHOOK_ATTEMPTS))
        uploads.add_listener(lambda _result: executor.wake())
    else:
        uploads.add_listener(PublishAlerts(BackgroundNotifier(notifier_for(webhook), metrics=metrics)))


def _vulnerability_notifier(settings: Settings, executor: BackgroundExecutor | None) -> Notifier:
    webhook = settings.security.vulnerability_webhook
    if executor is not None and webhook.url:
        return QueuedNotifier(executor, VULNERABILITY_WEBHOOK_JOB)
    return notifier_for(webhook)


def advisory_database(settings: Settings) -> AdvisoryDatabase:
    """The OSV advisory directory ``[security].advisory_db_path`` (PyPA and ``MAL-`` records), loaded lazily."""
    advisory_path = settings.security.advisory_db_path
    return AdvisoryDatabase(Path(advisory_path).expanduser() if advisory_path else None)


def build_security(
    settings: Settings,
    services: RegistryServices,
    upstream: UpstreamIndex | None,
    executor: BackgroundExecutor | None = None,
) -> SecurityServices:
    """Every security use case wired to its adapters; rule compilation and DB loading are lazy. Wheels to audit are
    fetched with the process's ``upstream`` client (the mirror's); without one, auditing an upstream wheel says
    that the upstream is not configured. With a durable ``executor``, vulnerability messages are jobs of the job
    table (posted by a server node)."""
    try:
        fail_severity = Severity.parse(settings.security.audit_fail_severity)
    except ValueError as exc:
        raise ConfigError(f"key 'security.audit_fail_severity': {exc}") from None
    database = services.advisories or advisory_database(settings)
    wheel_scan = ScanWheel(
        SafeWheelUnpacker(),
        build_scanners(settings.security),
        fetcher=UpstreamWheelFetcher(upstream) if upstream is not None else None,
        catalogue=services.metadata.catalogue,
        storage=services.storage,
    )
    return SecurityServices(
        wheel_scan=wheel_scan,
        validation=ValidateDistributions(
            ArchiveInspector(), services.metadata.tenants, services.metadata.catalogue, services.storage
        ),
        check_registry=CheckRegistry(
            services.metadata.tenants,
            services.metadata.catalogue,
            VulnerabilityAlerts(_vulnerability_notifier(settings, executor)),
            MalwareBlocklist(database),
        ),
        release_vulnerabilities=ReleaseVulnerabilitySummary(
            services.metadata.tenants, services.metadata.catalogue, database
        ),
        advisories=database,
        local_checker=LocalAdvisoryChecker(database),
        yara_for=yara_scanner_for,
        scan_fail_severity=fail_severity,
        distribution_parallelism=settings.validation.distribution_parallelism,
    )
