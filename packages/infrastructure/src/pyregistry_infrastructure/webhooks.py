"""Discord-compatible webhooks with an overall deadline, sent inline, by a background thread, or as jobs of the
durable job table (``QueuedNotifier`` or, for uploads, ``PublishWebhookJobs`` enqueued in the upload's transaction,
+ ``webhook_job_handler``); failures are logged, never raised to the caller.

Through the job table a message is posted at least once per job and the job is done only after a 2xx answer; every
post of one job carries the same ``Idempotency-Key`` header, so a receiver that remembers keys sees it exactly once
even when the node posting it died before recording the answer.
"""

from __future__ import annotations

import asyncio
import queue
import secrets
import threading
from collections.abc import Mapping
from typing import Any

import httpx
import msgspec
import structlog

from pyregistry_application.background_ports import BackgroundExecutor, JobHandler, PendingJob
from pyregistry_application.dto import UploadResult
from pyregistry_application.metrics_ports import Metrics, NoMetrics
from pyregistry_application.security.notifications import publish_notification
from pyregistry_application.security.ports import Notifier
from pyregistry_application.security.vulnerability_model import Notification

__all__ = [
    "PUBLISH_WEBHOOK_JOB",
    "VULNERABILITY_WEBHOOK_JOB",
    "BackgroundNotifier",
    "DiscordWebhook",
    "NullNotifier",
    "PublishWebhookJobs",
    "QueuedNotifier",
    "WebhookNotDelivered",
    "webhook_job",
    "webhook_job_handler",
]

_log = structlog.get_logger(__name__)
_MAX_CONTENT = 2000
_MAX_FIELD = 1024
WEBHOOK_JOB = "webhook"
PUBLISH_WEBHOOK_JOB = "webhook.publish"
VULNERABILITY_WEBHOOK_JOB = "webhook.vulnerability"
IDEMPOTENCY_HEADER = "Idempotency-Key"


class _NotDelivered(Exception):
    """The notifier reported (and logged) a failed delivery."""


class DiscordWebhook:
    """Implements ``Notifier``: POSTs ``{"username", "content", "embeds"}`` (Discord's webhook body).

    ``timeout_seconds`` bounds the whole delivery (connect, send, a slowly trickled answer), not each phase.
    ``send`` runs its own event loop: call it from a thread that is not running one.
    """

    def __init__(self, url: str, username: str = "Pyregistry", timeout_seconds: float = 10) -> None:
        self._url = url
        self._username = username
        self._deadline = timeout_seconds

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
        """Deliver once within the deadline; log and return False on any failure."""
        return self.deliver(notification, None)

    def deliver(self, notification: Notification, idempotency_key: str | None) -> bool:
        """Like ``send``, with an ``Idempotency-Key`` header when a key is given (the same for every retry)."""
        headers = {IDEMPOTENCY_HEADER: idempotency_key} if idempotency_key else {}
        try:
            response = asyncio.run(self._post(self.payload(notification), headers))
        except TimeoutError:
            error = f"no complete answer within {self._deadline:g} s"
            _log.warning("webhook delivery failed", title=notification.title, error=error)
            return False
        except httpx.HTTPError as exc:
            _log.warning("webhook delivery failed", title=notification.title, error=str(exc) or type(exc).__name__)
            return False
        if response.status_code >= 300:
            _log.warning("webhook refused", title=notification.title, status=response.status_code)
            return False
        _log.info("webhook delivered", title=notification.title, status=response.status_code)
        return True

    async def _post(self, payload: dict[str, object], headers: dict[str, str]) -> httpx.Response:
        async with asyncio.timeout(self._deadline), httpx.AsyncClient(timeout=self._deadline) as client:
            return await client.post(self._url, json=payload, headers=headers)


class BackgroundNotifier:
    """Implements ``Notifier`` by handing notifications to one delivery thread, so the caller never waits.

    Messages are delivered in order; at most ``max_pending`` wait (more are dropped and logged). The thread starts
    with the first message, in the process that sends it, and is a daemon: messages still queued at exit are lost.
    """

    def __init__(self, notifier: Notifier, max_pending: int = 100, metrics: Metrics | None = None) -> None:
        self._notifier = notifier
        self._metrics: Metrics = metrics or NoMetrics()
        self._pending: queue.Queue[Notification] = queue.Queue(max_pending)
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None

    def send(self, notification: Notification) -> bool:
        """Queue ``notification``; False (logged) when the queue is full."""
        with self._lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._deliver, name="webhook-delivery", daemon=True)
                self._worker.start()
        self._metrics.job_queued(WEBHOOK_JOB)
        try:
            self._pending.put_nowait(notification)
        except queue.Full:
            self._metrics.job_queued(WEBHOOK_JOB, -1)
            _log.warning("webhook queue full; notification dropped", title=notification.title)
            return False
        return True

    def _deliver(self) -> None:
        while True:
            notification = self._pending.get()
            self._metrics.job_queued(WEBHOOK_JOB, -1)
            try:
                with self._metrics.job_running(WEBHOOK_JOB):
                    if not self._notifier.send(notification):
                        raise _NotDelivered
            except _NotDelivered:
                continue
            except Exception:
                _log.exception("webhook delivery crashed", title=notification.title)


class NullNotifier:
    """Implements ``Notifier`` when no webhook URL is configured."""

    def send(self, notification: Notification) -> bool:
        """Do nothing."""
        return False


class WebhookNotDelivered(Exception):
    """A webhook job's post got no 2xx answer; the job is retried with backoff."""


def webhook_job(kind: str, notification: Notification, max_attempts: int | None = None) -> PendingJob:
    """One webhook job of ``kind``: the notification and an idempotency key chosen once, here, for every post."""
    payload = {"idempotency_key": secrets.token_hex(16), "notification": msgspec.to_builtins(notification)}
    return PendingJob(kind, payload, max_attempts=max_attempts)


class PublishWebhookJobs:
    """Implements ``PublishJobs``: the publish webhook job of an upload that created a project or a release,
    enqueued in the upload's transaction (so a node dying right after the commit loses no message)."""

    def __init__(self, max_attempts: int) -> None:
        self._max_attempts = max_attempts

    def __call__(self, result: UploadResult) -> list[PendingJob]:
        """No job for another file of an existing release, else one ``webhook.publish`` job."""
        notification = publish_notification(result)
        if notification is None:
            return []
        return [webhook_job(PUBLISH_WEBHOOK_JOB, notification, self._max_attempts)]


class QueuedNotifier:
    """Implements ``Notifier`` by enqueuing one job of ``kind`` per notification; a node running the executor posts
    it. The payload carries the notification and an idempotency key chosen once, here."""

    def __init__(self, executor: BackgroundExecutor, kind: str) -> None:
        self._executor = executor
        self._kind = kind

    def send(self, notification: Notification) -> bool:
        """Enqueue the notification; False (logged) when the job table cannot be written."""
        try:
            self._executor.submit(webhook_job(self._kind, notification))
        except Exception as exc:
            _log.warning("webhook not enqueued", title=notification.title, error=str(exc) or type(exc).__name__)
            return False
        return True


def webhook_job_handler(webhook: DiscordWebhook) -> JobHandler:
    """The handler of a webhook job kind: one post per run; raising (no 2xx) makes the executor retry."""

    def handle(payload: Mapping[str, Any]) -> None:
        notification = msgspec.convert(payload["notification"], Notification)
        if not webhook.deliver(notification, str(payload["idempotency_key"])):
            raise WebhookNotDelivered(f"webhook {notification.title!r} got no 2xx answer")

    return handle
