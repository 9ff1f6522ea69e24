"""The notification outbox: messages written in the same transaction as the change behind them.

`dispatch_pending` delivers them later through a channel and marks them sent in the same
transaction that claimed them, so a message is delivered once per successful commit; a
failed delivery is retried with a growing delay. If the commit itself fails after a delivery,
the message goes out again: channels get the message id so a receiver can drop the repeat.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, cast

from sqlalchemy import JSON, Integer, String, Table, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from dinecard.platform.db import Base, BigId, UnitOfWork, UtcDateTime

if TYPE_CHECKING:
    from dinecard.platform.container import Container

log = logging.getLogger("dinecard.outbox")
notifications_log = logging.getLogger("dinecard.notifications")

BATCH_SIZE = 100
# After this many failed deliveries a message is parked (kept, never dropped) for an operator.
ATTEMPTS_MAX = 12
RETRY_DELAY_FIRST = timedelta(seconds=30)
RETRY_DELAY_MAX = timedelta(hours=1)
ERROR_LENGTH_MAX = 300
# A mainland mobile number anywhere in a text; card numbers (12 digits) do not match.
PHONE_PATTERN = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")


class OutboxMessage(Base):
    __tablename__ = "notification_outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    member_id: Mapped[str | None] = mapped_column(String(26), index=True)
    topic: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(String(ERROR_LENGTH_MAX))
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


INSERT_MESSAGE = insert(cast(Table, OutboxMessage.__table__))  # built once (UnitOfWork.execute)


class NotificationOnce(Base):
    """Occasions a member has been notified of, so a trigger fires once however often it runs."""

    __tablename__ = "notification_once"

    member_id: Mapped[str] = mapped_column(String(26), primary_key=True)
    occasion: Mapped[str] = mapped_column(String(80), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


def enqueue(uow: UnitOfWork, *, member_id: str | None, topic: str, payload: dict[str, Any], now: datetime) -> None:
    uow.execute(INSERT_MESSAGE, {"member_id": member_id, "topic": topic, "payload": payload, "created_at": now})


def enqueue_many(uow: UnitOfWork, messages: list[tuple[str | None, str, dict[str, Any]]], now: datetime) -> None:
    """Many (member id, topic, payload) messages in one statement, for set-based jobs."""
    if messages:
        uow.session.execute(
            insert(OutboxMessage),
            [
                {"member_id": member_id, "topic": topic, "payload": payload, "created_at": now}
                for member_id, topic, payload in messages
            ],
        )


def enqueue_once(
    uow: UnitOfWork, *, member_id: str, occasion: str, topic: str, payload: dict[str, Any], now: datetime
) -> bool:
    """Enqueue a message unless the member already had one for `occasion`; True when it was enqueued."""
    dialect_insert = postgresql.insert if uow.database.dialect == "postgresql" else sqlite.insert
    # On PostgreSQL a concurrent inserter of the same occasion makes this wait for its outcome.
    inserted = uow.session.execute(
        dialect_insert(NotificationOnce)
        .values(member_id=member_id, occasion=occasion, created_at=now)
        .on_conflict_do_nothing(index_elements=["member_id", "occasion"])
        .returning(NotificationOnce.member_id)
    ).first()
    if inserted is None:
        return False
    enqueue(uow, member_id=member_id, topic=topic, payload=payload, now=now)
    return True


@dataclass(frozen=True)
class Notification:
    """A message as a channel sees it."""

    id: int
    member_id: str | None
    topic: str
    payload: dict[str, Any]
    created_at: datetime


class Channel(Protocol):
    name: str

    def deliver(self, notification: Notification) -> None:
        """Deliver the message or raise; the message id lets a receiver drop a repeat."""
        ...


def redact_phones(text: str) -> str:
    """Mask every mobile number in a text (138****1234): logs never hold one (R-SEC-2)."""
    return PHONE_PATTERN.sub(r"\1****\2", text)


class LogChannel:
    """The default channel: one log line per message on `dinecard.notifications`."""

    name = "log"

    def deliver(self, notification: Notification) -> None:
        payload = json.dumps(notification.payload, ensure_ascii=False, sort_keys=True, default=str)
        line = f"#{notification.id} {notification.topic} member={notification.member_id} {payload}"
        notifications_log.info("%s", redact_phones(line))


@dataclass(frozen=True)
class DispatchResult:
    sent: int
    failed: int

    @property
    def claimed(self) -> int:
        return self.sent + self.failed


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed delivery: doubling, capped."""
    assert attempts >= 1
    return min(RETRY_DELAY_FIRST * (1 << min(attempts - 1, 20)), RETRY_DELAY_MAX)


def dispatch_pending(
    container: Container, batch_size: int = BATCH_SIZE, channel: Channel | None = None
) -> DispatchResult:
    """Deliver up to `batch_size` due messages, oldest first, and mark them sent in one transaction."""
    channel = channel or LogChannel()
    now = container.clock.now()
    sent = failed = 0
    with container.database.write() as uow:
        statement = (
            select(OutboxMessage)
            .where(
                OutboxMessage.sent_at.is_(None),
                OutboxMessage.attempts < ATTEMPTS_MAX,
                or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
            )
            .order_by(OutboxMessage.id)
            .limit(batch_size)
        )
        if uow.database.dialect == "postgresql":
            # Concurrent dispatchers take disjoint batches instead of queueing behind each other.
            # SQLite needs nothing: the write transaction already excludes other dispatchers.
            statement = statement.with_for_update(skip_locked=True)
        for message in uow.session.execute(statement).scalars().all():
            message.attempts += 1
            notification = Notification(
                message.id, message.member_id, message.topic, dict(message.payload), message.created_at
            )
            try:
                channel.deliver(notification)
            except Exception as exc:
                # A failing channel must not undo the batch: this message waits, the others are sent.
                failed += 1
                message.last_error = redact_phones(f"{type(exc).__name__}: {exc}")[:ERROR_LENGTH_MAX]
                message.next_attempt_at = now + retry_delay(message.attempts)
                if message.attempts >= ATTEMPTS_MAX:
                    log.error(
                        "message %s parked after %s failed deliveries via %s", message.id, ATTEMPTS_MAX, channel.name
                    )
                else:
                    log.warning(
                        "delivery of message %s via %s failed (attempt %s)", message.id, channel.name, message.attempts
                    )
            else:
                sent += 1
                message.sent_at = now
                message.last_error = None
    return DispatchResult(sent, failed)
