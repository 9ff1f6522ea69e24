"""Daily points jobs: expiring lots (R-PTS-2, R-PTS-3) and reminders before points expire (R-PTS-3).

Usable points already leave out expired lots (`usable_points`), so expiry changes nothing a
member sees: it makes the ledger say the same, moving each expired lot's remainder to the
chain's expired-points account.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, ColumnElement, Select, and_, case, func, insert, literal, or_, select, update
from sqlalchemy.orm import Session

from dinecard.ledger import service as ledger
from dinecard.ledger.domain import AccountKind, EntryReason, Unit
from dinecard.ledger.models import Account, JournalTransaction
from dinecard.members.models import Member
from dinecard.platform import outbox
from dinecard.platform.db import UnitOfWork, UtcDateTime
from dinecard.platform.jobs import (
    JobProgress,
    JobResult,
    in_range,
    keyset_batches,
    member_pages,
    over_ranges,
    register_daily_job,
)
from dinecard.platform.outbox import OutboxMessage
from dinecard.security import audit
from dinecard.shared.calendar import end_of_day, local_date

if TYPE_CHECKING:
    from dinecard.platform.container import Container

LOT = AccountKind.MEMBER_POINTS_LOT
DEBT = AccountKind.MEMBER_POINTS_DEBT
POINTS = Unit.POINTS
# Days before expiry at which members are reminded, most urgent first.
REMINDER_DAYS = (7, 30)  # the default; the programme's points.reminder_days decides

# ---------------------------------------------------------------- rules (pure)


def expiry_cutoff(business_date: date, timezone: str, now: datetime) -> datetime:
    """Lots with `expires_at` at or before this instant are expired by the run for `business_date`.

    `expires_at` is the first instant a lot is no longer usable, so the run for a day takes
    every lot that ends by the start of the next day, but never one that is still usable now.
    """
    return min(end_of_day(business_date, timezone), now)


def last_usable_day(expires_at: datetime, timezone: str) -> date:
    """The business day on which a lot can be used for the last time."""
    return local_date(expires_at - timedelta(microseconds=1), timezone)


def reminder_due(
    expires_at: datetime, business_date: date, timezone: str, reminder_days: tuple[int, ...] = REMINDER_DAYS
) -> int | None:
    """The most urgent reminder (days before expiry) a lot qualifies for on `business_date`, if any.

    A lot that is first seen inside the 7-day window only gets the 7-day reminder: the
    30-day one would arrive on the same day and say less.
    """
    for days in sorted(reminder_days):
        if expires_at <= end_of_day(business_date + timedelta(days=days), timezone):
            return days
    return None


# ---------------------------------------------------------------- expiry


def _lot_owners(*conditions: ColumnElement[bool]) -> Callable[[Session, str | None, int], Sequence[str]]:
    """A page of ids of members owning a non-empty lot that meets `conditions`."""
    where = [Account.kind == LOT.value, Account.balance > 0, Account.expires_at.is_not(None), *conditions]

    return member_pages(Account.member_id, *where, distinct=True)


def _count_lot_owners(container: Container, *conditions: ColumnElement[bool]) -> int:
    where = [Account.kind == LOT.value, Account.balance > 0, Account.expires_at.is_not(None), *conditions]
    with container.database.read() as session:
        return session.execute(select(func.count(func.distinct(Account.member_id))).where(*where)).scalar_one()


def expire_points(container: Container, business_date: date, progress: JobProgress) -> JobResult:
    """Move the points of expired lots into the chain's expired-points account, a range of members per transaction.

    Set-based: a month-end run at a large chain expires lots of most members (770,000 of a
    million in the benchmark), so each range of members takes a fixed handful of statements
    whatever its size, instead of a handful per member.
    """
    result = JobResult()
    cutoff = expiry_cutoff(business_date, container.program.business_timezone, container.clock.now())
    progress.set_total(_count_lot_owners(container, Account.expires_at <= cutoff))

    def expire(after: str | None, last: str) -> tuple[int, int, int]:
        with container.database.write() as uow:
            return _expire_range(uow, container, after, last, cutoff, business_date)

    for members, lots, points in over_ranges(container, Member.id, expire):
        if members:
            result.add("members", members)
            result.add("lots", lots)
            result.add("points", points)
            progress.advance(members)
    return result


def _expire_range(
    uow: UnitOfWork, container: Container, after: str | None, last: str, cutoff: datetime, business_date: date
) -> tuple[int, int, int]:
    """Expire the lots of the members with ids in (after, last]: (members, lots, points).

    One balanced journal transaction per range: a leg emptying each expired lot and one leg
    to the chain's expired-points account. A member's points history reads the legs on their
    own accounts, so each member still sees their expiry as one line. Every statement covers
    the whole range inside the database: a month-end run at a large chain expires lots of
    most members (770,000 of a million in the benchmark), and per-member transactions would
    cost a journal row, a counter leg and their foreign-key checks each. What another run
    already expired has a zero balance and is not selected again.
    """
    session = uow.session
    # The member locks first, in id order, as every write of a member takes them.
    uow.lock_range(Member.id, after, last)
    expired = and_(
        in_range(Account.member_id, after, last),
        Account.kind == LOT.value,
        Account.balance > 0,
        Account.expires_at.is_not(None),
        Account.expires_at <= cutoff,
    )
    counts = session.execute(
        select(
            func.count(func.distinct(Account.member_id)), func.count(), func.coalesce(func.sum(Account.balance), 0)
        ).where(expired)
    ).one()
    members, lots, points = int(counts[0]), int(counts[1]), int(counts[2])
    if not lots:
        return 0, 0, 0
    now = container.clock.now()
    counter = ledger.counter_entry(uow, AccountKind.POINTS_EXPIRED, POINTS, points, EntryReason.EXPIRE, now)
    transaction_id = session.execute(
        insert(JournalTransaction)
        .values(
            kind="points_expired",
            member_id=None,
            store_id=None,
            order_no=None,
            program_version=container.program.version,
            created_at=now,
            memo=f"expiry run for {business_date.isoformat()}, members {after or ''}..{last}",
        )
        .returning(JournalTransaction.id)
    ).scalar_one()
    # Each lot's leg empties it (its balance after is 0).
    session.execute(
        insert(ledger.POSTINGS_TABLE).from_select(
            ["transaction_id", "account_id", "amount", "unit", "reason", "balance_after"],
            select(
                literal(transaction_id, BigInteger),
                Account.id,
                -Account.balance,
                literal(POINTS.value),
                literal(EntryReason.EXPIRE.value),
                literal(0, BigInteger),
            ).where(expired),
        )
    )
    session.execute(
        insert(ledger.POSTINGS_TABLE).values(
            transaction_id=transaction_id,
            account_id=counter.account_id,
            amount=points,
            unit=POINTS.value,
            reason=EntryReason.EXPIRE.value,
            balance_after=None,
        )
    )
    messages = _expiry_messages(uow, expired, after, last, business_date, now)
    session.execute(insert(OutboxMessage).from_select(["member_id", "topic", "payload", "created_at"], messages))
    session.execute(update(Account).where(expired).values(balance=0).execution_options(synchronize_session=False))
    # The metrics count the expired points when this commits, as for any journal transaction.
    session.info.setdefault(ledger.RECORDED_TRANSACTIONS, []).append(("points_expired", [counter]))
    audit.record(
        uow,
        actor=None,
        actor_name="job points_expiry",
        action="job points_expiry",
        target_kind="members",
        target_id=f"{after or ''}..{last}",
        now=now,
        after={"members": members, "lots": lots, "points_expired": points, "transaction_id": transaction_id},
    )
    return members, lots, points


def _expiry_messages(
    uow: UnitOfWork, expired: ColumnElement[bool], after: str | None, last: str, business_date: date, now: datetime
) -> Select[Any]:
    """Each member's `points_expired` message: the points expiring and what stays usable (as `usable_points`).

    Read before the lots are emptied (an expired lot is not usable at `now` either way).
    """
    usable_lot = and_(
        Account.kind == LOT.value, Account.balance > 0, or_(Account.expires_at.is_(None), Account.expires_at > now)
    )
    counted = case((usable_lot, Account.balance), (Account.kind == DEBT.value, Account.balance), else_=0)
    usable = (
        select(Account.member_id.label("member_id"), func.sum(counted).label("points"))
        .where(in_range(Account.member_id, after, last), Account.kind.in_([LOT.value, DEBT.value]))
        .group_by(Account.member_id)
        .subquery()
    )
    expiring = (
        select(Account.member_id.label("member_id"), func.sum(Account.balance).label("points"))
        .where(expired)
        .group_by(Account.member_id)
        .subquery()
    )
    json_object = func.json_build_object if uow.database.dialect == "postgresql" else func.json_object
    payload = json_object(
        literal("points"),
        expiring.c.points,
        literal("business_date"),
        literal(business_date.isoformat()),
        literal("points_usable"),
        func.coalesce(usable.c.points, 0),
    )
    return select(expiring.c.member_id, literal("points_expired"), payload, literal(now, UtcDateTime())).outerjoin(
        usable, usable.c.member_id == expiring.c.member_id
    )


# ---------------------------------------------------------------- reminders


def remind_expiring_points(container: Container, business_date: date, progress: JobProgress) -> JobResult:
    """Remind members of points expiring within 30 and within 7 days, once per expiry date and threshold."""
    result = JobResult()
    timezone = container.program.business_timezone
    reminder_days = tuple(sorted(container.program.points.reminder_days)) or REMINDER_DAYS
    # Lots that end by tomorrow's start are the expiry job's, not a reminder's.
    window = (
        Account.expires_at > max(end_of_day(business_date, timezone), container.clock.now()),
        Account.expires_at <= end_of_day(business_date + timedelta(days=max(reminder_days)), timezone),
    )
    progress.set_total(_count_lot_owners(container, *window))
    for member_ids in keyset_batches(container, _lot_owners(*window)):
        with container.database.write() as uow:
            lots = uow.session.execute(
                select(Account.member_id, Account.expires_at, Account.balance)
                .where(Account.kind == LOT.value, Account.balance > 0, Account.member_id.in_(member_ids), *window)
                .order_by(Account.member_id, Account.expires_at)
            ).all()
            expiring: dict[tuple[str, date], tuple[datetime, int]] = {}
            for member_id, expires_at, balance in lots:
                assert member_id is not None and expires_at is not None, "the query selects member lots that expire"
                key = (member_id, local_date(expires_at, timezone))
                earliest, points = expiring.get(key, (expires_at, 0))
                expiring[key] = (min(earliest, expires_at), points + balance)
            for (member_id, expiry_day), (expires_at, points) in expiring.items():
                days = _remind(
                    uow,
                    member_id,
                    expiry_day,
                    expires_at,
                    points,
                    business_date,
                    timezone,
                    container.clock.now(),
                    reminder_days,
                )
                if days is not None:
                    result.add(f"reminders_{days}")
        progress.advance(len(member_ids))
    return result


def _remind(
    uow: UnitOfWork,
    member_id: str,
    expiry_day: date,
    expires_at: datetime,
    points: int,
    business_date: date,
    timezone: str,
    now: datetime,
    reminder_days: tuple[int, ...] = REMINDER_DAYS,
) -> int | None:
    """Enqueue the reminder due for one member's points of one expiry day; its days, or None if sent before."""
    days = reminder_due(expires_at, business_date, timezone, reminder_days)
    assert days is not None, "the window selects only lots that are due a reminder"
    usable_until = last_usable_day(expires_at, timezone)
    sent = outbox.enqueue_once(
        uow,
        member_id=member_id,
        occasion=f"points_expiring_{days}:{expiry_day.isoformat()}",
        topic=f"points_expiring_{days}",
        now=now,
        payload={
            "points": points,
            "expires_at": expires_at.isoformat(),
            "usable_until": usable_until.isoformat(),
            "days_left": (usable_until - business_date).days,
        },
    )
    return days if sent else None


register_daily_job("points_expiry", expire_points)
register_daily_job("points_expiry_reminders", remind_expiring_points)
