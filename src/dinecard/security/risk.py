"""Risk rules (R-SEC-4): unusual patterns in what was recently written, each raised once for HQ.

The rules read the ledger and the business records after the fact, so no write ever waits for
them: the worker scans the last `risk_scan_lookback_minutes` every minute, and a daily job scans
the previous business day and today, catching whatever a stopped worker missed. A rolling-window
rule raises at the operation that first brings the window to its threshold, and the event is
keyed by that operation, so repeated and overlapping scans find the same key.

- small recharges: `risk_small_recharges` recharges of one member below
  `risk_small_recharge_below_yuan` within `risk_small_recharge_window_minutes`;
- refunds by one cashier or key: more than `risk_refunds_per_actor_per_hour_max` within an hour
  (the actor comes from the audit log; refunds without an audit entry are not attributed);
- refunds of one member: more than `risk_refunds_per_member_per_day_max` in a business day;
- points swing: one operation giving or taking more than `risk_points_swing_max` points
  (expiry and forfeiture on closing a card are not swings);
- odd hours: operations at a store between `risk_night_start_hour` and `risk_night_end_hour`
  business time, one event per store and night.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, false, func, or_, select
from sqlalchemy.orm import Session

from dinecard.ledger.domain import AccountKind, EntryReason
from dinecard.ledger.models import Account, JournalTransaction, Posting
from dinecard.platform.settings import Settings
from dinecard.security.models import AuditEntry
from dinecard.security.risk_events import Finding, Severity, raise_all
from dinecard.shared.calendar import local_date, start_of_day
from dinecard.shared.money import Money
from dinecard.wallet.models import Recharge, Refund

if TYPE_CHECKING:
    from dinecard.platform.container import Container

log = logging.getLogger("dinecard.risk")

# Journal transactions written by the daily jobs, not by anyone at a till.
UNATTENDED_KINDS = ("points_expired", "bonus_release", "birthday_gift")
# Points lost or written off with nothing gained (expiry, closing a card): not a swing anyone profits from.
NOT_A_SWING = (EntryReason.EXPIRE.value, EntryReason.FORFEIT.value, EntryReason.DEBT_WRITE_OFF.value)
ROWS_MAX = 20_000  # per query; a scan that reaches it says so in the log
FINDINGS_MAX = 500  # per rule and scan
ORDERS_IN_DETAILS_MAX = 10
ACTOR_WINDOW = timedelta(hours=1)
# An audit entry is written in the refund's own transaction, at the same moment; the slack only
# lets the period bound the audit rows read (by their indexed time) without losing any.
AUDIT_SLACK = timedelta(minutes=5)


@dataclass(frozen=True)
class Thresholds:
    small_recharges: int
    small_recharge_window: timedelta
    small_recharge_below_fen: int
    refunds_per_actor_per_hour_max: int
    refunds_per_member_per_day_max: int
    points_swing_max: int
    night_start_hour: int
    night_end_hour: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        return cls(
            small_recharges=settings.risk_small_recharges,
            small_recharge_window=timedelta(minutes=settings.risk_small_recharge_window_minutes),
            small_recharge_below_fen=Money.parse_yuan(settings.risk_small_recharge_below_yuan).fen,
            refunds_per_actor_per_hour_max=settings.risk_refunds_per_actor_per_hour_max,
            refunds_per_member_per_day_max=settings.risk_refunds_per_member_per_day_max,
            points_swing_max=settings.risk_points_swing_max,
            night_start_hour=settings.risk_night_start_hour,
            night_end_hour=settings.risk_night_end_hour,
        )


@dataclass(frozen=True)
class Operation:
    """One operation as the rules see it; `group` is whose pattern it counts towards (a member, an actor)."""

    group: str
    at: datetime
    sequence: int  # orders operations of the same moment, the same way in every scan
    order_no: str
    member_id: str | None = None
    store_id: str | None = None


def threshold_crossings(
    operations: Iterable[Operation], count: int, window: timedelta, since: datetime
) -> list[tuple[Operation, list[Operation]]]:
    """Each operation (at or after `since`) that brings its group's count within `window` up to `count`.

    The window ends at the operation and reaches back less than `window`. A group that stays at
    or above `count` crosses once; it crosses again only after falling below.
    """
    groups: dict[str, list[Operation]] = defaultdict(list)
    for operation in sorted(operations, key=lambda o: (o.at, o.sequence)):
        groups[operation.group].append(operation)
    crossings = []
    for members in groups.values():
        first, before = 0, 0
        for index, operation in enumerate(members):
            while operation.at - members[first].at >= window:
                first += 1
            in_window = index - first + 1
            if in_window >= count > before and operation.at >= since:
                crossings.append((operation, members[first : index + 1]))
            before = in_window
    return crossings


def _capped(rows: Sequence[object], what: str) -> None:
    if len(rows) >= ROWS_MAX:
        log.warning("risk scan read the first %s %s only; scan shorter periods", ROWS_MAX, what)


def _order_numbers(operations: Sequence[Operation]) -> list[str]:
    return [operation.order_no for operation in operations[:ORDERS_IN_DETAILS_MAX]]


# ---------------------------------------------------------------- rules


def small_recharges(session: Session, thresholds: Thresholds, since: datetime, until: datetime) -> list[Finding]:
    # Reading two windows back lets the count at an operation just before `since` be known too.
    rows = session.execute(
        select(Recharge.id, Recharge.member_id, Recharge.store_id, Recharge.order_no, Recharge.created_at)
        .where(
            Recharge.created_at >= since - 2 * thresholds.small_recharge_window,
            Recharge.created_at <= until,
            Recharge.amount_fen < thresholds.small_recharge_below_fen,
        )
        .order_by(Recharge.created_at, Recharge.id)
        .limit(ROWS_MAX)
    ).all()
    _capped(rows, "small recharges")
    operations = [Operation(m, at, i, o, m, s) for i, m, s, o, at in rows]
    crossings = threshold_crossings(operations, thresholds.small_recharges, thresholds.small_recharge_window, since)
    return [
        Finding(
            "small_recharges",
            Severity.WARNING,
            f"small_recharges:{operation.member_id}:{operation.order_no}",
            {
                "recharges": len(window),
                "window_minutes": int(thresholds.small_recharge_window.total_seconds() // 60),
                "below_fen": thresholds.small_recharge_below_fen,
                "order_nos": _order_numbers(window),
            },
            member_id=operation.member_id,
            store_id=operation.store_id,
        )
        for operation, window in crossings[:FINDINGS_MAX]
    ]


def _refunds(session: Session, since: datetime, until: datetime) -> list[tuple[Operation, str | None]]:
    """Refunds made in the period, each with the actor its audit entry names (None without one)."""
    audit = AuditEntry.__table__
    matches_refund = or_(
        audit.c.order_no == Refund.order_no,
        and_(audit.c.order_no == Refund.original_order_no, audit.c.occurred_at == Refund.created_at),
    )
    rows = session.execute(
        select(
            Refund.id,
            Refund.member_id,
            Refund.store_id,
            Refund.order_no,
            Refund.created_at,
            audit.c.actor_id,
            audit.c.order_no == Refund.order_no,
        )
        .outerjoin(
            audit,
            and_(
                audit.c.occurred_at >= since - AUDIT_SLACK,
                audit.c.occurred_at <= until + AUDIT_SLACK,
                matches_refund,
                audit.c.actor_id.is_not(None),
                audit.c.action.like("%refund%"),
            ),
        )
        .where(Refund.created_at >= since, Refund.created_at <= until)
        .order_by(Refund.created_at, Refund.id, audit.c.id)
        .limit(ROWS_MAX)
    ).all()
    _capped(rows, "refunds")
    refunds: dict[int, tuple[Operation, str | None, bool]] = {}
    for refund_id, member_id, store_id, order_no, at, actor_id, names_refund in rows:
        known = refunds.get(refund_id)
        # An entry naming the refund itself beats one naming the order refunded.
        if known is None or (known[1] is None and actor_id is not None) or (names_refund and not known[2]):
            operation = Operation(member_id, at, refund_id, order_no, member_id, store_id)
            refunds[refund_id] = (operation, actor_id, bool(names_refund))
    return [(operation, actor_id) for operation, actor_id, _ in refunds.values()]


def refunds_by_actor(session: Session, thresholds: Thresholds, since: datetime, until: datetime) -> list[Finding]:
    refunds = _refunds(session, since - 2 * ACTOR_WINDOW, until)
    operations = [
        Operation(actor_id, o.at, o.sequence, o.order_no, o.member_id, o.store_id)
        for o, actor_id in refunds
        if actor_id is not None
    ]
    count = thresholds.refunds_per_actor_per_hour_max + 1
    return [
        Finding(
            "refunds_by_actor",
            Severity.WARNING,
            f"refunds_by_actor:{operation.group}:{operation.order_no}",
            {"refunds": len(window), "window_minutes": 60, "order_nos": _order_numbers(window)},
            store_id=operation.store_id,
            actor_id=operation.group,
        )
        for operation, window in threshold_crossings(operations, count, ACTOR_WINDOW, since)[:FINDINGS_MAX]
    ]


def refunds_of_member(
    session: Session, thresholds: Thresholds, timezone: str, since: datetime, until: datetime
) -> list[Finding]:
    # From the start of the first business day touched, so every day is counted whole.
    refunds = _refunds(session, start_of_day(local_date(since, timezone), timezone), until)
    days: dict[tuple[str, date], list[Operation]] = defaultdict(list)
    for operation, _actor in refunds:
        days[(operation.group, local_date(operation.at, timezone))].append(operation)
    findings = []
    for (member_id, day), operations in sorted(days.items()):
        if len(operations) > thresholds.refunds_per_member_per_day_max:
            findings.append(
                Finding(
                    "refunds_of_member",
                    Severity.WARNING,
                    f"refunds_of_member:{member_id}:{day.isoformat()}",
                    {
                        "refunds": len(operations),
                        "business_date": day.isoformat(),
                        "order_nos": _order_numbers(operations),
                    },
                    member_id=member_id,
                    store_id=operations[-1].store_id,
                )
            )
    return findings[:FINDINGS_MAX]


def _first_transaction_id(session: Session, since: datetime) -> int:
    """Just below the first journal transaction of the period, found by walking back from the newest.

    Transaction ids grow with time, so this reads only the period's rows (created_at has no index).
    """
    before = session.execute(
        select(JournalTransaction.id)
        .where(JournalTransaction.created_at < since)
        .order_by(JournalTransaction.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    return before or 0


def points_swings(session: Session, thresholds: Thresholds, since: datetime, until: datetime) -> list[Finding]:
    credited = func.sum(case((Posting.amount > 0, Posting.amount), else_=0))
    debited = func.sum(case((Posting.amount < 0, -Posting.amount), else_=0))
    rows = session.execute(
        select(
            JournalTransaction.id,
            JournalTransaction.kind,
            JournalTransaction.member_id,
            JournalTransaction.store_id,
            JournalTransaction.order_no,
            credited,
            debited,
        )
        .join(Posting, Posting.transaction_id == JournalTransaction.id)
        .join(Account, Account.id == Posting.account_id)
        .where(
            JournalTransaction.id > _first_transaction_id(session, since),
            JournalTransaction.created_at >= since,
            JournalTransaction.created_at <= until,
            JournalTransaction.kind.not_in(UNATTENDED_KINDS),
            Account.kind.in_([AccountKind.MEMBER_POINTS_LOT.value, AccountKind.MEMBER_POINTS_DEBT.value]),
            Posting.reason.not_in(NOT_A_SWING),
        )
        .group_by(
            JournalTransaction.id,
            JournalTransaction.kind,
            JournalTransaction.member_id,
            JournalTransaction.store_id,
            JournalTransaction.order_no,
        )
        .having(or_(credited > thresholds.points_swing_max, debited > thresholds.points_swing_max))
        .order_by(JournalTransaction.id)
        .limit(FINDINGS_MAX)
    ).all()
    return [
        Finding(
            "points_swing",
            Severity.WARNING,
            f"points_swing:{transaction_id}",
            {
                "transaction_id": transaction_id,
                "kind": kind,
                "order_no": order_no,
                "points_in": int(gained),
                "points_out": int(lost),
                "max": thresholds.points_swing_max,
            },
            member_id=member_id,
            store_id=store_id,
        )
        for transaction_id, kind, member_id, store_id, order_no, gained, lost in rows
    ]


def night_periods(
    since: datetime, until: datetime, timezone: str, start_hour: int, end_hour: int
) -> list[tuple[datetime, datetime]]:
    """The odd-hours stretches [start, end) of each business day that meets [since, until], cut at `since`."""
    zone = ZoneInfo(timezone)
    periods = []
    day = local_date(since, timezone) - timedelta(days=1)
    while day <= local_date(until, timezone):
        start = datetime.combine(day, time(start_hour), zone)
        end = datetime.combine(day, time(0), zone) + timedelta(hours=end_hour)
        if start < end and end > since and start <= until:
            periods.append((max(start, since), end))
        day += timedelta(days=1)
    return periods


def odd_hours(
    session: Session, thresholds: Thresholds, timezone: str, since: datetime, until: datetime
) -> list[Finding]:
    periods = night_periods(since, until, timezone, thresholds.night_start_hour, thresholds.night_end_hour)
    if not periods:
        return []
    rows = session.execute(
        select(
            JournalTransaction.id,
            JournalTransaction.store_id,
            JournalTransaction.member_id,
            JournalTransaction.kind,
            JournalTransaction.order_no,
            JournalTransaction.created_at,
        )
        .where(
            JournalTransaction.id > _first_transaction_id(session, since),
            JournalTransaction.created_at <= until,
            JournalTransaction.store_id.is_not(None),
            JournalTransaction.kind.not_in(UNATTENDED_KINDS),
            or_(
                false(),
                *(and_(JournalTransaction.created_at >= s, JournalTransaction.created_at < e) for s, e in periods),
            ),
        )
        .order_by(JournalTransaction.created_at, JournalTransaction.id)
        .limit(ROWS_MAX)
    ).all()
    _capped(rows, "night operations")
    nights: dict[tuple[str, date], list[tuple[str, str | None, datetime]]] = defaultdict(list)
    for _id, store_id, _member_id, kind, order_no, at in rows:
        assert store_id is not None, "the query selects operations at a store"
        # The night belongs to the business day it falls on (02:00-05:00 is early that day).
        nights[(store_id, local_date(at, timezone))].append((kind, order_no, at))
    return [
        Finding(
            "odd_hours",
            Severity.INFO,
            f"odd_hours:{store_id}:{day.isoformat()}",
            {
                "business_date": day.isoformat(),
                "operations": len(operations),
                "first_at": operations[0][2].isoformat(),
                "kinds": sorted({kind for kind, _, _ in operations}),
                "order_nos": [order_no for _, order_no, _ in operations[:ORDERS_IN_DETAILS_MAX] if order_no],
            },
            store_id=store_id,
        )
        for (store_id, day), operations in sorted(nights.items())
    ][:FINDINGS_MAX]


# ---------------------------------------------------------------- the scan


def find_risks(container: Container, since: datetime, until: datetime) -> list[Finding]:
    """Every pattern of the period [since, until], raised or not."""
    thresholds = Thresholds.from_settings(container.settings)
    timezone = container.program.business_timezone
    with container.database.read() as session:
        return [
            *small_recharges(session, thresholds, since, until),
            *refunds_by_actor(session, thresholds, since, until),
            *refunds_of_member(session, thresholds, timezone, since, until),
            *points_swings(session, thresholds, since, until),
            *odd_hours(session, thresholds, timezone, since, until),
        ]


def scan(container: Container, since: datetime, until: datetime | None = None) -> dict[str, int]:
    """Raise the patterns of [since, until] (default: until now) not raised before; the new ones by kind."""
    until = until or container.clock.now()
    return raise_all(container, find_risks(container, since, until))


def scan_recent(container: Container) -> dict[str, int]:
    """The worker's frequent scan: the last `risk_scan_lookback_minutes`."""
    now = container.clock.now()
    return scan(container, now - timedelta(minutes=container.settings.risk_scan_lookback_minutes), now)
