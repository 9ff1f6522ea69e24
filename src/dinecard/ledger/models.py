"""Ledger tables: accounts, journal transactions and their postings. Append-only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from dinecard.platform.db import Base, BigId, UtcDateTime


class Account(Base):
    __tablename__ = "ledger_accounts"
    __table_args__ = (
        CheckConstraint(
            "kind NOT IN ('member_principal', 'member_bonus', 'member_points_lot') OR balance >= 0",
            name="member_balance_not_negative",
        ),
        CheckConstraint("kind <> 'member_pending_bonus' OR balance >= 0", name="pending_bonus_not_negative"),
        CheckConstraint("kind <> 'member_points_debt' OR balance <= 0", name="debt_not_positive"),
        Index("ix_ledger_accounts_member_kind", "member_id", "kind"),
        # The daily expiry and reminder jobs look lots up by when they expire.
        Index("ix_ledger_accounts_kind_expires_at", "kind", "expires_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    unit: Mapped[str] = mapped_column(String(10))
    member_id: Mapped[str | None] = mapped_column(String(26))
    store_id: Mapped[str | None] = mapped_column(String(26))
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Kept only for member accounts, under the member's lock; counters derive theirs.
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class JournalTransaction(Base):
    __tablename__ = "ledger_transactions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40))
    member_id: Mapped[str | None] = mapped_column(String(26), index=True)
    store_id: Mapped[str | None] = mapped_column(String(26))
    order_no: Mapped[str | None] = mapped_column(String(32), index=True)
    program_version: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    memo: Mapped[str | None] = mapped_column(String(200))


class Posting(Base):
    __tablename__ = "ledger_postings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    unit: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(30))
    # For member accounts: the account's balance at the end of this posting's transaction.
    balance_after: Mapped[int | None] = mapped_column(BigInteger)
