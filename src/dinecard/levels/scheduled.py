"""Daily level jobs: the review that keeps or lowers levels (R-LVL-4, R-LVL-5) and birthday gifts (R-LVL-2).

A level has a clock (`members.level_since`). When a review period (3 months by default) has
passed since it, the member keeps the level if they consumed enough in that period (500 yuan by
default), or drops exactly one level and the clock restarts, so nobody falls more than one level
per period however long they stayed away.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, and_, extract, func, or_, select, update
from sqlalchemy.orm import Session

from dinecard.coupons import service as coupons
from dinecard.ledger import service as ledger
from dinecard.ledger.domain import EntryReason
from dinecard.levels.domain import LevelChange, ReviewFacts, Standing, offsets_after_downgrade, review
from dinecard.levels.service import record_downgrades
from dinecard.members.domain import MemberStatus
from dinecard.members.models import Member
from dinecard.members.service import lock_member
from dinecard.platform import outbox
from dinecard.platform.db import UnitOfWork
from dinecard.platform.jobs import (
    JobProgress,
    JobResult,
    in_range,
    keyset_batches,
    member_pages,
    over_ranges,
    register_daily_job,
)
from dinecard.points import service as points
from dinecard.program.domain import Program
from dinecard.security import audit
from dinecard.shared.calendar import add_months, birthday_in_year, end_of_day
from dinecard.shared.money import Money
from dinecard.wallet.models import Checkout

if TYPE_CHECKING:
    from dinecard.platform.container import Container


def review_levels(container: Container, business_date: date, progress: JobProgress) -> JobResult:
    """Keep or lower (by one) the level of members whose review period has ended, a range of members at a time."""
    result = JobResult()
    program = container.program
    if program.level_policy.downgrade_after_months is None:
        return result
    period_end = min(end_of_day(business_date, program.business_timezone), container.clock.now())

    def review_range(after: str | None, last: str) -> tuple[int, int]:
        with container.database.write() as uow:
            return _review_range(uow, container, program, after, last, period_end)

    for kept, lowered in over_ranges(container, Member.id, review_range):
        for outcome, count in (("kept", kept), ("lowered", lowered)):
            if count:
                result.add(outcome, count)
        progress.advance(kept + lowered)
    return result


def _review_range(
    uow: UnitOfWork, container: Container, program: Program, after: str | None, last: str, period_end: datetime
) -> tuple[int, int]:
    """Review the members with ids in (after, last] under their locks: (kept, lowered).

    Set-based (a fixed handful of statements per range): the rules stay in `review` and
    `offsets_after_downgrade`, applied member by member to what two queries read.
    """
    session = uow.session
    uow.lock_range(Member.id, after, last)
    months = program.level_policy.downgrade_after_months or 0
    # A superset (months of 28 days); `review` then applies the exact calendar rule per member,
    # so month-end clamping (31 Aug + 3 months = 30 Nov) is never a day late.
    candidates = and_(
        in_range(Member.id, after, last),
        Member.level_code != program.entry_level.code,
        Member.status != MemberStatus.CLOSED.value,
        Member.level_since <= period_end - timedelta(days=28 * months),
    )
    members = session.execute(
        select(
            Member.id,
            Member.level_code,
            Member.level_since,
            Member.registered_at,
            Member.cumulative_recharge_fen,
            Member.cumulative_consume_fen,
        ).where(candidates)
    ).all()
    if not members:
        return 0, 0
    consumed = _consumed_since_anchor(uow, candidates, period_end)
    now = container.clock.now()
    kept: list[dict[str, object]] = []
    lowered: list[tuple[str, LevelChange, dict[str, object]]] = []
    for member_id, level_code, level_since, registered_at, recharged_fen, consumed_fen in members:
        anchor = level_since or registered_at
        facts = ReviewFacts(level_code, anchor, Money(consumed.get(member_id, 0)))
        verdict = review(program, facts, period_end)
        if verdict is None:
            continue  # not due yet (the 28-day superset), or another run already moved the clock
        if verdict == "kept":
            kept.append({"id": member_id, "level_since": add_months(anchor, months)})
            continue
        assert isinstance(verdict, LevelChange)
        recharge_offset, consume_offset = offsets_after_downgrade(
            program, verdict.to_rank, Standing(Money(recharged_fen), Money(consumed_fen))
        )
        lowered.append(
            (
                member_id,
                verdict,
                {
                    "id": member_id,
                    "level_code": verdict.to_level.code,
                    "level_since": now,
                    # A bought level is kept like any other: by consuming, not for ever.
                    "level_floor_code": None,
                    "level_recharge_offset_fen": recharge_offset.fen,
                    "level_consume_offset_fen": consume_offset.fen,
                    "updated_at": now,
                },
            )
        )
    if kept:
        session.execute(update(Member), kept)
    if lowered:
        session.execute(update(Member), [values for _id, _change, values in lowered])
        record_downgrades(uow, [(member_id, change) for member_id, change, _values in lowered], now)
        # One audit entry per range: the level history holds each member's change.
        audit.record(
            uow,
            actor=None,
            actor_name="job level_review",
            action="job level_review",
            target_kind="members",
            target_id=f"{lowered[0][0]}..{lowered[-1][0]}",
            now=now,
            after={"kept": len(kept), "lowered": len(lowered)},
        )
    return len(kept), len(lowered)


def _consumed_since_anchor(uow: UnitOfWork, candidates: ColumnElement[bool], period_end: datetime) -> dict[str, int]:
    """What each candidate consumed (less refunds) from their level's anchor until `period_end`, in fen."""
    refunded = Checkout.refunded_principal_fen + Checkout.refunded_bonus_fen + Checkout.refunded_other_fen
    rows = uow.session.execute(
        select(Checkout.member_id, func.sum(Checkout.payable_fen - refunded))
        .join(Member, Member.id == Checkout.member_id)
        .where(
            candidates,
            Checkout.created_at >= func.coalesce(Member.level_since, Member.registered_at),
            Checkout.created_at < period_end,
        )
        .group_by(Checkout.member_id)
    ).all()
    return {member_id: int(total) for member_id, total in rows}


