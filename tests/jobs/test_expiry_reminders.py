"""Reminders 30 and 7 days before points expire (R-PTS-3): sent once per expiry date and threshold."""

from __future__ import annotations

import threading
from datetime import date

from dinecard.platform.container import Container
from dinecard.platform.jobs import SilentProgress, run_due
from dinecard.points.scheduled import remind_expiring_points
from dinecard.shared.clock import FixedClock
from tests.jobs.conftest import lots, messages, midnight, new_member, recharge, shanghai

MARCH_LOTS_END = midnight(date(2027, 4, 1))


def _run_day(container: Container, clock: FixedClock, day: date) -> None:
    clock.set(shanghai(day.year, day.month, day.day, hour=10))
    run_due(container, day)


def _topics(container: Container) -> list[str]:
    return [message.topic for message in messages(container) if message.topic.startswith("points_exp")]


def test_a_member_is_reminded_once_at_30_days_once_at_7_days_then_the_points_expire(
    container: Container, clock: FixedClock, store_id: str
) -> None:
    # given points earned in March 2026, usable to 31 March 2027
    wang = new_member(container, "13900000001")
    recharge(container, wang, store_id, 500)
    points = lots(container, wang)[MARCH_LOTS_END]

    # when the daily jobs run on every day from 27 February to 2 April 2027
    seen: dict[date, list[str]] = {}
    day = date(2027, 2, 27)
    while day <= date(2027, 4, 2):
        before = len(_topics(container))
        _run_day(container, clock, day)
        seen[day] = _topics(container)[before:]
        day = date.fromordinal(day.toordinal() + 1)

    # then the 30-day reminder comes on 1 March, the 7-day one on 24 March, the expiry on 1 April
    assert {day: topics for day, topics in seen.items() if topics} == {
        date(2027, 3, 1): ["points_expiring_30"],
        date(2027, 3, 24): ["points_expiring_7"],
        date(2027, 4, 1): ["points_expired"],
    }
    thirty, seven = messages(container, "points_expiring_30")[0], messages(container, "points_expiring_7")[0]
    assert thirty.member_id == wang and seven.member_id == wang
    assert thirty.payload == {
        "points": points,
        "expires_at": MARCH_LOTS_END.isoformat(),
        "usable_until": "2027-03-31",
        "days_left": 30,
    }
    assert seven.payload["points"] == points and seven.payload["days_left"] == 7


def test_rerunning_or_racing_the_reminders_sends_nothing_twice(
    container: Container, clock: FixedClock, store_id: str
) -> None:
    # given two members with points expiring within 30 days
    members = [new_member(container, f"1390000001{index}") for index in range(2)]
    for member_id in members:
        recharge(container, member_id, store_id, 200)
    clock.set(shanghai(2027, 3, 10))

    # when the reminder job runs twice on two workers at once, then once more
    start = threading.Barrier(2)

    def work() -> None:
        start.wait()
        remind_expiring_points(container, date(2027, 3, 10), SilentProgress())

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    again = remind_expiring_points(container, date(2027, 3, 10), SilentProgress())

    # then each member got one 30-day reminder
    assert sorted(message.member_id or "" for message in messages(container, "points_expiring_30")) == sorted(members)
    assert again.counts == {}


def test_no_reminder_for_points_that_never_expire_or_expire_later(
    container: Container, clock: FixedClock, store_id: str
) -> None:
    # given points earned in March 2026
    wang = new_member(container, "13900000002")
    recharge(container, wang, store_id, 500)

    # when the reminder job runs more than 30 days before they end
    clock.set(shanghai(2027, 2, 27))
    result = remind_expiring_points(container, date(2027, 2, 27), SilentProgress())

    # then nobody is reminded yet
    assert result.counts == {}
    assert messages(container, "points_expiring_30") == []
