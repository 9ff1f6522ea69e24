"""The figures of a shift handover (交班, R-CMP-5): recharges by tender, checkouts (balance, other
tender, points, coupons), refunds, and the cash the drawer should hold.

Whose business it was comes from the audit log: every write through the API's own path (the
till's too) leaves one audit entry, in its own transaction, naming the actor (the staff member or
API key) and the order it made. A cashier's shift is the orders whose audit entry names them, so
two cashiers of one store each see their own figures; records need no cashier column of their own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, select, union
from sqlalchemy.orm import Session

from dinecard.security.models import AuditEntry
from dinecard.shared.money import Money
from dinecard.stores.models import Store
from dinecard.wallet.models import Checkout, Recharge, Refund


def business_day_start(now: datetime, timezone: str) -> datetime:
    zone = ZoneInfo(timezone)
    return datetime.combine(now.astimezone(zone).date(), time(0), tzinfo=zone).astimezone(UTC)


def orders_by(actor_id: str, since: datetime) -> Select[Any]:
    """The orders the actor's writes made since a moment (their audit entries name them)."""
    return select(AuditEntry.order_no).where(
        AuditEntry.actor_id == actor_id, AuditEntry.occurred_at >= since, AuditEntry.order_no.is_not(None)
    )


def _records(
    session: Session,
    model: type[Recharge] | type[Checkout] | type[Refund],
    store_id: str,
    since: datetime,
    actor_id: str | None,
) -> list[Any]:
    conditions: list[ColumnElement[bool]] = [model.store_id == store_id, model.created_at >= since]
    if actor_id is not None:
        conditions.append(model.order_no.in_(orders_by(actor_id, since)))
    return list(session.execute(select(model).where(*conditions).order_by(model.id)).scalars())


def _zero_group() -> dict[str, Any]:
    return {"count": 0, "amount": Money.zero()}


def _total(amounts: Iterable[Money]) -> Money:
    return sum(amounts, Money.zero())


def shift_summary(session: Session, store_id: str, since: datetime, actor_id: str | None = None) -> dict[str, Any]:
    """This store's business since a moment: everyone's, or only what `actor_id` rang up."""
    recharges: list[Recharge] = _records(session, Recharge, store_id, since, actor_id)
    checkouts: list[Checkout] = _records(session, Checkout, store_id, since, actor_id)
    refunds: list[Refund] = _records(session, Refund, store_id, since, actor_id)
    recharge_by: dict[str, dict[str, Any]] = defaultdict(_zero_group)
    for row in recharges:
        group = recharge_by[row.payment_method]
        group["count"] += 1
        group["amount"] += Money(row.amount_fen)
    other_by: dict[str, dict[str, Any]] = defaultdict(_zero_group)
    for checkout_row in checkouts:
        if checkout_row.other_tender_fen:
            group = other_by[checkout_row.other_tender_method or "other"]
            group["count"] += 1
            group["amount"] += Money(checkout_row.other_tender_fen)
    # Money handed back: a checkout refund's other tender goes back the way the bill was paid,
    # a recharge refund's principal the way the recharge was paid.
    originals = {r.original_order_no for r in refunds}
    originals_checkout = {
        row.order_no: row.other_tender_method
        for row in session.execute(select(Checkout).where(Checkout.order_no.in_(originals))).scalars()
    }
    originals_recharge = {
        row.order_no: row.payment_method
        for row in session.execute(select(Recharge).where(Recharge.order_no.in_(originals))).scalars()
    }
    paid_back_by: dict[str, dict[str, Any]] = defaultdict(_zero_group)
    for refund_row in refunds:
        if refund_row.kind == "checkout_refund":
            method, money = originals_checkout.get(refund_row.original_order_no), Money(refund_row.other_tender_fen)
        else:
            method, money = originals_recharge.get(refund_row.original_order_no), Money(refund_row.principal_fen)
        if money.fen:
            group = paid_back_by[method or "other"]
            group["count"] += 1
            group["amount"] += money

    def cash_in(groups: dict[str, dict[str, Any]]) -> Money:
        group = groups.get("cash")
        return group["amount"] if group else Money.zero()

    return {
        "since": since,
        "store": session.get(Store, store_id),
        "recharges": {
            "count": len(recharges),
            "amount": _total(Money(r.amount_fen) for r in recharges),
            "bonus": _total(Money(r.bonus_fen) for r in recharges),
            "by_method": dict(sorted(recharge_by.items())),
        },
        "checkouts": {
            "count": len(checkouts),
            "bill": _total(Money(c.bill_total_fen) for c in checkouts),
            "payable": _total(Money(c.payable_fen) for c in checkouts),
            "principal": _total(Money(c.paid_principal_fen) for c in checkouts),
            "bonus": _total(Money(c.paid_bonus_fen) for c in checkouts),
            "from_balance": _total(Money(c.paid_principal_fen + c.paid_bonus_fen) for c in checkouts),
            "other": _total(Money(c.other_tender_fen) for c in checkouts),
            "other_by_method": dict(sorted(other_by.items())),
            "points_used": sum(c.points_used for c in checkouts),
            "points_deduction": _total(Money(c.points_deduction_fen) for c in checkouts),
            "points_earned": sum(c.points_earned for c in checkouts),
        },
        "refunds": {
            "count": len(refunds),
            "amount": _total(Money(r.amount_fen) for r in refunds),
            "to_balance": _total(Money(r.principal_fen + r.bonus_fen) for r in refunds if r.kind == "checkout_refund"),
            "paid_back_by_method": dict(sorted(paid_back_by.items())),
        },
        # The coupons the shift's bills used, with what they took off.
        "coupons": {
            "count": sum(len(c.coupons or []) for c in checkouts),
            "amount": _total(Money(c.coupon_discount_fen) for c in checkouts),
        },
        "cash_expected": cash_in(recharge_by) + cash_in(other_by) - cash_in(paid_back_by),
    }


def cashiers_of(session: Session, store_id: str, since: datetime) -> list[tuple[str, str]]:
    """(actor id, name) of everyone who rang up an order at this store since a moment, by name."""
    made_here = union(
        select(Recharge.order_no).where(Recharge.store_id == store_id, Recharge.created_at >= since),
        select(Checkout.order_no).where(Checkout.store_id == store_id, Checkout.created_at >= since),
        select(Refund.order_no).where(Refund.store_id == store_id, Refund.created_at >= since),
    )
    rows = session.execute(
        select(AuditEntry.actor_id, AuditEntry.actor_name)
        .where(AuditEntry.occurred_at >= since, AuditEntry.actor_id.is_not(None), AuditEntry.order_no.in_(made_here))
        .distinct()
    ).all()
    found: dict[str, str] = {}
    for actor_id, name in rows:
        found.setdefault(str(actor_id), name or str(actor_id))
    return sorted(found.items(), key=lambda item: (item[1], item[0]))
