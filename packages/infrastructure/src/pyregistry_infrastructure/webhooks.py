"""Discord-compatible webhooks with a bounded timeout; failures are logged, never raised."""

from __future__ import annotations

import httpx
import structlog

from pyregistry_application.security.vulnerability_model import Notification

__all__ = ["DiscordWebhook", "NullNotifier"]

_log = structlog.get_logger(__name__)
_MAX_CONTENT = 2000
_MAX_FIELD = 1024


class DiscordWebhook:
    """Implements ``Notifier``: POSTs ``{"username", "content", "embeds"}`` (Discord's webhook body)."""

    def __init__(self, url: str, username: str = "Pyregistry", timeout_seconds: float = 10) -> None:
        self._url = url
        self._username = username
        self._timeout = httpx.Timeout(timeout_seconds)

    def payload(self, notification: Notification) -> dict[str, object]:
        """The JSON body for ``notification``."""
        content = f"**{notification.title}**\n{notification.body}"
        return {
            "username": self._username,
            "content": content[:_MAX_CONTENT],
            "embeds": [
                {
                    "title": notification.title[:256],
                    "description": notification.body[:4096],
                    "fields": [
                        {"name": key[:256], "value": (value or "-")[:_MAX_FIELD], "inline": True}
                        for key, value in list(notification.fields.items())[:25]
                    ],
                }
            ],
        }

    def send(self, notification: Notification) -> bool:
        """Deliver once; log and return False on any failure."""
        try:
            response = httpx.post(self._url, json=self.payload(notification), timeout=self._timeout)
        except httpx.HTTPError as exc:
            _log.warning("webhook delivery failed", title=notification.title, error=str(exc) or type(exc).__name__)
            return False
        if response.status_code >= 300:
            _log.warning("webhook refused", title=notification.title, status=response.status_code)
            return False
        _log.info("webhook delivered", title=notification.title, status=response.status_code)
        return True


class NullNotifier:
    """Implements ``Notifier`` when no webhook URL is configured."""

    def send(self, notification: Notification) -> bool:
        """Do nothing."""
        return False
