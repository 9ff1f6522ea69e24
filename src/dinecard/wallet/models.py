"""Business records of money operations; each points at its journal transaction."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, CheckConstraint, Date, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from dinecard.platform.db import Base, BigId, UtcDateTime


class Recharge(Base):
    __tablename__ = "recharges"
    __table_args__ = (CheckConstraint("refunded_principal_fen <= amount_fen", name="refund_within_amount"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_no: Mapped[str] = mapped_column(String(32), unique=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), index=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    bonus_fen: Mapped[int] = mapped_column(BigInteger)
    points_awarded: Mapped[int] = mapped_column(Integer)
    tier_amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    campaign_code: Mapped[str | None] = mapped_column(String(40), index=True)
    campaign_bonus_fen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    first_recharge_bonus_fen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    bonus_pending_fen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    payment_method: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(10))
    level_after: Mapped[str] = mapped_column(String(20))
    refunded_principal_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    bonus_forfeited_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    points_taken_back: Mapped[int] = mapped_column(Integer, default=0)
    program_version: Mapped[int] = mapped_column(Integer)
    journal_transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class Checkout(Base):
    __tablename__ = "checkouts"
    __table_args__ = (
        CheckConstraint(
            "refunded_principal_fen + refunded_bonus_fen + refunded_other_fen <= payable_fen",
            name="refund_within_payable",
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_no: Mapped[str] = mapped_column(String(32), unique=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), index=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"))
    bill_total_fen: Mapped[int] = mapped_column(BigInteger)
    discount_fen: Mapped[int] = mapped_column(BigInteger)
    points_used: Mapped[int] = mapped_column(Integer)
    points_deduction_fen: Mapped[int] = mapped_column(BigInteger)
    payable_fen: Mapped[int] = mapped_column(BigInteger)
    paid_principal_fen: Mapped[int] = mapped_column(BigInteger)
    paid_bonus_fen: Mapped[int] = mapped_column(BigInteger)
    other_tender_fen: Mapped[int] = mapped_column(BigInteger)
    other_tender_method: Mapped[str | None] = mapped_column(String(20))
    points_earned: Mapped[int] = mapped_column(Integer)
    level_code: Mapped[str] = mapped_column(String(20))
    items: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    discounts: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # What coupons took off (booked as their cost) and which coupons, for the receipt and refunds.
    coupon_discount_fen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    coupons: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    coupons_returned: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    refunded_principal_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_bonus_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_other_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    points_earned_reversed: Mapped[int] = mapped_column(Integer, default=0)
    points_used_restored: Mapped[int] = mapped_column(Integer, default=0)
    program_version: Mapped[int] = mapped_column(Integer)
    journal_transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class Refund(Base):
    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_no: Mapped[str] = mapped_column(String(32), unique=True)
    original_order_no: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # checkout_refund | recharge_refund
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), index=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    principal_fen: Mapped[int] = mapped_column(BigInteger)
    bonus_fen: Mapped[int] = mapped_column(BigInteger)
    other_tender_fen: Mapped[int] = mapped_column(BigInteger)
    bonus_forfeited_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    points_taken_back: Mapped[int] = mapped_column(Integer, default=0)
    points_restored: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str | None] = mapped_column(String(200))
    journal_transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class BonusRelease(Base):
    """One instalment of a deferred bonus (R-RCH-6), released by the daily job on its due date."""

    __tablename__ = "bonus_releases"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    recharge_id: Mapped[int] = mapped_column(ForeignKey("recharges.id"), index=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), index=True)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    released_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    journal_transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))


class Adjustment(Base):
    """A manual change of a member's balance or points, with its reason (R-CMP-6)."""

    __tablename__ = "adjustments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_no: Mapped[str] = mapped_column(String(32), unique=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), index=True)
    store_id: Mapped[str | None] = mapped_column(ForeignKey("stores.id"))
    principal_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    bonus_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    points: Mapped[int] = mapped_column(BigInteger, default=0)
    reason: Mapped[str] = mapped_column(String(200))
    actor_id: Mapped[str | None] = mapped_column(String(26))
    approval_id: Mapped[str | None] = mapped_column(String(26))
    journal_transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
