"""Lotteries, their prizes (with stock) and every draw with the seed that decided it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dinecard.platform.db import Base, BigId, UtcDateTime


class Lottery(Base):
    __tablename__ = "lotteries"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str | None] = mapped_column(String(80))
    cost_points: Mapped[int] = mapped_column(Integer)
    daily_limit: Mapped[int | None] = mapped_column(Integer)  # draws per member per business day
    starts_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    ends_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Prize(Base):
    __tablename__ = "lottery_prizes"
    __table_args__ = (UniqueConstraint("lottery_id", "code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    lottery_id: Mapped[str] = mapped_column(ForeignKey("lotteries.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(12))  # coupon | points | nothing
    weight: Mapped[int] = mapped_column(Integer)
    stock: Mapped[int | None] = mapped_column(BigInteger)
    # Claimed with one conditional UPDATE, so concurrent draws never give more than the stock.
    given: Mapped[int] = mapped_column(BigInteger, default=0)
    coupon_template_code: Mapped[str | None] = mapped_column(ForeignKey("coupon_templates.code"))
    points: Mapped[int] = mapped_column(Integer, default=0)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Draw(Base):
    __tablename__ = "lottery_draws"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    draw_no: Mapped[str] = mapped_column(String(32), unique=True)
    lottery_id: Mapped[str] = mapped_column(ForeignKey("lotteries.id"), index=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), index=True)
    store_id: Mapped[str | None] = mapped_column(String(26))
    cost_points: Mapped[int] = mapped_column(Integer)
    seed: Mapped[str] = mapped_column(String(64))
    # What the draw chose from (prize codes and weights) and the prizes found gone while drawing:
    # with the seed they replay the draw exactly.
    candidates: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    exhausted: Mapped[list[str]] = mapped_column(JSON)
    prize_code: Mapped[str] = mapped_column(String(40))
    prize_kind: Mapped[str] = mapped_column(String(12))
    coupon_code: Mapped[str | None] = mapped_column(String(16))
    points_won: Mapped[int] = mapped_column(Integer, default=0)
    journal_transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
