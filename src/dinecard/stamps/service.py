"""Stamps at checkout and refund; a full card turns into its reward coupon (a dish voucher)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from dinecard.coupons import service as coupons
from dinecard.coupons.domain import CouponStatus
from dinecard.coupons.models import Coupon
from dinecard.platform.db import UnitOfWork
from dinecard.program.domain import Program
from dinecard.rewards import history
from dinecard.stamps.domain import CardRule, StampLine, collect, stamps_earned, stamps_to_take_back
from dinecard.stamps.models import StampBalance, StampCard, StampEntry


@dataclass(frozen=True)
class StampsEarned:
    card_id: str
    card_name: str
    earned: int
    stamps: int  # on the card after this checkout
    stamps_needed: int
    reward_coupons: tuple[str, ...]  # codes of the vouchers full cards turned into


def card_rule(row: StampCard) -> CardRule:
    return CardRule(
        id=row.id,
        dish_ids=frozenset(row.dish_ids or ()),
        categories=frozenset(row.categories or ()),
        stamps_needed=row.stamps_needed,
        stores=frozenset(row.stores) if row.stores is not None else None,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        active=row.active,
    )


def _balance(uow: UnitOfWork, member_id: str, card_id: str, now: datetime) -> StampBalance:
    row = uow.session.get(StampBalance, (member_id, card_id), populate_existing=True)
    if row is None:
        row = StampBalance(member_id=member_id, card_id=card_id, stamps=0, cards_completed=0, updated_at=now)
        uow.session.add(row)
    return row


def earn(
    uow: UnitOfWork,
    program: Program,
    member_id: str,
    order_no: str,
    lines: list[StampLine],
    store_id: str,
    now: datetime,
) -> list[StampsEarned]:
    """Stamps for the qualifying units of a checkout (the caller holds the member's lock)."""
    if not lines:
        return []
    results: list[StampsEarned] = []
    cards = uow.session.execute(select(StampCard).where(StampCard.active.is_(True))).scalars()
    for card in cards:
        rule = card_rule(card)
        earned = stamps_earned(rule, lines) if rule.running(now, store_id) else 0
        if earned == 0:
            continue
        balance = _balance(uow, member_id, card.id, now)
        uow.session.add(
            StampEntry(
                member_id=member_id, card_id=card.id, order_no=order_no, delta=earned, reason="purchase", created_at=now
            )
        )
        stamps_after, completed = collect(balance.stamps, earned, card.stamps_needed)
        codes: list[str] = []
        for _ in range(completed):
            coupon = coupons.issue_gift(
                uow, program, member_id, card.reward_template_code, now, coupons.Source.STAMP_CARD, order_no
            )
            if coupon is None:
                break  # no voucher to give: the stamps stay on the card until one can be given
            codes.append(coupon.code)
            uow.session.add(
                StampEntry(
                    member_id=member_id,
                    card_id=card.id,
                    order_no=order_no,
                    delta=-card.stamps_needed,
                    reason="completed",
                    coupon_code=coupon.code,
                    created_at=now,
                )
            )
        completed = len(codes)
        stamps_after = balance.stamps + earned - completed * card.stamps_needed
        balance.stamps, balance.updated_at = stamps_after, now
        balance.cards_completed += completed
        history.record(
            uow, member_id, "stamps_earned", order_no, now, card_id=card.id, earned=earned, stamps=stamps_after
        )
        results.append(StampsEarned(card.id, card.name, earned, stamps_after, card.stamps_needed, tuple(codes)))
    return results


def take_back(
    uow: UnitOfWork, member_id: str, order_no: str, refunded_after: int, payable: int, refund_no: str, now: datetime
) -> None:
    """A refund takes back its share of the stamps the bill earned. If that leaves the card short
    and a reward voucher from it is still unused, the voucher goes back into stamps; otherwise
    the card owes stamps (below zero) that the next purchases make up."""
    rows = uow.session.execute(
        select(StampEntry.card_id, StampEntry.reason, func.sum(StampEntry.delta))
        .where(StampEntry.order_no == order_no, StampEntry.reason.in_(("purchase", "refund")))
        .group_by(StampEntry.card_id, StampEntry.reason)
    ).all()
    earned: dict[str, int] = {}
    taken: dict[str, int] = {}
    for card_id, reason, total in rows:
        (earned if reason == "purchase" else taken)[card_id] = int(total)
    for card_id, card_earned in earned.items():
        due = stamps_to_take_back(card_earned, -taken.get(card_id, 0), refunded_after, payable)
        if due <= 0:
            continue
        balance = _balance(uow, member_id, card_id, now)
        balance.stamps -= due
        uow.session.add(
            StampEntry(
                member_id=member_id, card_id=card_id, order_no=order_no, delta=-due, reason="refund", created_at=now
            )
        )
        if balance.stamps < 0:
            _void_unused_reward(uow, balance, refund_no, now)
        balance.updated_at = now
        history.record(
            uow, member_id, "stamps_taken_back", refund_no, now, card_id=card_id, stamps=-due, order_no=order_no
        )


def _void_unused_reward(uow: UnitOfWork, balance: StampBalance, refund_no: str, now: datetime) -> None:
    card = uow.session.get(StampCard, balance.card_id)
    assert card is not None
    while balance.stamps < 0:
        voucher = uow.session.execute(
            select(Coupon)
            .join(StampEntry, StampEntry.coupon_code == Coupon.code)
            .where(
                StampEntry.card_id == card.id,
                StampEntry.reason == "completed",
                Coupon.member_id == balance.member_id,
                Coupon.status == CouponStatus.ISSUED.value,
                Coupon.valid_until > now,
            )
            .order_by(Coupon.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        if voucher is None:
            return
        coupons.void(uow, voucher, "stamps refunded", None, now)
        balance.stamps += card.stamps_needed
        balance.cards_completed -= 1
        uow.session.add(
            StampEntry(
                member_id=balance.member_id,
                card_id=card.id,
                order_no=refund_no,
                delta=card.stamps_needed,
                reason="voucher_voided",
                coupon_code=voucher.code,
                created_at=now,
            )
        )
