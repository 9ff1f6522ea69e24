"""The notification outbox: messages written in the same transaction as the change behind them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, insert
from sqlalchemy.orm import Mapped, mapped_column

from dinecard.platform.db import Base, BigId, UnitOfWork, UtcDateTime


class OutboxMessage(Base):
    __tablename__ = "notification_outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    member_id: Mapped[str | None] = mapped_column(String(26), index=True)
    topic: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)


def enqueue(uow: UnitOfWork, *, member_id: str | None, topic: str, payload: dict[str, Any], now: datetime) -> None:
    uow.session.execute(insert(OutboxMessage).values(member_id=member_id, topic=topic, payload=payload, created_at=now))
