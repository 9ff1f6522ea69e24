"""The daily points expiry job (R-PTS-2, R-PTS-3) on a ledger written by the real services."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest

from dinecard.platform.container import Container
from dinecard.platform.jobs import RunStatus, SilentProgress, run_due
from dinecard.points.scheduled import expire_points
from dinecard.shared.clock import FixedClock
from tests.jobs.conftest import (
    assert_reconciles,
    checkout,
    expired_counter_total,
    expiry_transactions,
    lots,
    messages,
    midnight,
    new_member,
    recharge,
    shanghai,
    usable_points,
)

MARCH_LOTS_END = midnight(date(2027, 4, 1))  # points earned in March 2026 are usable to 31 March 2027
APRIL_LOTS_END = midnight(date(2027, 5, 1))


def _wang_with_two_lots_and_li_with_one(container: Container, clock: FixedClock, store_id: str) -> tuple[str, str]:
    """Wang earns in March and April 2026 and spends some March points; Li earns in April only."""
    wang = new_member(container, "13800000001")
    li = new_member(container, "13800000002")
    recharge(container, wang, store_id, 500)
    clock.set(shanghai(2026, 4, 10))
    checkout(container, wang, store_id, 100, use_points=100)
    recharge(container, wang, store_id, 200)
    recharge(container, li, store_id, 200)
    return wang, li


def test_expiry_moves_only_expired_lots_into_the_counter(
    container: Container, clock: FixedClock, store_id: str
) -> None:
    # given wang with a partly spent March lot and an April lot, and li with an April lot
    wang, li = _wang_with_two_lots_and_li_with_one(container, clock, store_id)
    wang_before, li_before = lots(container, wang), lots(container, li)
    march_points = wang_before[MARCH_LOTS_END]
    assert march_points > 0 and wang_before[APRIL_LOTS_END] > 0 and li_before[APRIL_LOTS_END] > 0
    clock.set(shanghai(2027, 4, 1, hour=9))
    usable_before = usable_points(container, wang)

    # when the job runs for 1 April 2027
    result = expire_points(container, date(2027, 4, 1), SilentProgress())

    # then exactly the March lot's remainder went to the expired-points counter
    assert result.counts == {"members": 1, "lots": 1, "points": march_points}
    assert lots(container, wang) == {**wang_before, MARCH_LOTS_END: 0}
    assert lots(container, li) == li_before
    assert expired_counter_total(container) == march_points
    assert expiry_transactions(container, wang) == 1 and expiry_transactions(container, li) == 0
    # and the member sees what they saw before: the ledger now agrees with usable points
    assert usable_points(container, wang) == usable_before
    [message] = messages(container, "points_expired")
    assert message.member_id == wang and message.payload["points"] == march_points
    assert message.payload["points_usable"] == usable_before
    assert_reconciles(container)


def test_running_the_job_again_for_the_same_date_changes_nothing(
    container: Container, clock: FixedClock, store_id: str
) -> None:
    # given the expiry of 1 April 2027 has run once
    wang, li = _wang_with_two_lots_and_li_with_one(container, clock, store_id)
    clock.set(shanghai(2027, 4, 1, hour=9))
    [first] = [o for o in run_due(container, date(2027, 4, 1)) if o.job == "points_expiry"]
    after_first = (lots(container, wang), lots(container, li), expired_counter_total(container))

    # when it runs again, by the job itself and by a forced rerun
    again = expire_points(container, date(2027, 4, 1), SilentProgress())
    [rerun] = [o for o in run_due(container, date(2027, 4, 1), rerun=True) if o.job == "points_expiry"]

    # then nothing more moves and no message is repeated
    assert first.status is RunStatus.RAN and first.counts["members"] == 1
    assert again.counts == {} and rerun.counts == {}
    assert (lots(container, wang), lots(container, li), expired_counter_total(container)) == after_first
    assert expiry_transactions(container) == 1
    assert len(messages(container, "points_expired")) == 1
    assert_reconciles(container)


def test_two_workers_expiring_at_once_expire_each_lot_once(
    container: Container, clock: FixedClock, store_id: str
) -> None:
    # given eight members whose March points have expired
    members = [new_member(container, f"1380000010{index}") for index in range(8)]
    for member_id in members:
        recharge(container, member_id, store_id, 200)
    expected = sum(lots(container, member_id)[MARCH_LOTS_END] for member_id in members)
    clock.set(shanghai(2027, 4, 2))

    # when two workers run the job for the same date at the same time
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            start.wait()
            expire_points(container, date(2027, 4, 2), SilentProgress())
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    # then every member's lot expired exactly once
    assert errors == []
    assert expired_counter_total(container) == expected
    assert [expiry_transactions(container, member_id) for member_id in members] == [1] * len(members)
    assert expiry_transactions(container) == 1  # the eight are in one range of members: one journal transaction
    assert len(messages(container, "points_expired")) == len(members)
    assert_reconciles(container)


def test_the_last_valid_instant_is_not_expired_and_the_next_one_is(
    container: Container, clock: FixedClock, store_id: str
) -> None:
    # given a March 2026 lot, usable to the end of 31 March 2027
    wang = new_member(container, "13800000003")
    recharge(container, wang, store_id, 500)
    points = lots(container, wang)[MARCH_LOTS_END]

    # when the job for 31 March runs at the lot's last usable instant
    clock.set(MARCH_LOTS_END - timedelta(microseconds=1))
    early = expire_points(container, date(2027, 3, 31), SilentProgress())

    # then the lot is untouched and still usable
    assert early.counts == {}
    assert lots(container, wang)[MARCH_LOTS_END] == points
    assert usable_points(container, wang) == points

    # when it runs again one microsecond later, at the first instant the lot is unusable
    clock.set(MARCH_LOTS_END)
    late = expire_points(container, date(2027, 3, 31), SilentProgress())

    # then the lot expires
    assert late.counts == {"members": 1, "lots": 1, "points": points}
    assert lots(container, wang)[MARCH_LOTS_END] == 0
    assert_reconciles(container)


def test_the_job_never_expires_lots_that_are_still_usable_now(
    container: Container, clock: FixedClock, store_id: str
) -> None:
    # given a March 2026 lot and a clock two weeks before it ends
    wang = new_member(container, "13800000004")
    recharge(container, wang, store_id, 500)
    before = lots(container, wang)
    clock.set(shanghai(2027, 3, 15))

    # when the job is asked for a date after the lot's end
    result = expire_points(container, date(2027, 4, 1), SilentProgress())

    # then nothing expires, and run_due refuses a date that has not begun
    assert result.counts == {}
    assert lots(container, wang) == before
    with pytest.raises(ValueError, match="has not begun"):
        run_due(container, date(2027, 4, 1))
