"""Applying a level change: the member's level, the history row, gifts and the notification."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert

from dinecard.coupons import service as coupons
from dinecard.ledger.domain import Entry, EntryReason
from dinecard.ledger.service import MemberAccounts
from dinecard.levels.domain import LevelChange, Standing
from dinecard.levels.models import LevelHistory
from dinecard.members.models import Member
from dinecard.platform import outbox
from dinecard.platform.db import UnitOfWork
from dinecard.points import service as points
from dinecard.program.domain import Program
from dinecard.shared.money import Money

NO_COUPONS: tuple[str, ...] = ()


@dataclass(frozen=True)
class GiftsGiven:
    """What a level change gave: its ledger entries, upgrade gift points and coupon codes."""

    entries: list[Entry]
    points: int
    coupons: tuple[str, ...]


def apply_level_change(
    uow: UnitOfWork,
    program: Program,
    member: Member,
    accounts: MemberAccounts,
    change: LevelChange,
    order_no: str | None,
    now: datetime,
    store_id: str | None = None,
) -> GiftsGiven:
    """Record the change; on an upgrade, give each passed level's gifts (points and coupons)."""
    member.level_code = change.to_level.code
    member.level_since = now
    uow.session.execute(
        insert(LevelHistory).values(
            member_id=member.id,
            from_level=change.from_level.code,
            to_level=change.to_level.code,
            reason=change.reason,
            order_no=order_no,
            created_at=now,
        )
    )
    gained = change.levels_gained(program) if change.is_upgrade else []
    gift_points = sum(level.upgrade_gift_points for level in gained)
    entries = points.award(uow, program, accounts, member.id, gift_points, now, EntryReason.UPGRADE_GIFT, store_id)
    gift_coupons = [
        coupon.code
        for level in gained
        for code in level.upgrade_gift_coupons
        if (coupon := coupons.issue_gift(uow, program, member.id, code, now, coupons.Source.UPGRADE_GIFT, level.code))
    ]
    outbox.enqueue(
        uow,
        member_id=member.id,
        topic="level_upgraded" if change.is_upgrade else "level_downgraded",
        payload={
            "from": change.from_level.code,
            "to": change.to_level.code,
            "reason": change.reason,
            "gift_points": gift_points,
            "gift_coupons": gift_coupons,
            "order_no": order_no,
        },
        now=now,
    )
    return GiftsGiven(entries, gift_points, tuple(gift_coupons))


def record_downgrades(uow: UnitOfWork, changes: list[tuple[str, LevelChange]], now: datetime) -> None:
    """The level history and the member's message for many downgrades at once (the review's).

    What `apply_level_change` records for a downgrade, in two statements; the members' own
    columns are the caller's to update.
    """
    assert not any(change.is_upgrade for _member_id, change in changes), "upgrades give gifts, one at a time"
    uow.session.execute(
        insert(LevelHistory),
        [
            {
                "member_id": member_id,
                "from_level": change.from_level.code,
                "to_level": change.to_level.code,
                "reason": change.reason,
                "order_no": None,
                "created_at": now,
            }
            for member_id, change in changes
        ],
    )
    outbox.enqueue_many(
        uow,
        [
            (
                member_id,
                "level_downgraded",
                {
                    "from": change.from_level.code,
                    "to": change.to_level.code,
                    "reason": change.reason,
                    "gift_points": 0,
                    "gift_coupons": [],
                    "order_no": None,
                },
            )
            for member_id, change in changes
        ],
        now,
    )


def standing(member: Member) -> Standing:
    """The figures the member's level is judged on."""
    return Standing(
        Money(member.cumulative_recharge_fen),
        Money(member.cumulative_consume_fen),
        Money(member.level_recharge_offset_fen or 0),
        Money(member.level_consume_offset_fen or 0),
    )


def raw_standing(member: Member) -> Standing:
    """The cumulative figures without downgrade offsets: what the member's money has bought.

    Refunds are judged on these, so refunding a little of a recharge does not cost a member
    who was lowered by a review (and stands exactly at their level's threshold) another level.
    """
    return Standing(Money(member.cumulative_recharge_fen), Money(member.cumulative_consume_fen))
