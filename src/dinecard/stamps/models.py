"""Stamp cards (集杯卡): buy N qualifying items, get one free."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from dinecard.platform.db import Base, BigId, UtcDateTime


class StampCard(Base):
    __tablename__ = "stamp_cards"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str | None] = mapped_column(String(80))
    dish_ids: Mapped[list[str] | None] = mapped_column(JSON)  # qualifying dishes; or
    categories: Mapped[list[str] | None] = mapped_column(JSON)  # qualifying menu categories
    stamps_needed: Mapped[int] = mapped_column(Integer)
    reward_template_code: Mapped[str] = mapped_column(ForeignKey("coupon_templates.code"))
    stores: Mapped[list[str] | None] = mapped_column(JSON)
    starts_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    ends_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class StampBalance(Base):
    __tablename__ = "member_stamps"

    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), primary_key=True)
    card_id: Mapped[str] = mapped_column(ForeignKey("stamp_cards.id"), primary_key=True)
    stamps: Mapped[int] = mapped_column(Integer, default=0)  # below zero: owed after a refund
    cards_completed: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class StampEntry(Base):
    __tablename__ = "stamp_entries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), index=True)
    card_id: Mapped[str] = mapped_column(ForeignKey("stamp_cards.id"))
    order_no: Mapped[str] = mapped_column(String(32), index=True)
    delta: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(20))  # purchase | refund | completed | voucher_voided
    coupon_code: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
