"""The double-entry ledger's rules: account kinds and balanced journal entries."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from enum import StrEnum


class Unit(StrEnum):
    FEN = "fen"
    POINTS = "points"


class AccountKind(StrEnum):
    # What the chain owes a member. Balances are kept on the row (under the member's lock).
    MEMBER_PRINCIPAL = "member_principal"
    MEMBER_BONUS = "member_bonus"
    MEMBER_PENDING_BONUS = "member_pending_bonus"  # bonus promised, released in instalments
    MEMBER_POINTS_LOT = "member_points_lot"
    MEMBER_POINTS_DEBT = "member_points_debt"  # points taken back after they were spent
    # The chain's counter accounts. Their balances are sums of postings, never cached, so
    # concurrent operations of different members never contend on a shared row.
    TENDER = "tender"  # money in and out of a store's tills, per payment method
    BONUS_GRANT = "bonus_grant"  # bonus money given by the chain
    CONSUMPTION = "consumption"  # consumption recognized at a store, per source bucket
    POINTS_ISSUED = "points_issued"
    POINTS_REDEEMED = "points_redeemed"
    POINTS_EXPIRED = "points_expired"
    POINTS_FORFEITED = "points_forfeited"
    POINTS_DEBT_WRITTEN_OFF = "points_debt_written_off"
    ADJUSTMENT = "adjustment"  # manual corrections, per store and unit
    COUPON_COST = "coupon_cost"  # what coupons took off bills, per store and coupon template


MEMBER_KINDS = frozenset(
    {
        AccountKind.MEMBER_PRINCIPAL,
        AccountKind.MEMBER_BONUS,
        AccountKind.MEMBER_PENDING_BONUS,
        AccountKind.MEMBER_POINTS_LOT,
        AccountKind.MEMBER_POINTS_DEBT,
    }
)
NON_NEGATIVE_KINDS = frozenset(
    {
        AccountKind.MEMBER_PRINCIPAL,
        AccountKind.MEMBER_BONUS,
        AccountKind.MEMBER_PENDING_BONUS,
        AccountKind.MEMBER_POINTS_LOT,
    }
)


class EntryReason(StrEnum):
    """Why a posting happened; the points history shows it as the entry's type (R-PTS-1)."""

    RECHARGE = "recharge"
    RECHARGE_BONUS = "recharge_bonus"
    RECHARGE_GIFT = "recharge_gift"  # points given for a recharge
    UPGRADE_GIFT = "upgrade_gift"
    PURCHASE = "purchase"  # points earned on a checkout
    REDEEM = "redeem"  # points used at a checkout
    PAYMENT = "payment"  # money paid at a checkout
    REFUND = "refund"  # money returned
    REFUND_REVERSAL = "refund_reversal"  # points earned, taken back by a refund
    REFUND_RESTORE = "refund_restore"  # points used, given back by a refund
    BONUS_FORFEIT = "bonus_forfeit"
    BONUS_DEFERRED = "bonus_deferred"  # promised now, released later
    BONUS_RELEASE = "bonus_release"
    BIRTHDAY_GIFT = "birthday_gift"
    EXPIRE = "expire"
    FORFEIT = "forfeit"  # points lost when a card is closed
    DEBT = "debt"  # points owed after a take-back exceeded what was left
    DEBT_WRITE_OFF = "debt_write_off"
    ADJUSTMENT = "adjustment"
    COUPON = "coupon"  # a coupon's discount, booked as its cost when used
    COUPON_RESTORE = "coupon_restore"  # a coupon's cost reversed by a refund of its bill
    MALL_REDEEM = "mall_redeem"  # points spent in the points mall
    MALL_CANCEL = "mall_cancel"  # points given back when a redemption is cancelled
    LOTTERY_DRAW = "lottery_draw"  # points paid for a draw
    LOTTERY_PRIZE = "lottery_prize"  # points won in a draw
    LEVEL_PURCHASE = "level_purchase"  # points spent to buy a level


@dataclass(frozen=True)
class Entry:
    """One leg of a journal transaction: a signed amount on an account."""

    account_id: int
    kind: AccountKind
    amount: int
    unit: Unit
    reason: EntryReason


class UnbalancedTransaction(AssertionError):
    """A journal transaction whose legs do not sum to zero: always a programmer error."""


def assert_balanced(entries: list[Entry]) -> None:
    totals: dict[Unit, int] = defaultdict(int)
    for entry in entries:
        totals[entry.unit] += entry.amount
    unbalanced = {unit: total for unit, total in totals.items() if total != 0}
    if unbalanced:
        raise UnbalancedTransaction(f"journal entries do not balance: {unbalanced}")


def counter_code(kind: AccountKind, store_id: str | None = None, detail: str | None = None) -> str:
    parts = ["chain", kind.value, store_id or "-", detail or "-"]
    return ":".join(parts)


def member_code(member_id: str, kind: AccountKind, detail: str | None = None) -> str:
    return f"m:{member_id}:{kind.value}" + (f":{detail}" if detail else "")
