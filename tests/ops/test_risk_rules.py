"""Risk rules (R-SEC-4): each fires at its threshold, not below it, and once per pattern however often it scans."""

from __future__ import annotations

from datetime import timedelta

from dinecard.platform.container import Container
from dinecard.platform.jobs import SilentProgress, business_today
from dinecard.platform.worker import WorkerState, run_iteration
from dinecard.points.scheduled import expire_points
from dinecard.security import risk
from dinecard.security.risk_events import Finding, Severity, raise_event
from dinecard.security.scheduled import scan_risks
from dinecard.shared.clock import FixedClock
from tests.ops.conftest import outbox_messages, risk_events, scan
from tests.ops.helpers import checkout, new_member, recharge, refund, shanghai

SMALL = 4999  # fen: just below the 50-yuan line
MINUTE = timedelta(minutes=1)


# ---------------------------------------------------------------- small recharges


def test_five_small_recharges_within_ten_minutes_raise_one_event(
    container: Container, clock: FixedClock, service_store_id: str
) -> None:
    # given four small recharges two minutes apart
    member_id = new_member(container, "13900000101")
    for _ in range(4):
        recharge(container, member_id, service_store_id, SMALL)
        clock.advance(2 * MINUTE)
    assert scan(container) == {}
    # when the fifth comes eight minutes after the first
    fifth = recharge(container, member_id, service_store_id, SMALL)
    # then
    assert scan(container) == {"small_recharges": 1}
    assert scan(container) == {}
    recharge(container, member_id, service_store_id, SMALL)  # the burst goes on: the same pattern
    assert scan(container) == {}
    [event] = risk_events(container)
    assert (event.category, event.kind, event.severity, event.member_id) == (
        "risk",
        "small_recharges",
        "warning",
        member_id,
    )
    assert event.details["recharges"] == 5
    assert event.details["order_nos"][-1] == fifth.order_no
    assert event.status == "open"


def test_recharges_of_fifty_yuan_are_not_small(container: Container, clock: FixedClock, service_store_id: str) -> None:
    member_id = new_member(container, "13900000102")
    for _ in range(5):
        recharge(container, member_id, service_store_id, 5000)
        clock.advance(MINUTE)
    assert scan(container) == {}


def test_five_small_recharges_spread_over_ten_minutes_raise_nothing(
    container: Container, clock: FixedClock, service_store_id: str
) -> None:
    member_id = new_member(container, "13900000103")
    for _ in range(5):
        recharge(container, member_id, service_store_id, SMALL)
        clock.advance(timedelta(seconds=150))  # the fifth is ten minutes after the first
    assert scan(container) == {}


def test_the_small_recharge_threshold_is_configurable(
    container: Container, clock: FixedClock, service_store_id: str
) -> None:
    container.settings.risk_small_recharges = 3
    container.settings.risk_small_recharge_below_yuan = "10"
    member_id = new_member(container, "13900000104")
    for _ in range(3):
        recharge(container, member_id, service_store_id, 999)
        clock.advance(MINUTE)
    assert scan(container) == {"small_recharges": 1}


def test_separate_bursts_raise_separate_events(container: Container, clock: FixedClock, service_store_id: str) -> None:
    member_id = new_member(container, "13900000105")
    for _burst in range(2):
        for _ in range(5):
            recharge(container, member_id, service_store_id, SMALL)
            clock.advance(MINUTE)
        clock.advance(timedelta(minutes=30))
    assert risk.scan(container, clock.now() - timedelta(hours=2)) == {"small_recharges": 2}


# ---------------------------------------------------------------- refunds


def _paid_orders(container: Container, store_id: str, count: int, phone_prefix: str) -> list[str]:
    """`count` checkouts of 10 yuan, each by a member of its own."""
    return [
        checkout(container, new_member(container, f"{phone_prefix}{index:02d}"), store_id, 1000).order_no
        for index in range(count)
    ]


def test_more_than_five_refunds_by_one_cashier_within_an_hour_raise_one_event(
    container: Container, clock: FixedClock, service_store_id: str
) -> None:
    # given five refunds by one cashier within fifty minutes, and one by another
    orders = _paid_orders(container, service_store_id, 8, "139000002")
    for order_no in orders[:5]:
        refund(container, order_no, actor_id="CASHIER-A")
        clock.advance(10 * MINUTE)
    refund(container, orders[5], actor_id="CASHIER-B")
    assert scan(container) == {}
    # when the first cashier refunds a sixth time within the hour
    sixth = refund(container, orders[6], actor_id="CASHIER-A")
    # then
    assert scan(container) == {"refunds_by_actor": 1}
    refund(container, orders[7], actor_id="CASHIER-A")
    assert scan(container) == {}
    [event] = risk_events(container)
    assert (event.kind, event.actor_id, event.store_id) == ("refunds_by_actor", "CASHIER-A", service_store_id)
    assert event.details["refunds"] == 6 and event.details["order_nos"][-1] == sixth


def test_refunds_without_an_audited_actor_are_not_attributed(
    container: Container, clock: FixedClock, service_store_id: str
) -> None:
    for order_no in _paid_orders(container, service_store_id, 6, "139000003"):
        refund(container, order_no)
    assert scan(container) == {}


