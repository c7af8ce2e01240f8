"""Background webhook delivery against a real loopback receiver: the sender never waits, the queue is bounded,
and a receiver that trickles its answer is cut off at the overall deadline."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from pyregistry_application.security.vulnerability_model import Notification
from pyregistry_infrastructure.webhooks import BackgroundNotifier, DiscordWebhook
from tests.support.webhook_receiver import WebhookReceiver


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver(hang_seconds=10).start()
    yield hook
    hook.stop()


def note(title: str) -> Notification:
    return Notification(title=title, body="body", fields={"project": "p"})


def test_a_trickled_answer_is_cut_off_at_the_overall_deadline(receiver: WebhookReceiver) -> None:
    webhook = DiscordWebhook(receiver.url + "/hook", timeout_seconds=0.5)
    started = time.monotonic()
    assert webhook.send(note("hang-hook")) is False
    assert time.monotonic() - started < 3, "each read is quick: only an overall deadline stops the delivery"
    assert webhook.send(note("fine")) is True


def test_background_delivery_never_waits_and_drops_beyond_the_queue(receiver: WebhookReceiver) -> None:
    background = BackgroundNotifier(DiscordWebhook(receiver.url + "/hook", timeout_seconds=0.5), max_pending=1)
    started = time.monotonic()
    assert background.send(note("hang-hook 0"))
    assert time.monotonic() - started < 0.3, "the sender does not wait for the delivery"
    assert receiver.wait_for("/hook", 1, timeout=5) == ["hang-hook 0"]
    assert background.send(note("hang-hook 1")), "one message waits while the first is being delivered"
    assert not background.send(note("hang-hook 2")), "the queue holds one message"
    assert receiver.wait_for("/hook", 2, timeout=5) == ["hang-hook 0", "hang-hook 1"]
