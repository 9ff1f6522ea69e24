"""Daily points jobs: expiring lots (R-PTS-2, R-PTS-3) and reminders before points expire (R-PTS-3).

Usable points already leave out expired lots (`usable_points`), so expiry changes nothing a
member sees: it makes the ledger say the same, moving each expired lot's remainder to the
chain's expired-points account.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from dinecard.ledger import service as ledger
from dinecard.ledger.domain import AccountKind, Entry, EntryReason, Unit
from dinecard.ledger.models import Account
from dinecard.members.service import lock_member
from dinecard.platform import outbox
from dinecard.platform.db import UnitOfWork
from dinecard.platform.jobs import JobProgress, JobResult, keyset_batches, member_pages, register_daily_job
from dinecard.points.domain import usable_points
from dinecard.security import audit
from dinecard.shared.calendar import end_of_day, local_date

if TYPE_CHECKING:
    from dinecard.platform.container import Container

LOT = AccountKind.MEMBER_POINTS_LOT
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
    """Move the points of expired lots into the chain's expired-points account, one transaction per member."""
    result = JobResult()
    cutoff = expiry_cutoff(business_date, container.program.business_timezone, container.clock.now())
    progress.set_total(_count_lot_owners(container, Account.expires_at <= cutoff))
    for member_ids in keyset_batches(container, _lot_owners(Account.expires_at <= cutoff)):
        with container.database.write() as uow:
            # Ascending ids: every batch job takes member locks in the same order, so two
            # workers running at once wait for each other instead of deadlocking.
            for member_id in member_ids:
                lots, points = _expire_member(uow, container, member_id, cutoff, business_date)
                if lots:
                    result.add("members")
                    result.add("lots", lots)
                    result.add("points", points)
        progress.advance(len(member_ids))
    return result


def _expire_member(
    uow: UnitOfWork, container: Container, member_id: str, cutoff: datetime, business_date: date
) -> tuple[int, int]:
    """Expire one member's lots under their lock: (lots, points), (0, 0) when another run got there first."""
    member = lock_member(uow, member_id)
    accounts = ledger.load_member_accounts(uow.session, member.id)
    expired = [lot for lot in accounts.lots if lot.expires_at is not None and lot.expires_at <= cutoff]
    if not expired:
        return 0, 0
    now = container.clock.now()
    program = container.program
    points = sum(lot.balance for lot in expired)
    entries = [Entry(lot.lot_id, LOT, -lot.balance, POINTS, EntryReason.EXPIRE) for lot in expired]
    entries.append(ledger.counter_entry(uow, AccountKind.POINTS_EXPIRED, POINTS, points, EntryReason.EXPIRE, now))
    ledger.apply_to_snapshot(accounts, entries)
    ledger.record(
        uow,
        kind="points_expired",
        entries=entries,
        now=now,
        member_id=member.id,
        store_id=None,
        order_no=None,
        program_version=program.version,
        memo=f"expiry run for {business_date.isoformat()}",
    )
    outbox.enqueue(
        uow,
        member_id=member.id,
        topic="points_expired",
        now=now,
        payload={
            "points": points,
            "business_date": business_date.isoformat(),
            "points_usable": usable_points(accounts.lots, accounts.debt, now),
        },
    )
    audit.record(
        uow,
        actor=None,
        actor_name="job points_expiry",
        action="job points_expiry",
        target_kind="member",
        target_id=member.id,
        now=now,
        after={"points_expired": points, "lots": len(expired)},
    )
    return len(expired), points


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
