"""What the till's receipt page reads: records of the wallet, shaped for the templates.

A checkout's receipt shows its lines (as stored with the checkout), its discounts and coupons,
and the stamp cards it stamped: stamps earned, where the card stands, how many more for the
reward, and any voucher a full card turned into (from the stamp entries of the order)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dinecard.coupons import service as coupons
from dinecard.coupons.models import Coupon
from dinecard.ledger import history
from dinecard.members import service as members
from dinecard.platform.container import Container
from dinecard.program.domain import RechargeTier
from dinecard.shared.money import Money
from dinecard.stamps.models import StampCard, StampEntry
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
            items=_items(checkout.items),
            stamps=stamp_progress(session, checkout.member_id, order_no, locale),
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


def _items(stored: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The bill's lines as the checkout kept them: name, quantity, unit price and the line's amount."""
    return [
        {
            "dish_id": line.get("dish_id"),
            "name": line.get("name") or line.get("dish_id") or "",
            "quantity": int(line["quantity"]),
            "unit_price": Money(int(line["unit_price_fen"])),
            "amount": Money(int(line["unit_price_fen"]) * int(line["quantity"])),
        }
        for line in stored or []
    ]


def stamp_progress(session: Session, member_id: str, order_no: str, locale: str) -> list[dict[str, Any]]:
    """Each stamp card this checkout stamped: earned, on the card right after, to go, vouchers won."""
    entries = list(
        session.execute(
            select(StampEntry)
            .where(StampEntry.order_no == order_no, StampEntry.member_id == member_id)
            .order_by(StampEntry.id)
        ).scalars()
    )
    cards: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if entry.reason not in ("purchase", "completed"):
            continue  # a later refund of this bill is on the refund's receipt, not here
        card = cards.setdefault(entry.card_id, {"earned": 0, "won": [], "last_id": entry.id})
        card["last_id"] = max(card["last_id"], entry.id)
        if entry.reason == "purchase":
            card["earned"] += entry.delta
        elif entry.coupon_code:
            card["won"].append(entry.coupon_code)
    if not cards:
        return []
    rows = {row.id: row for row in session.execute(select(StampCard).where(StampCard.id.in_(cards))).scalars()}
    reward_names = _template_names(session, {row.reward_template_code for row in rows.values()}, locale)
    progress: list[dict[str, Any]] = []
    for card_id, card in cards.items():
        row = rows[card_id]
        # The card's stamps right after this bill: every entry of this member's card up to its last one.
        stamps = session.execute(
            select(func.coalesce(func.sum(StampEntry.delta), 0)).where(
                StampEntry.member_id == member_id, StampEntry.card_id == card_id, StampEntry.id <= card["last_id"]
            )
        ).scalar_one()
        reward = reward_names.get(row.reward_template_code, row.reward_template_code)
        progress.append(
            {
                "card_id": card_id,
                "name": row.name if locale == "zh" else row.name_en or row.name,
                "earned": card["earned"],
                "stamps": int(stamps),
                "needed": row.stamps_needed,
                "to_go": row.stamps_needed - int(stamps),
                "reward": reward,
                "won": [{"code": code, "name": reward} for code in card["won"]],
            }
        )
    return progress
