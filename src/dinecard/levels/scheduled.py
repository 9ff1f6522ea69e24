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

from sqlalchemy import extract, func, or_, select
from sqlalchemy.orm import Session

from dinecard.coupons import service as coupons
from dinecard.ledger import service as ledger
from dinecard.ledger.domain import EntryReason
from dinecard.levels.domain import LevelChange, ReviewFacts, offsets_after_downgrade, review
from dinecard.levels.service import apply_level_change, standing
from dinecard.members.domain import MemberStatus
from dinecard.members.models import Member
from dinecard.members.service import lock_member
from dinecard.platform import outbox
from dinecard.platform.db import UnitOfWork
from dinecard.platform.jobs import JobProgress, JobResult, keyset_batches, member_pages, register_daily_job
from dinecard.points import service as points
from dinecard.program.domain import Program
from dinecard.security import audit
from dinecard.shared.calendar import add_months, birthday_in_year, end_of_day
from dinecard.shared.money import Money
from dinecard.wallet.models import Checkout

if TYPE_CHECKING:
    from dinecard.platform.container import Container


def _reviewable(program: Program, period_end: datetime) -> Callable[[Session, str | None, int], Sequence[str]]:
    """Members above the entry level whose level clock started at least one period before `period_end`."""
    months = program.level_policy.downgrade_after_months or 0
    # A superset (months of 28 days); `review` then applies the exact calendar rule per member,
    # so month-end clamping (31 Aug + 3 months = 30 Nov) is never a day late.
    started_before = period_end - timedelta(days=28 * months)

    return member_pages(
        Member.id,
        Member.level_code != program.entry_level.code,
        Member.status != MemberStatus.CLOSED.value,
        Member.level_since <= started_before,
    )


def _consumed_since(uow: UnitOfWork, member_id: str, since: datetime, until: datetime) -> Money:
    refunded = Checkout.refunded_principal_fen + Checkout.refunded_bonus_fen + Checkout.refunded_other_fen
    total = uow.session.execute(
        select(func.coalesce(func.sum(Checkout.payable_fen - refunded), 0)).where(
            Checkout.member_id == member_id, Checkout.created_at >= since, Checkout.created_at < until
        )
    ).scalar_one()
    return Money(int(total))


def review_levels(container: Container, business_date: date, progress: JobProgress) -> JobResult:
    """Keep or lower (by one) the level of members whose review period has ended."""
    result = JobResult()
    program = container.program
    if program.level_policy.downgrade_after_months is None:
        return result
    period_end = min(end_of_day(business_date, program.business_timezone), container.clock.now())
    for member_ids in keyset_batches(container, _reviewable(program, period_end)):
        with container.database.write() as uow:
            for member_id in member_ids:
                outcome = _review_member(uow, container, program, member_id, period_end)
                if outcome:
                    result.add(outcome)
        progress.advance(len(member_ids))
    return result


def _review_member(
    uow: UnitOfWork, container: Container, program: Program, member_id: str, period_end: datetime
) -> str | None:
    member = lock_member(uow, member_id)
    anchor = member.level_since or member.registered_at
    months = program.level_policy.downgrade_after_months or 0
    facts = ReviewFacts(member.level_code, anchor, _consumed_since(uow, member.id, anchor, period_end))
    verdict = review(program, facts, period_end)
    if verdict is None:
        return None  # another run already moved the clock
    if verdict == "kept":
        member.level_since = add_months(anchor, months)
        return "kept"
    assert isinstance(verdict, LevelChange)
    now = container.clock.now()
    accounts = ledger.load_member_accounts(uow.session, member.id)
    apply_level_change(uow, program, member, accounts, verdict, None, now)
    member.level_floor_code = None  # a bought level is kept like any other: by consuming, not for ever
    recharge_offset, consume_offset = offsets_after_downgrade(program, verdict.to_rank, standing(member))
    member.level_recharge_offset_fen = recharge_offset.fen
    member.level_consume_offset_fen = consume_offset.fen
    member.updated_at = now
    audit.record(
        uow,
        actor=None,
        actor_name="job level_review",
        action="job level_review",
        target_kind="member",
        target_id=member.id,
        now=now,
        before={"level": verdict.from_level.code},
        after={"level": verdict.to_level.code},
    )
    return "lowered"


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
