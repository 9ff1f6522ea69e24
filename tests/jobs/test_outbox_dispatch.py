"""The outbox dispatcher (R-LIF-4): delivered once, retried after a failure, never a phone number in the logs."""

from __future__ import annotations

import logging
import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import update

from dinecard.platform import outbox
from dinecard.platform.container import Container
from dinecard.platform.outbox import (
    ATTEMPTS_MAX,
    RETRY_DELAY_FIRST,
    LogChannel,
    Notification,
    OutboxMessage,
    dispatch_pending,
)
from dinecard.shared.clock import FixedClock
from tests.jobs.conftest import messages, new_member, recharge

PHONE = "13912345678"
ANY_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


class RecordingChannel:
    """Records deliveries; fails the first `failures` of them."""

    name = "recording"

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.attempts: list[int] = []
        self.delivered: list[Notification] = []
        self.lock = threading.Lock()

    def deliver(self, notification: Notification) -> None:
        with self.lock:
            self.attempts.append(notification.id)
            if len(self.attempts) <= self.failures:
                raise ConnectionError("webhook answered 502")
            self.delivered.append(notification)


def _enqueue(container: Container, member_id: str | None, topic: str, payload: dict[str, object]) -> None:
    with container.database.write() as uow:
        outbox.enqueue(uow, member_id=member_id, topic=topic, payload=payload, now=container.clock.now())


def test_log_channel_delivers_each_message_once_and_never_logs_a_phone_number(
    container: Container, store_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    # given a recharge's message, and one whose payload carelessly holds the phone number
    member_id = new_member(container, PHONE)
    recharge(container, member_id, store_id, 500)
    _enqueue(container, member_id, "careless", {"note": f"call {PHONE}", "phone": PHONE})
    pending = messages(container)
    assert pending and all(message.sent_at is None for message in pending)

    # when the dispatcher runs twice with the log channel
    caplog.set_level(logging.INFO, logger="dinecard.notifications")
    first = dispatch_pending(container, channel=LogChannel())
    second = dispatch_pending(container, channel=LogChannel())

    # then every message is sent once and logged once, with its topic and member but no phone
    assert (first.sent, first.failed, second.claimed) == (len(pending), 0, 0)
    sent = messages(container)
    assert all(message.sent_at == container.clock.now() and message.attempts == 1 for message in sent)
    lines = [record.getMessage() for record in caplog.records if record.name == "dinecard.notifications"]
    assert len(lines) == len(pending)
    assert any("recharge_completed" in line and member_id in line for line in lines)
    assert ANY_PHONE.search(caplog.text) is None
    assert "139****5678" in caplog.text


def test_a_failed_delivery_is_retried_later_and_then_sent_once(
    container: Container, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    # given one message and a channel that fails twice
    _enqueue(container, None, "hello", {"n": 1})
    channel = RecordingChannel(failures=2)

    # when the dispatcher runs: the first attempt fails
    assert dispatch_pending(container, channel=channel).failed == 1
    [message] = messages(container)
    assert message.sent_at is None and message.attempts == 1
    assert message.last_error == "ConnectionError: webhook answered 502"
    assert message.next_attempt_at == clock.now() + RETRY_DELAY_FIRST

    # then it is not retried before its time, and retried with a doubled delay after
    assert dispatch_pending(container, channel=channel).claimed == 0
    clock.advance(RETRY_DELAY_FIRST)
    assert dispatch_pending(container, channel=channel).failed == 1
    assert messages(container)[0].next_attempt_at == clock.now() + 2 * RETRY_DELAY_FIRST
    clock.advance(2 * RETRY_DELAY_FIRST)
    assert dispatch_pending(container, channel=channel).sent == 1
    clock.advance(timedelta(hours=2))
    assert dispatch_pending(container, channel=channel).claimed == 0

    # and it was attempted three times, delivered once, marked sent with its attempts
    [message] = messages(container)
    assert len(channel.attempts) == 3 and len(channel.delivered) == 1
    assert message.sent_at == clock.now() - timedelta(hours=2) and message.attempts == 3
    assert message.last_error is None


def test_a_failing_message_does_not_hold_back_the_others(container: Container) -> None:
    # given three messages and a channel that fails only the first delivery
    for index in range(3):
        _enqueue(container, None, "hello", {"n": index})
    channel = RecordingChannel(failures=1)

    # when the dispatcher runs once
    result = dispatch_pending(container, channel=channel)

    # then the other two are sent in the same batch
    assert (result.sent, result.failed) == (2, 1)
    assert [message.sent_at is not None for message in messages(container)] == [False, True, True]


def test_a_message_that_keeps_failing_is_parked_not_dropped(container: Container, clock: FixedClock) -> None:
    # given a message one failure away from the attempts limit
    _enqueue(container, None, "hello", {})
    with container.database.write() as uow:
        uow.session.execute(update(OutboxMessage).values(attempts=ATTEMPTS_MAX - 1))

    # when its last attempt fails
    assert dispatch_pending(container, channel=RecordingChannel(failures=1)).failed == 1
    clock.advance(timedelta(days=1))

    # then it is kept, unsent, and no longer claimed
    assert dispatch_pending(container, channel=RecordingChannel()).claimed == 0
    [message] = messages(container)
    assert message.sent_at is None and message.attempts == ATTEMPTS_MAX


def test_concurrent_dispatchers_deliver_every_message_exactly_once(container: Container) -> None:
    # given forty pending messages
    for index in range(40):
        _enqueue(container, None, "hello", {"n": index})
    channel = RecordingChannel()

    # when four dispatchers drain the outbox at once in batches of five
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def drain() -> None:
        try:
            start.wait()
            while dispatch_pending(container, batch_size=5, channel=channel).claimed:
                pass
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=drain) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    # then each message was delivered once and all are marked sent
    assert errors == []
    delivered = sorted(notification.id for notification in channel.delivered)
    assert delivered == sorted(message.id for message in messages(container))
    assert len(set(delivered)) == 40
    assert all(message.sent_at is not None and message.attempts == 1 for message in messages(container))
