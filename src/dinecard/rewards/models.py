"""A member's rewards history: every coupon, redemption, draw and stamp, in one timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from dinecard.platform.db import Base, BigId, UtcDateTime


class RewardEvent(Base):
    __tablename__ = "reward_events"
    __table_args__ = (Index("ix_reward_events_member_id_id", "member_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"))
    kind: Mapped[str] = mapped_column(String(30))
    ref: Mapped[str | None] = mapped_column(String(40))  # coupon code, order, draw or redemption number
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())
