"""Set-based jobs work a range of members per transaction, two ranges at once on PostgreSQL."""

from __future__ import annotations

import itertools
import threading
from datetime import date

import pytest

from dinecard.members.models import Member
from dinecard.platform import jobs
from dinecard.platform.container import Container
from dinecard.platform.jobs import SilentProgress, key_ranges, over_ranges
from dinecard.points.scheduled import expire_points
from dinecard.shared.clock import FixedClock
from tests.jobs.conftest import (
    assert_reconciles,
    expired_counter_total,
    expiry_transactions,
    lots,
    midnight,
    new_member,
    recharge,
    shanghai,
)

MARCH_LOTS_END = midnight(date(2027, 4, 1))  # points earned in March 2026 are usable to 31 March 2027


def test_key_ranges_cover_every_member_once_in_order(container: Container) -> None:
    members = sorted(new_member(container, f"1390000{index:04d}") for index in range(7))

    ranges = list(key_ranges(container, Member.id, batch_size=3))

    assert [last for _after, last in ranges] == [members[2], members[5], members[6]]
    assert [after for after, _last in ranges] == [None, members[2], members[5]]


def test_ranges_are_worked_in_order_and_two_at_a_time_on_postgresql(container: Container) -> None:
    for index in range(9):
        new_member(container, f"1390001{index:04d}")
    calls = itertools.count()
    first_two_together = threading.Barrier(2, timeout=10)
    parallel = container.database.dialect == "postgresql"

    def work(after: str | None, last: str) -> str:
        if parallel and next(calls) < 2:
            first_two_together.wait()  # breaks (and fails the test) unless both ranges are in flight at once
        return last

    lasts = list(over_ranges(container, Member.id, work, batch_size=3))

    assert len(lasts) == 3 and lasts == sorted(lasts)


def test_expiry_over_many_ranges_expires_each_member_once(
    container: Container, clock: FixedClock, store_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given ten members with expired March points, and ranges of three members
    members = [new_member(container, f"1390002{index:04d}") for index in range(10)]
    for member_id in members:
        recharge(container, member_id, store_id, 200)
    expected = {member_id: lots(container, member_id)[MARCH_LOTS_END] for member_id in members}
    monkeypatch.setattr(jobs, "RANGE_SIZE", 3)
    clock.set(shanghai(2027, 4, 2))

    # when the expiry runs
    result = expire_points(container, date(2027, 4, 2), SilentProgress())

    # then every member's lot expired once, in one journal transaction per range of three
    assert result.counts == {"members": 10, "lots": 10, "points": sum(expected.values())}
    assert all(lots(container, member_id)[MARCH_LOTS_END] == 0 for member_id in members)
    assert [expiry_transactions(container, member_id) for member_id in members] == [1] * 10
    assert expiry_transactions(container) == 4
    assert expired_counter_total(container) == sum(expected.values())
    assert_reconciles(container)
