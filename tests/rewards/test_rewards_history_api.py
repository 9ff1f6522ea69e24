"""A member's rewards history over HTTP: coupons issued and voided, stamps earned and taken back,
newest first, paged with the `next_before` cursor; any role may read it, for any member."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dinecard.platform.container import Container
from dinecard.security.domain import Role
from dinecard.shared.clock import FixedClock
from tests.api.helpers import API, assert_problem, open_store, refund, register
from tests.conftest import make_token

MINUTE = timedelta(minutes=1)
VALID_UNTIL = datetime(2026, 3, 31, 16, 0, tzinfo=UTC)  # 30 business days from 2026-03-02, exclusive


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# ---------------------------------------------------------------- helpers


def post(client: TestClient, path: str, body: dict[str, Any]) -> Any:
    response = client.post(f"{API}{path}", json=body)
    assert response.status_code in (200, 201), response.text
    return response.json()


@pytest.fixture
def rewards_setup(client: TestClient) -> None:
    post(client, "/dishes", {"id": "T01", "name": "奶茶", "category": "饮品", "price": "18.00"})
    post(
        client,
        "/coupon-templates",
        {"code": "CASH10", "name": "10元券", "kind": "cash", "value": "10", "validity": {"days": 30}},
    )
    post(
        client,
        "/coupon-templates",
        {"code": "FREE_TEA", "name": "奶茶券", "kind": "dish", "dish_ids": ["T01"], "validity": {"days": 30}},
    )
    post(
        client,
        "/stamp-cards",
        {"id": "TEA3", "name": "买3送1", "dish_ids": ["T01"], "stamps_needed": 3, "reward_template_code": "FREE_TEA"},
    )


def history(client: TestClient, member_id: str, headers: dict[str, str] | None = None, **params: Any) -> dict[str, Any]:
    response = client.get(f"{API}/members/{member_id}/rewards-history", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def buy_tea(
    client: TestClient, member_id: str, store_id: str, cups: int, coupons: list[str] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"store_id": store_id, "items": [{"dish_id": "T01", "quantity": cups}]}
    if coupons:
        body["coupon_codes"] = coupons
    return dict(post(client, f"/members/{member_id}/checkouts", body))


def a_member_with_history(client: TestClient, clock: FixedClock, store_id: str) -> tuple[str, dict[str, Any]]:
    """Five events a minute apart: staff coupon, stamps, a full card (voucher + stamps), void, refund."""
    member_id = register(client)["id"]
    refs: dict[str, Any] = {}
    [cash] = post(client, f"/members/{member_id}/coupons", {"template_code": "CASH10"})
    refs["cash"] = cash["code"]
    clock.advance(MINUTE)
    refs["first"] = buy_tea(client, member_id, store_id, 2)["order_no"]
    clock.advance(MINUTE)
    second = buy_tea(client, member_id, store_id, 1)
    refs["second"] = second["order_no"]
    [refs["voucher"]] = second["stamps"][0]["reward_coupons"]
    clock.advance(MINUTE)
    post(client, f"/coupons/{refs['cash']}/void", {"reason": "issued by mistake"})
    clock.advance(MINUTE)
    refs["refund"] = refund(client, refs["first"])["order_no"]
    return member_id, refs


# ---------------------------------------------------------------- the timeline


def test_the_history_lists_every_reward_event_newest_first(
    client: TestClient, clock: FixedClock, store_id: str, rewards_setup: None
) -> None:
    member_id, refs = a_member_with_history(client, clock, store_id)

    body = history(client, member_id)

    assert body["next_before"] is None
    events = body["items"]
    ids = [e["id"] for e in events]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)
    shown = [(e["kind"], e["ref"], e["occurred_at"]) for e in events]
    assert shown == [
        ("stamps_taken_back", refs["refund"], "2026-03-02T04:04:00Z"),
        # a refund that leaves the card short voids the unused voucher: 0 − 2 = −2, + 3 = 1
        ("coupon_voided", refs["voucher"], "2026-03-02T04:04:00Z"),
        ("coupon_voided", refs["cash"], "2026-03-02T04:03:00Z"),
        ("stamps_earned", refs["second"], "2026-03-02T04:02:00Z"),
        ("coupon_issued", refs["voucher"], "2026-03-02T04:02:00Z"),
        ("stamps_earned", refs["first"], "2026-03-02T04:01:00Z"),
        ("coupon_issued", refs["cash"], "2026-03-02T04:00:00Z"),
    ]
    details = [e["detail"] for e in events]
    assert details[0] == {"card_id": "TEA3", "stamps": -2, "order_no": refs["first"]}
    assert details[1] == {"reason": "stamps refunded", "by": None}
    assert details[2]["reason"] == "issued by mistake" and details[2]["by"] is not None
    assert details[3] == {"card_id": "TEA3", "earned": 1, "stamps": 0}
    assert instant(details[4].pop("valid_until")) == VALID_UNTIL
    assert details[4] == {
        "template_code": "FREE_TEA",
        "template_name": "奶茶券",
        "source": "stamp_card",
        "source_ref": refs["second"],
    }
    assert details[5] == {"card_id": "TEA3", "earned": 2, "stamps": 2}
    assert instant(details[6].pop("valid_until")) == VALID_UNTIL
    assert details[6] == {"template_code": "CASH10", "template_name": "10元券", "source": "staff", "source_ref": None}


def test_timestamps_inside_event_details_are_utc_like_every_answer(client: TestClient, rewards_setup: None) -> None:
    member_id = register(client)["id"]
    [cash] = post(client, f"/members/{member_id}/coupons", {"template_code": "CASH10"})

    [event] = history(client, member_id)["items"]

    assert event["detail"]["valid_until"] == cash["valid_until"] == "2026-03-31T16:00:00Z"


def test_the_history_pages_with_the_cursor(
    client: TestClient, clock: FixedClock, store_id: str, rewards_setup: None
) -> None:
    member_id, _refs = a_member_with_history(client, clock, store_id)
    everything = history(client, member_id)["items"]
    assert len(everything) == 7

    pages: list[list[dict[str, Any]]] = []
    cursor: int | None = None
    while True:
        params: dict[str, Any] = {"limit": 3} if cursor is None else {"limit": 3, "before": cursor}
        page = history(client, member_id, **params)
        pages.append(page["items"])
        cursor = page["next_before"]
        if cursor is None:
            break
        assert cursor == page["items"][-1]["id"]

    assert [len(page) for page in pages] == [3, 3, 1]
    assert [e for page in pages for e in page] == everything
    # a page that ends exactly at the last event has no cursor
    assert history(client, member_id, limit=7)["next_before"] is None
    assert history(client, member_id, limit=6)["next_before"] == everything[5]["id"]
    # before the oldest event: nothing
    assert history(client, member_id, before=everything[-1]["id"]) == {"items": [], "next_before": None}


def test_a_member_without_rewards_has_an_empty_history_and_sees_no_one_elses(
    client: TestClient, clock: FixedClock, store_id: str, rewards_setup: None
) -> None:
    a_member_with_history(client, clock, store_id)
    quiet_id = register(client, "13900000009")["id"]

    assert history(client, quiet_id) == {"items": [], "next_before": None}


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 201}, {"before": 0}, {"limit": "many"}])
def test_a_bad_page_request_is_refused(client: TestClient, params: dict[str, Any]) -> None:
    member_id = register(client)["id"]

    assert_problem(client.get(f"{API}/members/{member_id}/rewards-history", params=params), 422, "validation_failed")


def test_the_history_of_an_unknown_member_is_not_found(client: TestClient) -> None:
    assert_problem(client.get(f"{API}/members/01NOSUCHMEMBER0000000000000/rewards-history"), 404, "member_not_found")


def test_a_cashier_of_any_store_may_read_the_history(
    client: TestClient, container: Container, clock: FixedClock, store_id: str, rewards_setup: None
) -> None:
    member_id, _refs = a_member_with_history(client, clock, store_id)
    elsewhere = open_store(client, "S009", "别的店")
    cashier = {"Authorization": f"Bearer {make_token(container, Role.CASHIER, elsewhere)}"}

    assert history(client, member_id, headers=cashier) == history(client, member_id)
    response = client.get(f"{API}/members/{member_id}/rewards-history", headers={"Authorization": "Bearer dc_nope"})
    assert response.status_code == 401


def test_a_coupon_used_at_checkout_and_restored_by_the_refund_shows_in_the_history(
    client: TestClient, clock: FixedClock, store_id: str, rewards_setup: None
) -> None:
    member_id = register(client)["id"]
    [cash] = post(client, f"/members/{member_id}/coupons", {"template_code": "CASH10"})
    clock.advance(MINUTE)

    order = post(
        client,
        f"/members/{member_id}/checkouts",
        {"store_id": store_id, "bill_total": "50.00", "coupon_codes": [cash["code"]]},
    )

    assert order["coupon_discount"] == "10.00"
    newest = history(client, member_id)["items"][0]
    assert (newest["kind"], newest["ref"]) == ("coupon_used", cash["code"])
    assert newest["detail"] == {"order_no": order["order_no"], "amount": "10.00"}
    assert newest["occurred_at"] == "2026-03-02T04:01:00Z"

    # when the whole bill is refunded the coupon comes back, and the history says so
    clock.advance(MINUTE)
    refund(client, order["order_no"])
    events = history(client, member_id)["items"]
    assert [(e["kind"], e["ref"], e["occurred_at"]) for e in events] == [
        ("coupon_restored", cash["code"], "2026-03-02T04:02:00Z"),
        ("coupon_used", cash["code"], "2026-03-02T04:01:00Z"),
        ("coupon_issued", cash["code"], "2026-03-02T04:00:00Z"),
    ]
    assert events[0]["detail"] == {"order_no": order["order_no"], "reason": None}
