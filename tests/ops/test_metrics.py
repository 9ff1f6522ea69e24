"""Prometheus metrics: latency per route template, responses per status class, business counters per commit."""

from __future__ import annotations

import io
import json
import logging
from datetime import timedelta

from fastapi.testclient import TestClient

from dinecard.platform.container import Container
from dinecard.platform.jobs import SilentProgress, business_today
from dinecard.platform.logging import JsonFormatter, RequestIdFilter
from dinecard.points.scheduled import expire_points
from dinecard.shared.clock import FixedClock
from dinecard.shared.money import Money
from tests.api.helpers import API, checkout, member, post_checkout, post_recharge, recharge, refund, register
from tests.ops.conftest import metric

MEMBER_ROUTE = "/api/v1/members/{member_id}"
BUSINESS = {
    "recharges": ("dinecard_recharges_total", {}),
    "recharged_fen": ("dinecard_recharge_amount_fen_total", {}),
    "checkouts": ("dinecard_checkouts_total", {}),
    "payable_fen": ("dinecard_checkout_payable_fen_total", {}),
    "refunds": ("dinecard_refunds_total", {"kind": "checkout_refund"}),
    "refunded_fen": ("dinecard_refund_amount_fen_total", {"kind": "checkout_refund"}),
    "members": ("dinecard_members_registered_total", {}),
    "points_issued": ("dinecard_points_issued_total", {}),
    "points_used": ("dinecard_points_used_total", {}),
    "points_expired": ("dinecard_points_expired_total", {}),
}


def business_counters(client: TestClient) -> dict[str, float]:
    return {name: metric(client, sample, **labels) for name, (sample, labels) in BUSINESS.items()}


def moved(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """Only the counters that changed, by how much."""
    return {name: after[name] - before[name] for name in before if after[name] != before[name]}


def fen(yuan: str) -> int:
    return Money.parse_yuan(yuan).fen


def test_latency_is_kept_per_route_template_and_method(client: TestClient, store_id: str) -> None:
    # given
    member_id = register(client, "13900000001")["id"]
    count = "dinecard_http_request_duration_seconds_count"
    before = metric(client, count, route=MEMBER_ROUTE, method="GET")
    # when
    client.get(f"{API}/members/{member_id}")
    client.get(f"{API}/members/{member_id}")
    # then
    assert metric(client, count, route=MEMBER_ROUTE, method="GET") == before + 2
    bucket = "dinecard_http_request_duration_seconds_bucket"
    assert metric(client, bucket, route=MEMBER_ROUTE, method="GET", le="+Inf") == before + 2
    assert member_id not in client.get("/metrics").text


def test_responses_are_counted_by_status_class(client: TestClient, store_id: str) -> None:
    responses = "dinecard_http_responses_total"
    labels = {"route": MEMBER_ROUTE, "method": "GET"}
    before_ok = metric(client, responses, status_class="2xx", **labels)
    before_missing = metric(client, responses, status_class="4xx", **labels)
    client.get(f"{API}/members/{register(client, '13900000002')['id']}")
    assert client.get(f"{API}/members/01NOSUCHMEMBER0000000000000").status_code == 404
    assert metric(client, responses, status_class="2xx", **labels) == before_ok + 1
    assert metric(client, responses, status_class="4xx", **labels) == before_missing + 1


def test_an_unknown_path_is_counted_without_its_text(client: TestClient) -> None:
    before = metric(client, "dinecard_http_responses_total", route="<unmatched>", method="GET", status_class="4xx")
    assert client.get("/no/such/page/13812349876").status_code == 404
    text = client.get("/metrics").text
    assert "13812349876" not in text
    assert metric(client, "dinecard_http_responses_total", route="<unmatched>", method="GET", status_class="4xx") == (
        before + 1
    )


def test_business_counters_move_by_what_each_operation_committed(client: TestClient, store_id: str) -> None:
    # given
    before = business_counters(client)
    # when
    member_id = register(client, "13900000003")["id"]
    recharged = recharge(client, member_id, store_id, "500.00")
    paid = checkout(client, member_id, store_id, "100.00", use_points=100)
    returned = refund(client, paid["order_no"], "20.00")
    # then
    assert returned["amount"] == "20.00"
    issued = recharged["points_awarded"] + recharged["upgrade_gift_points"] + paid["points_earned"]
    assert moved(before, business_counters(client)) == {
        "members": 1,
        "recharges": 1,
        "recharged_fen": 50_000,
        "checkouts": 1,
        "payable_fen": fen(paid["payable"]),
        "refunds": 1,
        "refunded_fen": fen(returned["amount"]),
        "points_issued": issued + paid["upgrade_gift_points"],
        "points_used": 100,
    }


def test_a_refused_operation_counts_nothing(client: TestClient, store_id: str) -> None:
    member_id = register(client, "13900000004")["id"]
    before = business_counters(client)
    response = post_checkout(client, member_id, store_id, "100.00", balance_only=True)
    assert response.status_code == 409
    assert post_recharge(client, member_id, store_id, "-1").status_code == 422
    assert moved(before, business_counters(client)) == {}


def test_a_replayed_request_counts_once(client: TestClient, store_id: str) -> None:
    member_id = register(client, "13900000005")["id"]
    before = business_counters(client)
    headers = {"Idempotency-Key": "metrics-replay-1"}
    first = post_recharge(client, member_id, store_id, "100.00", headers=headers)
    second = post_recharge(client, member_id, store_id, "100.00", headers=headers)
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.headers.get("Idempotent-Replayed") == "true"
    changes = moved(before, business_counters(client))
    assert (changes["recharges"], changes["recharged_fen"]) == (1, 10_000)


def test_expired_points_are_counted_when_the_expiry_job_commits(
    client: TestClient, container: Container, clock: FixedClock, store_id: str
) -> None:
    # given 300 points from a recharge, expiring about a year after the month they were earned
    member_id = register(client, "13900000006")["id"]
    recharge(client, member_id, store_id, "500.00")
    usable = member(client, member_id)["points"]["usable"]
    before = business_counters(client)
    # when
    clock.set(clock.now().replace(year=clock.now().year + 2) + timedelta(days=1))
    expire_points(container, business_today(container), SilentProgress())
    # then
    assert moved(before, business_counters(client)) == {"points_expired": usable}


def test_an_unexpected_error_is_counted_as_5xx_and_logged_with_its_request_id(client: TestClient) -> None:
    def explode() -> None:
        raise RuntimeError("a bug")

    client.app.add_api_route("/test-explode", explode)  # type: ignore[attr-defined]
    labels = {"route": "/test-explode", "method": "GET", "status_class": "5xx"}
    before = metric(client, "dinecard_http_responses_total", **labels)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    logging.getLogger("dinecard.api").addHandler(handler)
    try:
        response = client.get("/test-explode", headers={"X-Request-ID": "boom-1"})
    finally:
        logging.getLogger("dinecard.api").removeHandler(handler)
    assert response.status_code == 500
    assert metric(client, "dinecard_http_responses_total", **labels) == before + 1
    [error] = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert (error["level"], error["request_id"]) == ("ERROR", "boom-1")
    assert "RuntimeError: a bug" in error["exception"]
