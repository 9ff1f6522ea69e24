"""Points lots (R-PTS-2): expiry at a business month end, spending the soonest-expiring first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from dinecard.points.domain import Lot, grace_expiry, lot_expiry, take_from_lots, usable_points
from dinecard.program.presets import default_program
from tests.unit.programs import variant

PROGRAM = default_program()
SHANGHAI = timezone(timedelta(hours=8))
NOW = datetime(2027, 6, 1, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("earned_at", "expires_at"),
    [
        # any day of November 2026 in Shanghai: usable until the end of November 2027 there
        (datetime(2026, 11, 15, 12, 0, tzinfo=SHANGHAI), datetime(2027, 11, 30, 16, 0, tzinfo=UTC)),
        (datetime(2026, 11, 1, 0, 0, tzinfo=SHANGHAI), datetime(2027, 11, 30, 16, 0, tzinfo=UTC)),
        # 23:30 on 30 November in Shanghai is 15:30 UTC: still November locally
        (datetime(2026, 11, 30, 23, 30, tzinfo=SHANGHAI), datetime(2027, 11, 30, 16, 0, tzinfo=UTC)),
        (datetime(2026, 11, 30, 15, 59, 59, tzinfo=UTC), datetime(2027, 11, 30, 16, 0, tzinfo=UTC)),
        # 16:00 UTC on 30 November is already December in Shanghai
        (datetime(2026, 11, 30, 16, 0, tzinfo=UTC), datetime(2027, 12, 31, 16, 0, tzinfo=UTC)),
        # 16:30 UTC on 31 December 2026 is January 2027 in Shanghai
        (datetime(2026, 12, 31, 16, 30, tzinfo=UTC), datetime(2028, 1, 31, 16, 0, tzinfo=UTC)),
        # December: expires as 1 January 2028 begins in Shanghai
        (datetime(2026, 12, 15, 12, 0, tzinfo=SHANGHAI), datetime(2027, 12, 31, 16, 0, tzinfo=UTC)),
        # January: usable to the end of January next year
        (datetime(2026, 1, 10, 12, 0, tzinfo=SHANGHAI), datetime(2027, 1, 31, 16, 0, tzinfo=UTC)),
        # February 2027: usable through the leap day 29 February 2028
        (datetime(2027, 2, 28, 12, 0, tzinfo=SHANGHAI), datetime(2028, 2, 29, 16, 0, tzinfo=UTC)),
    ],
)
def test_points_expire_at_the_first_instant_after_the_month_end_twelve_months_on(
    earned_at: datetime, expires_at: datetime
) -> None:
    assert lot_expiry(PROGRAM, earned_at) == expires_at


def test_points_earned_on_15_november_2026_expire_at_midnight_starting_1_december_2027_in_shanghai() -> None:
    expires_at = lot_expiry(PROGRAM, datetime(2026, 11, 15, 12, 0, tzinfo=SHANGHAI))
    assert expires_at == datetime(2027, 12, 1, 0, 0, tzinfo=SHANGHAI)
    assert expires_at is not None and expires_at.utcoffset() == timedelta(0)


def test_a_24_month_policy_adds_a_second_year() -> None:
    program = variant({"points": {"expiry": {"policy": "end_of_month", "months": 24}}})
    assert lot_expiry(program, datetime(2026, 11, 15, 12, 0, tzinfo=SHANGHAI)) == datetime(
        2028, 11, 30, 16, 0, tzinfo=UTC
    )


def test_a_zero_month_policy_expires_at_the_end_of_the_earning_month() -> None:
    program = variant({"points": {"expiry": {"policy": "end_of_month", "months": 0}}})
    assert lot_expiry(program, datetime(2026, 12, 15, 12, 0, tzinfo=SHANGHAI)) == datetime(
        2026, 12, 31, 16, 0, tzinfo=UTC
    )


def test_a_never_expiring_policy_gives_no_expiry() -> None:
    program = variant({"points": {"expiry": {"policy": "never"}}})
    assert lot_expiry(program, datetime(2026, 11, 15, 12, 0, tzinfo=SHANGHAI)) is None


def test_the_expiry_follows_the_programs_business_time_zone() -> None:
    # given a chain in UTC, 23:30 UTC on 30 November is still November
    program = variant({"business_timezone": "UTC"})
    assert lot_expiry(program, datetime(2026, 11, 30, 23, 30, tzinfo=UTC)) == datetime(2027, 12, 1, tzinfo=UTC)


def test_points_given_back_after_expiry_get_a_30_day_grace_to_the_end_of_that_business_day() -> None:
    # 30 days after noon on 1 June (Shanghai) is noon on 1 July; the grace lasts to the end of that day
    assert grace_expiry(PROGRAM, NOW) == datetime(2027, 7, 1, 16, 0, tzinfo=UTC)


def test_spending_takes_the_soonest_expiring_lot_first_and_never_expiring_last() -> None:
    # given lots listed out of order
    lots = [
        Lot(lot_id=1, balance=100, expires_at=None),
        Lot(lot_id=2, balance=50, expires_at=datetime(2027, 12, 31, 16, 0, tzinfo=UTC)),
        Lot(lot_id=3, balance=30, expires_at=datetime(2027, 6, 30, 16, 0, tzinfo=UTC)),
    ]
    # when
    taken = take_from_lots(lots, 120, NOW)
    # then
    assert taken == [(3, 30), (2, 50), (1, 40)]


def test_spending_stops_at_the_first_lot_that_covers_it() -> None:
    lots = [
        Lot(lot_id=1, balance=100, expires_at=datetime(2027, 12, 31, 16, 0, tzinfo=UTC)),
        Lot(lot_id=2, balance=100, expires_at=datetime(2027, 7, 31, 16, 0, tzinfo=UTC)),
    ]
    assert take_from_lots(lots, 100, NOW) == [(2, 100)]
    assert take_from_lots(lots, 0, NOW) == []


def test_lots_expiring_at_the_same_moment_are_taken_oldest_first() -> None:
    same = datetime(2027, 12, 31, 16, 0, tzinfo=UTC)
    lots = [Lot(lot_id=9, balance=10, expires_at=same), Lot(lot_id=4, balance=10, expires_at=same)]
    assert take_from_lots(lots, 15, NOW) == [(4, 10), (9, 5)]


def test_spending_skips_expired_and_empty_lots() -> None:
    lots = [
        Lot(lot_id=1, balance=500, expires_at=NOW),  # expires this very moment
        Lot(lot_id=2, balance=500, expires_at=NOW - timedelta(days=1)),
        Lot(lot_id=3, balance=0, expires_at=NOW + timedelta(days=1)),
        Lot(lot_id=4, balance=80, expires_at=NOW + timedelta(days=2)),
        Lot(lot_id=5, balance=80, expires_at=None),
    ]
    assert take_from_lots(lots, 100, NOW) == [(4, 80), (5, 20)]


def test_taking_more_than_the_usable_points_is_a_programmer_error() -> None:
    lots = [Lot(lot_id=1, balance=50, expires_at=None), Lot(lot_id=2, balance=500, expires_at=NOW)]
    with pytest.raises(AssertionError):
        take_from_lots(lots, 51, NOW)


def test_usable_points_count_a_lot_until_its_last_valid_instant() -> None:
    lots = [Lot(lot_id=1, balance=300, expires_at=NOW), Lot(lot_id=2, balance=50, expires_at=None)]
    assert usable_points(lots, 0, NOW - timedelta(microseconds=1)) == 350
    assert usable_points(lots, 0, NOW) == 50
    assert usable_points(lots, 0, NOW + timedelta(seconds=1)) == 50


def test_usable_points_subtract_the_debt_from_refunds() -> None:
    lots = [
        Lot(lot_id=1, balance=300, expires_at=NOW + timedelta(days=1)),
        Lot(lot_id=2, balance=200, expires_at=NOW - timedelta(days=1)),
    ]
    assert usable_points(lots, -120, NOW) == 180
    assert usable_points([], -120, NOW) == -120
    assert usable_points([], 0, NOW) == 0


def test_a_positive_debt_is_a_programmer_error() -> None:
    with pytest.raises(AssertionError):
        usable_points([], 1, NOW)
