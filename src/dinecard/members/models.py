"""Member tables."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from dinecard.platform.db import Base, UtcDateTime


class Member(Base):
    __tablename__ = "members"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    card_no: Mapped[str] = mapped_column(String(20), unique=True)
    # The phone is never stored in clear: ciphertext to show it, blind index to find it.
    phone_ciphertext: Mapped[str] = mapped_column(String(200))
    phone_index: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(60))
    birthday: Mapped[date | None] = mapped_column(Date)
    gender: Mapped[str | None] = mapped_column(String(12))
    store_id: Mapped[str | None] = mapped_column(ForeignKey("stores.id"))
    referrer_id: Mapped[str | None] = mapped_column(String(26))
    referral_code: Mapped[str] = mapped_column(String(12), unique=True)
    status: Mapped[str] = mapped_column(String(10), default="active")
    level_code: Mapped[str] = mapped_column(String(20))
    cumulative_recharge_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    cumulative_consume_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    points_lifetime: Mapped[int] = mapped_column(BigInteger, default=0)
    # The level's clock: when it was last gained, kept or lowered (the review counts from here).
    level_since: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # After a downgrade, what the cumulative figures held beyond the new level (levels/domain.Standing).
    level_recharge_offset_fen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    level_consume_offset_fen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # A level bought with points (R-PTS-4): refunds do not take it away; the periodic review may.
    level_floor_code: Mapped[str | None] = mapped_column(String(20))
    first_recharge_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    checkout_count: Mapped[int] = mapped_column(Integer, default=0)
    last_consumed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    profile: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Secret for the rotating member code shown on the member's phone (R-MEM-5).
    code_secret: Mapped[str] = mapped_column(String(40))
