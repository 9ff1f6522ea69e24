"""The points mall: rewards with a points price and stock, and members' redemptions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from dinecard.platform.db import Base, BigId, UtcDateTime


class Reward(Base):
    __tablename__ = "mall_rewards"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str | None] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(20))  # dish | coupon | merchandise
    points_price: Mapped[int] = mapped_column(Integer)
    coupon_template_code: Mapped[str | None] = mapped_column(ForeignKey("coupon_templates.code"))
    stock: Mapped[int | None] = mapped_column(BigInteger)
    redeemed_count: Mapped[int] = mapped_column(BigInteger, default=0)
    per_member_limit: Mapped[int | None] = mapped_column(Integer)
    levels: Mapped[list[str] | None] = mapped_column(JSON)
    cancel_window_hours: Mapped[int] = mapped_column(Integer, default=24)
    starts_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    ends_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Redemption(Base):
    __tablename__ = "mall_redemptions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_no: Mapped[str] = mapped_column(String(32), unique=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), index=True)
    reward_id: Mapped[str] = mapped_column(ForeignKey("mall_rewards.id"), index=True)
    store_id: Mapped[str | None] = mapped_column(String(26))
    points: Mapped[int] = mapped_column(Integer)
    coupon_code: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(12))  # redeemed | cancelled
    journal_transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    cancellable_until: Mapped[datetime | None] = mapped_column(UtcDateTime())  # None: never cancellable
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    cancel_journal_transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
