"""Points expiry policies (R-PTS-2): end of month, rolling months, end of year, never; and the
grace given to points returned after their lot expired."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dinecard.points.domain import grace_expiry, lot_expiry
from dinecard.program.domain import Program
from dinecard.program.presets import default_program
from dinecard.shared.calendar import add_months
from tests.unit.programs import variant

SHANGHAI = timezone(timedelta(hours=8))
SHANGHAI_ZONE = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
ONE_MICROSECOND = timedelta(microseconds=1)


def _policy(policy: str, *, months: int | None = None, years: int | None = None, zone: str | None = None) -> Program:
    expiry: dict[str, object] = {"policy": policy}
    if months is not None:
        expiry["months"] = months
    if years is not None:
        expiry["years"] = years
    changes: dict[str, object] = {"points": {"expiry": expiry}}
    if zone:
        changes["business_timezone"] = zone
    return variant(changes)


def _local(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)


# ---------------------------------------------------------------- end of month


@pytest.mark.parametrize(
    ("months", "earned_at", "expires_at"),
    [
        # 0: usable to the end of the month earned
        (0, _local(2026, 12, 15, 12), _local(2027, 1, 1)),
        (0, _local(2026, 12, 1), _local(2027, 1, 1)),
        (0, _local(2026, 12, 31, 23, 59, 59), _local(2027, 1, 1)),
        (0, datetime(2026, 11, 30, 16, 0, tzinfo=UTC), _local(2027, 1, 1)),  # already 1 December locally
        (0, _local(2028, 2, 10), _local(2028, 3, 1)),
        # 12 (the default): the end of the same month a year later
        (12, _local(2026, 11, 15, 12), _local(2027, 12, 1)),
        (12, _local(2026, 12, 31, 23, 30), _local(2028, 1, 1)),
        (12, _local(2027, 1, 31), _local(2028, 2, 1)),
        # 24: two years
        (24, _local(2026, 11, 15, 12), _local(2028, 12, 1)),
        (24, _local(2026, 1, 1), _local(2028, 2, 1)),
        # 1: a month whose end is 28 February
        (1, _local(2027, 1, 31), _local(2027, 3, 1)),
        (120, _local(2026, 6, 15), _local(2036, 7, 1)),
    ],
)
def test_end_of_month_expires_as_the_month_n_months_on_ends(
    months: int, earned_at: datetime, expires_at: datetime
) -> None:
    assert lot_expiry(_policy("end_of_month", months=months), earned_at) == expires_at


def test_the_default_policy_is_end_of_month_after_12_months() -> None:
    program = default_program()
    assert (program.points.expiry.policy.value, program.points.expiry.months) == ("end_of_month", 12)
    assert lot_expiry(program, _local(2026, 11, 15, 12)) == _local(2027, 12, 1)


def test_expiry_moments_are_given_in_utc() -> None:
    expires_at = lot_expiry(_policy("end_of_month", months=0), _local(2026, 12, 15, 12))
    assert expires_at is not None
    assert expires_at.utcoffset() == timedelta(0)
    assert expires_at == datetime(2026, 12, 31, 16, 0, tzinfo=UTC)


@settings(max_examples=200, deadline=None)
@given(
    earned_at=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 12, 31), timezones=st.just(UTC)),
    months=st.integers(min_value=0, max_value=120),
)
def test_end_of_month_expiry_is_a_local_month_start_exactly_n_months_after_the_earning_month(
    earned_at: datetime, months: int
) -> None:
    program = _policy("end_of_month", months=months)
    expires_at = lot_expiry(program, earned_at)
    assert expires_at is not None
    local_expiry = expires_at.astimezone(SHANGHAI_ZONE)
    last_usable = (expires_at - ONE_MICROSECOND).astimezone(SHANGHAI_ZONE)
    local_earned = earned_at.astimezone(SHANGHAI_ZONE)
    assert (local_expiry.day, local_expiry.hour, local_expiry.minute, local_expiry.second) == (1, 0, 0, 0)
    assert last_usable.year * 12 + last_usable.month == local_earned.year * 12 + local_earned.month + months
    assert expires_at > earned_at


# ---------------------------------------------------------------- rolling months


@pytest.mark.parametrize(
    ("months", "earned_at", "expires_at"),
    [
        # 12 from 31 January: to the end of 31 January next year
        (12, _local(2026, 1, 31, 12), _local(2027, 2, 1)),
        (12, _local(2026, 1, 31, 23, 59, 59), _local(2027, 2, 1)),
        (12, datetime(2026, 1, 31, 16, 30, tzinfo=UTC), _local(2027, 2, 2)),  # already 1 February locally
        (12, _local(2026, 11, 15, 12), _local(2027, 11, 16)),
        # 29 February has no anniversary in 2029: 28 February is the last day
        (12, _local(2028, 2, 29, 12), _local(2029, 3, 1)),
        # 1 from 31 January: clamped to 28 February (29 in a leap year), then to the end of that day
        (1, _local(2027, 1, 31, 12), _local(2027, 3, 1)),
        (1, _local(2028, 1, 31, 12), _local(2028, 3, 1)),
        (1, _local(2027, 1, 27, 12), _local(2027, 2, 28)),
        (1, _local(2027, 3, 31, 12), _local(2027, 5, 1)),  # 30 April is the last day
        # 0: the end of the earning day
        (0, _local(2026, 11, 15, 12), _local(2026, 11, 16)),
    ],
)
def test_rolling_months_expire_at_the_end_of_the_same_day_n_months_later(
    months: int, earned_at: datetime, expires_at: datetime
) -> None:
    assert lot_expiry(_policy("rolling_months", months=months), earned_at) == expires_at


@pytest.mark.parametrize(
    ("moment", "months", "expected"),
    [
        (datetime(2027, 1, 31, 9, 30, tzinfo=SHANGHAI), 1, datetime(2027, 2, 28, 9, 30, tzinfo=SHANGHAI)),
        (datetime(2028, 1, 31, 9, 30, tzinfo=SHANGHAI), 1, datetime(2028, 2, 29, 9, 30, tzinfo=SHANGHAI)),
        (datetime(2026, 3, 31, tzinfo=SHANGHAI), 1, datetime(2026, 4, 30, tzinfo=SHANGHAI)),
        (datetime(2026, 12, 31, tzinfo=SHANGHAI), 2, datetime(2027, 2, 28, tzinfo=SHANGHAI)),
        (datetime(2026, 11, 15, tzinfo=SHANGHAI), 14, datetime(2028, 1, 15, tzinfo=SHANGHAI)),
        (datetime(2026, 1, 31, tzinfo=SHANGHAI), 12, datetime(2027, 1, 31, tzinfo=SHANGHAI)),
        (datetime(2027, 3, 31, tzinfo=SHANGHAI), -1, datetime(2027, 2, 28, tzinfo=SHANGHAI)),
        (datetime(2027, 1, 15, tzinfo=SHANGHAI), -1, datetime(2026, 12, 15, tzinfo=SHANGHAI)),
        (datetime(2027, 1, 15, tzinfo=SHANGHAI), 0, datetime(2027, 1, 15, tzinfo=SHANGHAI)),
    ],
)
def test_add_months_keeps_the_wall_clock_time_and_clamps_to_the_months_last_day(
    moment: datetime, months: int, expected: datetime
) -> None:
    result = add_months(moment, months)
    assert result == expected
    assert result.tzinfo is moment.tzinfo


# ---------------------------------------------------------------- end of year


@pytest.mark.parametrize(
    ("years", "earned_at", "expires_at"),
    [
        (0, _local(2026, 12, 31, 23, 30), _local(2027, 1, 1)),
        (0, _local(2026, 1, 1), _local(2027, 1, 1)),
        (0, datetime(2026, 12, 31, 16, 30, tzinfo=UTC), _local(2028, 1, 1)),  # already 2027 locally
        (1, _local(2026, 12, 31, 23, 30), _local(2028, 1, 1)),
        (1, _local(2026, 6, 15, 12), _local(2028, 1, 1)),
        (2, _local(2026, 6, 15, 12), _local(2029, 1, 1)),
    ],
)
def test_end_of_year_expires_as_the_year_n_years_on_ends(years: int, earned_at: datetime, expires_at: datetime) -> None:
    assert lot_expiry(_policy("end_of_year", years=years), earned_at) == expires_at


def test_end_of_year_ignores_the_months_setting() -> None:
    program = _policy("end_of_year", months=3, years=0)
    assert lot_expiry(program, _local(2026, 6, 15)) == _local(2027, 1, 1)


# ---------------------------------------------------------------- never


@pytest.mark.parametrize("earned_at", [_local(2026, 11, 15, 12), datetime(2099, 12, 31, 23, 59, tzinfo=UTC)])
def test_never_means_no_expiry(earned_at: datetime) -> None:
    assert lot_expiry(_policy("never"), earned_at) is None


# ---------------------------------------------------------------- other time zones


def test_end_of_month_follows_daylight_saving_in_the_business_time_zone() -> None:
    program = _policy("end_of_month", months=0, zone="America/New_York")
    # March 2027 ends at midnight EDT (UTC−4), November 2027 at midnight EST (UTC−5)
    assert lot_expiry(program, datetime(2027, 3, 5, 12, tzinfo=NEW_YORK)) == datetime(2027, 4, 1, 4, tzinfo=UTC)
    assert lot_expiry(program, datetime(2027, 11, 5, 12, tzinfo=NEW_YORK)) == datetime(2027, 12, 1, 5, tzinfo=UTC)


def test_rolling_months_end_at_local_midnight_across_daylight_saving() -> None:
    program = _policy("rolling_months", months=1, zone="America/New_York")
    # earned 20 February (EST); the last day is 20 March (EDT); expires at 21 March 00:00 EDT
    assert lot_expiry(program, datetime(2027, 2, 20, 12, tzinfo=NEW_YORK)) == datetime(2027, 3, 21, 4, tzinfo=UTC)


# ---------------------------------------------------------------- grace for returned points


@pytest.mark.parametrize(
    ("now", "grace_ends_at"),
    [
        # 30 days after 1 June (Shanghai) is 1 July; the grace lasts to the end of that day
        (_local(2027, 6, 1, 12), _local(2027, 7, 2)),
        (_local(2027, 6, 1), _local(2027, 7, 2)),
        (_local(2027, 6, 1, 23, 59, 59), _local(2027, 7, 2)),
        (datetime(2027, 5, 31, 16, 0, tzinfo=UTC), _local(2027, 7, 2)),  # 00:00 on 1 June locally
        (datetime(2027, 5, 31, 15, 59, 59, tzinfo=UTC), _local(2027, 7, 1)),  # still 31 May locally
    ],
)
def test_the_grace_ends_at_the_end_of_the_business_day_30_days_on(now: datetime, grace_ends_at: datetime) -> None:
    assert grace_expiry(default_program(), now) == grace_ends_at


def test_a_zero_day_grace_ends_with_the_business_day() -> None:
    program = variant({"points": {"refund_grace_days": 0}})
    assert grace_expiry(program, _local(2027, 6, 1, 12)) == _local(2027, 6, 2)


def test_the_grace_ends_at_local_midnight_across_daylight_saving() -> None:
    program = variant({"business_timezone": "America/New_York"})
    # noon on 1 March (EST) + 30 days is 31 March (EDT): the grace ends at 1 April 00:00 EDT
    assert grace_expiry(program, datetime(2027, 3, 1, 12, tzinfo=NEW_YORK)) == datetime(2027, 4, 1, 4, tzinfo=UTC)


@settings(max_examples=100, deadline=None)
@given(seconds=st.integers(min_value=0, max_value=86_399))
def test_every_refund_of_one_business_day_gets_the_same_grace(seconds: int) -> None:
    now = _local(2027, 6, 1) + timedelta(seconds=seconds)
    grace_ends_at = grace_expiry(default_program(), now)
    assert grace_ends_at == _local(2027, 7, 2)
    assert grace_ends_at.utcoffset() == timedelta(0)
