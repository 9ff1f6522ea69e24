"""The pure rules behind expiry and reminders: boundaries in the business time zone."""

from __future__ import annotations

from datetime import date, timedelta

from dinecard.points.scheduled import expiry_cutoff, last_usable_day, reminder_due
from tests.jobs.conftest import midnight, shanghai

ZONE = "Asia/Shanghai"
LOT_END = midnight(date(2027, 4, 1))


def test_the_run_for_a_day_takes_lots_ending_by_the_next_days_start() -> None:
    assert expiry_cutoff(date(2027, 3, 31), ZONE, shanghai(2027, 4, 1, hour=9)) == LOT_END


def test_the_cutoff_never_passes_the_current_moment() -> None:
    now = LOT_END - timedelta(microseconds=1)
    assert expiry_cutoff(date(2027, 3, 31), ZONE, now) == now
    assert expiry_cutoff(date(2027, 4, 30), ZONE, now) == now


def test_a_lot_ending_at_midnight_is_last_usable_the_day_before() -> None:
    assert last_usable_day(LOT_END, ZONE) == date(2027, 3, 31)


def test_reminders_are_due_30_and_7_days_before_the_last_usable_day() -> None:
    assert reminder_due(LOT_END, date(2027, 2, 28), ZONE) is None
    assert reminder_due(LOT_END, date(2027, 3, 1), ZONE) == 30
    assert reminder_due(LOT_END, date(2027, 3, 23), ZONE) == 30
    assert reminder_due(LOT_END, date(2027, 3, 24), ZONE) == 7


def test_a_lot_first_seen_inside_7_days_gets_only_the_7_day_reminder() -> None:
    assert reminder_due(LOT_END, date(2027, 3, 29), ZONE) == 7
