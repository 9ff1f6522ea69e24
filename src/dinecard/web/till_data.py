"""What the till's receipt and shift pages read: records of the wallet, shaped for the templates."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from dinecard.coupons import service as coupons
from dinecard.coupons.models import Coupon
from dinecard.ledger import history
from dinecard.members import service as members
from dinecard.platform.container import Container
from dinecard.program.domain import RechargeTier
from dinecard.shared.money import Money
from dinecard.stores.models import Store
from dinecard.wallet.models import Checkout, Recharge, Refund


def short_yuan(money: Money) -> str:
    """500 for ¥500.00, 12.5 for ¥12.50: how a tier button reads."""
    whole, cents = divmod(money.fen, 100)
    if cents == 0:
        return str(whole)
    return f"{whole}.{cents:02d}".rstrip("0")


def tier_view(tier: RechargeTier) -> dict[str, Any]:
    return {
        "value": tier.amount.yuan(),
        "amount": short_yuan(tier.amount),
        "bonus": short_yuan(tier.bonus),
        "points": tier.points,
    }


def _balance_after(session: Session, member_id: str, transaction_id: int) -> dict[str, Money]:
    """The balances right after a journal transaction (the last money change at or before it)."""
    entries, _ = history.money_history(session, member_id, transaction_id + 1, 1)
    if not entries:
        zero = Money.zero()
        return {"principal": zero, "bonus": zero, "total": zero}
    entry = entries[0]
    return {
        "principal": entry.principal_after,
        "bonus": entry.bonus_after,
        "total": entry.principal_after + entry.bonus_after,
    }


def _template_names(session: Session, codes: set[str], locale: str) -> dict[str, str]:
    rows = coupons.templates_by_code(session, codes)
    return {code: (row.name if locale == "zh" else row.name_en or row.name) for code, row in rows.items()}


def load_receipt(session: Session, container: Container, order_no: str, locale: str) -> dict[str, Any] | None:
    checkout = session.execute(select(Checkout).where(Checkout.order_no == order_no)).scalar_one_or_none()
    recharge = (
        None
        if checkout is not None
        else session.execute(select(Recharge).where(Recharge.order_no == order_no)).scalar_one_or_none()
    )
    refund = (
        None
        if checkout is not None or recharge is not None
        else session.execute(select(Refund).where(Refund.order_no == order_no)).scalar_one_or_none()
    )
    record: Checkout | Recharge | Refund | None = checkout or recharge or refund
    if record is None:
        return None
    now = container.clock.now()
    program = container.programs.at(now)
    member = members.member_view(session, container.cipher, program, record.member_id, now)
    store = session.get(Store, record.store_id)
    receipt: dict[str, Any] = {
        "order_no": record.order_no,
        "created_at": record.created_at,
        "store_id": record.store_id,
        "store_name": store.name if store else record.store_id,
        "member": member,
        "balance_after": _balance_after(session, record.member_id, record.journal_transaction_id),
    }
    if checkout is not None:
        names = _template_names(session, {c["template_code"] for c in checkout.coupons or []}, locale)
        refunds = list(
            session.execute(select(Refund).where(Refund.original_order_no == order_no).order_by(Refund.id)).scalars()
        )
        refunded = checkout.refunded_principal_fen + checkout.refunded_bonus_fen + checkout.refunded_other_fen
        receipt.update(
            kind="checkout",
            bill_total=Money(checkout.bill_total_fen),
            discounts=[{"kind": d["kind"], "amount": Money(d["amount_fen"])} for d in checkout.discounts or []],
            discount=Money(checkout.discount_fen),
            coupons=[
                {
                    "code": c["code"],
                    "name": names.get(c["template_code"], c["template_code"]),
                    "amount": Money(c["amount_fen"]),
                }
                for c in checkout.coupons or []
            ],
            coupon_discount=Money(checkout.coupon_discount_fen),
            points_used=checkout.points_used,
            points_deduction=Money(checkout.points_deduction_fen),
            payable=Money(checkout.payable_fen),
            paid_principal=Money(checkout.paid_principal_fen),
            paid_bonus=Money(checkout.paid_bonus_fen),
            other_tender=Money(checkout.other_tender_fen),
            other_tender_method=checkout.other_tender_method,
            points_earned=checkout.points_earned,
            refunded=Money(refunded),
            refundable=refunded < checkout.payable_fen,
            refunds=[
                {"order_no": r.order_no, "amount": Money(r.amount_fen), "created_at": r.created_at} for r in refunds
            ],
        )
    elif recharge is not None:
        gifts = list(session.execute(select(Coupon).where(Coupon.source_ref == order_no)).scalars())
        gift_names = _template_names(session, {c.template_code for c in gifts}, locale)
        level = program.level(recharge.level_after)
        receipt.update(
            kind="recharge",
            amount=Money(recharge.amount_fen),
            bonus=Money(recharge.bonus_fen),
            bonus_pending=Money(recharge.bonus_pending_fen),
            points_awarded=recharge.points_awarded,
            payment_method=recharge.payment_method,
            level_after=level.name if locale == "zh" else level.name_en,
            gift_coupons=[{"code": c.code, "name": gift_names.get(c.template_code, c.template_code)} for c in gifts],
        )
    else:
        assert refund is not None
        receipt.update(
            kind="refund",
            refund_kind=refund.kind,
            original_order_no=refund.original_order_no,
            amount=Money(refund.amount_fen),
            principal=Money(refund.principal_fen),
            bonus=Money(refund.bonus_fen),
            other_tender=Money(refund.other_tender_fen),
            bonus_forfeited=Money(refund.bonus_forfeited_fen),
            points_taken_back=refund.points_taken_back,
            points_restored=refund.points_restored,
            reason=refund.reason,
        )
    return receipt


def business_day_start(now: datetime, timezone: str) -> datetime:
    zone = ZoneInfo(timezone)
    return datetime.combine(now.astimezone(zone).date(), time(0), tzinfo=zone).astimezone(UTC)


def _zero_group() -> dict[str, Any]:
    return {"count": 0, "amount": Money.zero()}


def shift_summary(session: Session, store_id: str, now: datetime, timezone: str) -> dict[str, Any]:
    """R-CMP-5: today's business at this store, by tender, and the cash the drawer should hold."""
    since = business_day_start(now, timezone)
    recharges = list(
        session.execute(
            select(Recharge).where(Recharge.store_id == store_id, Recharge.created_at >= since).order_by(Recharge.id)
        ).scalars()
    )
    checkouts = list(
        session.execute(
            select(Checkout).where(Checkout.store_id == store_id, Checkout.created_at >= since).order_by(Checkout.id)
        ).scalars()
    )
    refunds = list(
        session.execute(
            select(Refund).where(Refund.store_id == store_id, Refund.created_at >= since).order_by(Refund.id)
        ).scalars()
    )
    used = list(
        session.execute(
            select(Coupon).where(Coupon.used_store_id == store_id, Coupon.used_at >= since, Coupon.status == "used")
        ).scalars()
    )
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
    originals_checkout = {
        row.order_no: row.other_tender_method
        for row in session.execute(
            select(Checkout).where(Checkout.order_no.in_({r.original_order_no for r in refunds}))
        ).scalars()
    }
    originals_recharge = {
        row.order_no: row.payment_method
        for row in session.execute(
            select(Recharge).where(Recharge.order_no.in_({r.original_order_no for r in refunds}))
        ).scalars()
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

    cash = cash_in(recharge_by) + cash_in(other_by) - cash_in(paid_back_by)
    total = sum
    return {
        "since": since,
        "store": session.get(Store, store_id),
        "recharges": {
            "count": len(recharges),
            "amount": total((Money(r.amount_fen) for r in recharges), Money.zero()),
            "bonus": total((Money(r.bonus_fen) for r in recharges), Money.zero()),
            "by_method": dict(sorted(recharge_by.items())),
        },
        "checkouts": {
            "count": len(checkouts),
            "bill": total((Money(c.bill_total_fen) for c in checkouts), Money.zero()),
            "payable": total((Money(c.payable_fen) for c in checkouts), Money.zero()),
            "principal": total((Money(c.paid_principal_fen) for c in checkouts), Money.zero()),
            "bonus": total((Money(c.paid_bonus_fen) for c in checkouts), Money.zero()),
            "from_balance": total((Money(c.paid_principal_fen + c.paid_bonus_fen) for c in checkouts), Money.zero()),
            "other": total((Money(c.other_tender_fen) for c in checkouts), Money.zero()),
            "other_by_method": dict(sorted(other_by.items())),
            "points_used": sum(c.points_used for c in checkouts),
            "points_earned": sum(c.points_earned for c in checkouts),
        },
        "refunds": {
            "count": len(refunds),
            "amount": total((Money(r.amount_fen) for r in refunds), Money.zero()),
            "to_balance": total(
                (Money(r.principal_fen + r.bonus_fen) for r in refunds if r.kind == "checkout_refund"), Money.zero()
            ),
            "paid_back_by_method": dict(sorted(paid_back_by.items())),
        },
        "coupons": {"count": len(used), "amount": total((Money(c.discount_fen) for c in used), Money.zero())},
        "cash_expected": cash,
    }
