"""Points lots: when they expire and which ones a spend takes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from dinecard.program.domain import ExpiryPolicyKind, Program
from dinecard.shared.calendar import add_months


@dataclass(frozen=True)
class Lot:
    """A member's points that share one expiry moment (None: never expires)."""

    lot_id: int
    balance: int
    expires_at: datetime | None

    def usable_at(self, moment: datetime) -> bool:
        return self.balance > 0 and (self.expires_at is None or moment < self.expires_at)


def lot_expiry(program: Program, earned_at: datetime) -> datetime | None:
    """The first instant at which points earned at `earned_at` are no longer usable (R-PTS-2).

    Policies, in the chain's time zone: `end_of_month` (default, 12): earned any day of
    November 2026, usable to the end of November 2027; `rolling_months`: to the same day N
    months later; `end_of_year`: to the end of the year N years after; `never`: None.
    """
    expiry = program.points.expiry
    zone = ZoneInfo(program.business_timezone)
    local = earned_at.astimezone(zone)
    if expiry.policy is ExpiryPolicyKind.NEVER:
        return None
    if expiry.policy is ExpiryPolicyKind.END_OF_YEAR:
        return datetime(local.year + expiry.years + 1, 1, 1, tzinfo=zone).astimezone(UTC)
    if expiry.policy is ExpiryPolicyKind.ROLLING_MONTHS:
        day_after = add_months(datetime(local.year, local.month, local.day, tzinfo=zone), expiry.months)
        return (day_after + timedelta(days=1)).astimezone(UTC)
    month_index = local.year * 12 + (local.month - 1) + expiry.months + 1
    year, month = divmod(month_index, 12)
    return datetime(year, month + 1, 1, tzinfo=zone).astimezone(UTC)


def grace_expiry(program: Program, now: datetime) -> datetime:
    """Points given back after their lot expired live a little longer, not forever.

    The grace ends at a business-day boundary, so all refunds of one day share one lot.
    """
    zone = ZoneInfo(program.business_timezone)
    day_after = (now.astimezone(zone) + timedelta(days=program.refunded_points_grace_days + 1)).date()
    return datetime(day_after.year, day_after.month, day_after.day, tzinfo=zone).astimezone(UTC)


def sort_for_spending(lots: list[Lot]) -> list[Lot]:
    """Soonest-expiring first; never-expiring lots last; ties by age of the lot."""
    far_future = datetime.max.replace(tzinfo=UTC)
    return sorted(lots, key=lambda lot: (lot.expires_at or far_future, lot.lot_id))


def take_from_lots(lots: list[Lot], points: int, moment: datetime) -> list[tuple[int, int]]:
    """Which lots a spend of `points` draws on, soonest-expiring first: [(lot_id, points)]."""
    assert points >= 0
    taken: list[tuple[int, int]] = []
    remaining = points
    for lot in sort_for_spending([lot for lot in lots if lot.usable_at(moment)]):
        if remaining == 0:
            break
        portion = min(lot.balance, remaining)
        taken.append((lot.lot_id, portion))
        remaining -= portion
    assert remaining == 0, "caller must check usable points before taking"
    return taken


def usable_points(lots: list[Lot], debt: int, moment: datetime) -> int:
    """Points the member can spend now: unexpired lots, less any debt from refunds."""
    assert debt <= 0
    return sum(lot.balance for lot in lots if lot.usable_at(moment)) + debt