def test_more_than_three_refunds_of_one_member_in_a_business_day_raise_one_event_a_day(
    container: Container, clock: FixedClock, service_store_id: str
) -> None:
    # given a member with four bills a day, three refunded
    member_id = new_member(container, "13900000401")
    for day in range(2):
        orders = [checkout(container, member_id, service_store_id, 1000).order_no for _ in range(5)]
        for order_no in orders[:3]:
            refund(container, order_no)
            clock.advance(timedelta(hours=2))
        assert scan(container) == {}
        # when the fourth is refunded the same business day
        refund(container, orders[3])
        # then
        assert scan(container) == {"refunds_of_member": 1}
        refund(container, orders[4])
        assert scan(container) == {}
        clock.set(shanghai(2026, 3, 3 + day, 10))
    events = risk_events(container)
    assert [event.details["business_date"] for event in events] == ["2026-03-02", "2026-03-03"]
    assert {event.member_id for event in events} == {member_id}


# ---------------------------------------------------------------- points swings


def test_an_operation_moving_more_points_than_the_maximum_raises_one_event(
    container: Container, service_store_id: str
) -> None:
    # given a recharge that gives points (tier points and an upgrade gift)
    member_id = new_member(container, "13900000501")
    result = recharge(container, member_id, service_store_id, 100_000)
    points = result.points_awarded + result.upgrade_gift_points
    assert points > 0
    # then: at the maximum nothing, one point over it an event, once
    container.settings.risk_points_swing_max = points
    assert scan(container) == {}
    container.settings.risk_points_swing_max = points - 1
    assert scan(container) == {"points_swing": 1}
    assert scan(container) == {}
    [event] = risk_events(container)
    assert (event.member_id, event.details["points_in"], event.details["order_no"]) == (
        member_id,
        points,
        result.order_no,
    )


def test_points_expiring_are_not_a_swing(container: Container, clock: FixedClock, service_store_id: str) -> None:
    member_id = new_member(container, "13900000502")
    recharge(container, member_id, service_store_id, 50_000)
    container.settings.risk_points_swing_max = 100_000
    assert scan(container) == {}
    container.settings.risk_points_swing_max = 1
    clock.set(shanghai(2028, 3, 3, 12))
    expire_points(container, business_today(container), SilentProgress())
    assert scan(container) == {}


# ---------------------------------------------------------------- odd hours


def test_operations_between_two_and_five_in_the_morning_raise_one_event_per_store_and_night(
    container: Container, clock: FixedClock, service_store_id: str
) -> None:
    member_id = new_member(container, "13900000601")
    since = shanghai(2026, 3, 3, 0)
    # given operations just outside the night
    for moment in (shanghai(2026, 3, 3, 1, 59), shanghai(2026, 3, 3, 5, 0)):
        clock.set(moment)
        checkout(container, member_id, service_store_id, 1000)
    assert risk.scan(container, since) == {}
    # when one happens at three
    clock.set(shanghai(2026, 3, 4, 3, 0))
    checkout(container, member_id, service_store_id, 1000)
    # then
    assert risk.scan(container, since) == {"odd_hours": 1}
    clock.set(shanghai(2026, 3, 4, 4, 59))
    checkout(container, member_id, service_store_id, 1000)
    assert risk.scan(container, since) == {}
    [event] = risk_events(container)
    assert (event.kind, event.severity, event.store_id) == ("odd_hours", "info", service_store_id)
    assert event.details["business_date"] == "2026-03-04"


# ---------------------------------------------------------------- scanning


def test_the_daily_job_catches_what_the_frequent_scan_missed_and_neither_raises_twice(
    container: Container, clock: FixedClock, service_store_id: str
) -> None:
    # given a night operation the worker never scanned (it was down)
    member_id = new_member(container, "13900000701")
    clock.set(shanghai(2026, 3, 3, 3))
    checkout(container, member_id, service_store_id, 1000)
    clock.set(shanghai(2026, 3, 3, 9))
    assert scan(container) == {}  # an hour back is not far enough
    # when the daily job runs
    assert scan_risks(container, business_today(container), SilentProgress()).counts == {"odd_hours": 1}
    # then
    assert scan_risks(container, business_today(container), SilentProgress()).counts == {}
    assert len(risk_events(container)) == 1


def test_the_worker_scans_once_a_minute(container: Container, clock: FixedClock, service_store_id: str) -> None:
    member_id = new_member(container, "13900000702")
    state = WorkerState()
    assert run_iteration(container, state).risks == {}
    for _ in range(5):
        recharge(container, member_id, service_store_id, SMALL)
    assert run_iteration(container, state).risks == {}  # the same minute: no scan
    clock.advance(MINUTE)
    assert run_iteration(container, state).risks == {"small_recharges": 1}


def test_a_pattern_raised_twice_is_stored_once(container: Container) -> None:
    finding = Finding("odd_hours", Severity.INFO, "odd_hours:test:2026-03-02", {"operations": 1})
    with container.database.write() as uow:
        first = raise_event(uow, finding, container.clock.now())
        second = raise_event(uow, finding, container.clock.now())
    assert first is not None and second is None
    assert len(risk_events(container)) == 1
    assert len(outbox_messages(container, "risk_event")) == 1