# ---------------------------------------------------------------- birthday gifts


# A worker that was down on a birthday still gives the gift within this many days.
BIRTHDAY_CATCH_UP_DAYS = 7


def _birthdays(business_date: date) -> Callable[[Session, str | None, int], Sequence[str]]:
    """Members whose birthday fell in the last week up to `business_date` (29 February counts as 28 February)."""
    days = {(business_date - timedelta(days=back)) for back in range(BIRTHDAY_CATCH_UP_DAYS)}
    month_days = {(day.month, day.day) for day in days}
    if any(birthday_in_year(date(2000, 2, 29), day.year) == day for day in days):
        month_days.add((2, 29))

    month_of, day_of = extract("month", Member.birthday), extract("day", Member.birthday)
    on_a_birthday = or_(*[(month_of == month) & (day_of == day) for month, day in sorted(month_days)])
    return member_pages(
        Member.id, Member.birthday.is_not(None), Member.status == MemberStatus.ACTIVE.value, on_a_birthday
    )


def give_birthday_gifts(container: Container, business_date: date, progress: JobProgress) -> JobResult:
    """Give each member their level's birthday points on their birthday, once a year."""
    result = JobResult()
    program = container.program
    if not any(level.birthday_gift_points or level.birthday_gift_coupons for level in program.levels):
        return result
    for member_ids in keyset_batches(container, _birthdays(business_date)):
        with container.database.write() as uow:
            for member_id in member_ids:
                gift = _gift(uow, container, program, member_id, business_date)
                if gift is not None:
                    result.add("members")
                    if gift[0]:
                        result.add("points", gift[0])
                    if gift[1]:
                        result.add("coupons", gift[1])
        progress.advance(len(member_ids))
    return result


def _celebrated_year(birthday: date | None, business_date: date) -> int:
    """The year of the latest birthday on or before `business_date` (a late gift counts for that year)."""
    assert birthday is not None
    this_year = birthday_in_year(birthday, business_date.year)
    return business_date.year if this_year <= business_date else business_date.year - 1


def _gift(
    uow: UnitOfWork, container: Container, program: Program, member_id: str, business_date: date
) -> tuple[int, int] | None:
    """(points, coupons) given, or None when there was nothing to give (or it was given already)."""
    member = lock_member(uow, member_id)
    level = program.level(member.level_code)
    gift_points = level.birthday_gift_points
    if gift_points == 0 and not level.birthday_gift_coupons:
        return None
    now = container.clock.now()
    # The once-a-year guard and the gift commit together, so a rerun gives nothing more.
    if not outbox.enqueue_once(
        uow,
        member_id=member.id,
        occasion=f"birthday_gift:{_celebrated_year(member.birthday, business_date)}",
        topic="birthday_gift",
        payload={"points": gift_points, "coupons": list(level.birthday_gift_coupons), "level": member.level_code},
        now=now,
    ):
        return None
    year = _celebrated_year(member.birthday, business_date)
    given = [
        coupons.issue_gift(uow, program, member.id, code, now, coupons.Source.BIRTHDAY_GIFT, f"birthday:{year}")
        for code in level.birthday_gift_coupons
    ]
    accounts = ledger.load_member_accounts(uow.session, member.id)
    entries = points.award(uow, program, accounts, member.id, gift_points, now, EntryReason.BIRTHDAY_GIFT)
    ledger.record(
        uow,
        kind="birthday_gift",
        entries=entries,
        now=now,
        member_id=member.id,
        store_id=None,
        order_no=None,
        program_version=program.version,
        memo=f"birthday {business_date.year}",
    )
    member.points_lifetime += gift_points
    audit.record(
        uow,
        actor=None,
        actor_name="job birthday_gifts",
        action="job birthday_gifts",
        target_kind="member",
        target_id=member.id,
        now=now,
        after={"points_given": gift_points, "coupons_given": [c.code for c in given if c], "level": member.level_code},
    )
    return gift_points, sum(1 for c in given if c)


# Gifts first: a member lowered on their birthday still gets the gift of the level they had that morning.
register_daily_job("birthday_gifts", give_birthday_gifts)
register_daily_job("level_review", review_levels)
