"""Wiring of the security use cases: scanners, advisory database, checkers and webhooks."""

from __future__ import annotations

from pathlib import Path

from pyregistry_application.background_ports import BackgroundExecutor
from pyregistry_application.metrics_ports import Metrics
from pyregistry_application.security.audit import AuditWheel
from pyregistry_application.security.findings import Severity
from pyregistry_application.security.malware import MalwareBlocklist
from pyregistry_application.security.notifications import PublishAlerts, VulnerabilityAlerts
from pyregistry_application.security.ports import Notifier
from pyregistry_application.security.services import SecurityServices
from pyregistry_application.security.validation import ValidateDistributions
from pyregistry_application.security.vulnerabilities import CheckRegistry, ReleaseVulnerabilitySummary
from pyregistry_application.services import RegistryServices
from pyregistry_application.uploads import UploadDistribution
from pyregistry_bootstrap.mirror_wiring import build_upstream_index
from pyregistry_bootstrap.scan_wiring import build_scanners, yara_scanner_for
from pyregistry_infrastructure.archives import ArchiveInspector
from pyregistry_infrastructure.config import ConfigError
from pyregistry_infrastructure.scanning.unpack import SafeWheelUnpacker
from pyregistry_infrastructure.settings import Settings, WebhookSettings
from pyregistry_infrastructure.upstream_wheels import UpstreamWheelFetcher
from pyregistry_infrastructure.vulnerabilities.osv_db import AdvisoryDatabase, LocalAdvisoryChecker
from pyregistry_infrastructure.webhooks import (
    PUBLISH_WEBHOOK_JOB,
    VULNERABILITY_WEBHOOK_JOB,
    BackgroundNotifier,
    DiscordWebhook,
    NullNotifier,
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
    executor: BackgroundExecutor | None = None,
) -> None:
    """Send ``[security.package_publish_webhook]`` messages after accepted uploads (when configured).

    They go out from a background thread, so a slow or hanging receiver never delays the upload's answer; with a
    durable ``executor`` each message is a job enqueued right after the upload commits, posted by any node.
    """
    webhook = settings.security.package_publish_webhook
    if not webhook.url:
        return
    if executor is not None:
        uploads.add_listener(PublishAlerts(QueuedNotifier(executor, PUBLISH_WEBHOOK_JOB)))
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
    settings: Settings, services: RegistryServices, executor: BackgroundExecutor | None = None
) -> SecurityServices:
    """Every security use case wired to its adapters; rule compilation and DB loading are lazy. With a durable
    ``executor``, vulnerability messages are jobs of the job table (posted by a server node)."""
    try:
        fail_severity = Severity.parse(settings.security.audit_fail_severity)
    except ValueError as exc:
        raise ConfigError(f"key 'security.audit_fail_severity': {exc}") from None
    database = services.advisories or advisory_database(settings)
    audit = AuditWheel(
        SafeWheelUnpacker(),
        build_scanners(settings.security),
        fetcher=UpstreamWheelFetcher(build_upstream_index(settings.pypi)),
        store=services.store,
        storage=services.storage,
    )
    return SecurityServices(
        audit=audit,
        validation=ValidateDistributions(ArchiveInspector(), services.store, services.storage),
        check_registry=CheckRegistry(
            services.store,
            VulnerabilityAlerts(_vulnerability_notifier(settings, executor)),
            MalwareBlocklist(database),
        ),
        release_vulnerabilities=ReleaseVulnerabilitySummary(services.store, database),
        advisories=database,
        local_checker=LocalAdvisoryChecker(database),
        yara_for=yara_scanner_for,
        audit_fail_severity=fail_severity,
        distribution_parallelism=settings.validation.distribution_parallelism,
    )
