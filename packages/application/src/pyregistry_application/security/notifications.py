"""Turning registry events into notifications (publish and vulnerability webhooks)."""

from __future__ import annotations

import logging

from pyregistry_application.dto import UploadResult
from pyregistry_application.security.ports import Notifier
from pyregistry_application.security.vulnerability_model import Notification, PackageVulnerability

__all__ = ["PublishAlerts", "VulnerabilityAlerts", "publish_notification"]

_log = logging.getLogger(__name__)


def publish_notification(result: UploadResult) -> Notification | None:
    """The message for an accepted upload that created a project or a release; None for another file of a
    release that already existed."""
    if not (result.new_project or result.new_release):
        return None
    kind = "New package" if result.new_project else "New version"
    return Notification(
        title=f"{kind}: {result.project} {result.version}",
        body=f"{result.filename} was published to tenant {result.tenant_slug}.",
        fields={
            "tenant": result.tenant_slug,
            "project": result.project,
            "version": result.version,
            "file": result.filename,
            "sha256": result.sha256,
        },
    )


class PublishAlerts:
    """An upload listener: one message for a new project or a new version. Never fails the upload."""

    def __init__(self, notifier: Notifier) -> None:
        self._notifier = notifier

    def __call__(self, result: UploadResult) -> None:
        """Notify when the upload created a project or a release."""
        notification = publish_notification(result)
        if notification is None:
            return
        try:
            self._notifier.send(notification)
        except Exception as exc:
            _log.warning("publish notification failed: %s", exc)


class VulnerabilityAlerts:
    """One message per vulnerable package found by a registry check."""

    def __init__(self, notifier: Notifier) -> None:
        self._notifier = notifier

    def vulnerable_package(self, items: list[PackageVulnerability]) -> None:
        """Send one message listing every affected version and advisory of one package."""
        if not items:
            return
        first = items[0]
        lines = [f"{item.version}: {item.advisory_id} ({item.remedy})" for item in items]
        notification = Notification(
            title=f"Vulnerable package: {first.project} in tenant {first.tenant_slug}",
            body="\n".join(lines),
            fields={
                "tenant": first.tenant_slug,
                "project": first.project,
                "advisories": str(len({i.advisory_id for i in items})),
            },
        )
        try:
            self._notifier.send(notification)
        except Exception as exc:
            _log.warning("vulnerability notification failed: %s", exc)
