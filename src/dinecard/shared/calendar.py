"""Calendar arithmetic in the chain's business time zone."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo


def add_months(moment: datetime, months: int) -> datetime:
    """The same wall-clock time `months` later, clamped to the month's last day (31 Jan + 1 → 28/29 Feb)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    for day in (moment.day, 30, 29, 28):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has 28 days")


def local_date(moment: datetime, timezone: str) -> date:
    return moment.astimezone(ZoneInfo(timezone)).date()


def start_of_day(day: date, timezone: str) -> datetime:
    """The first instant of a business day, as an aware datetime in that zone."""
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(timezone))


def end_of_day(day: date, timezone: str) -> datetime:
    """The first instant after a business day."""
    return start_of_day(day + timedelta(days=1), timezone)


def birthday_in_year(birthday: date, year: int) -> date:
    """A birthday's date in a given year; 29 February is celebrated on 28 February in other years."""
    try:
        return birthday.replace(year=year)
    except ValueError:
        return date(year, 2, 28)
