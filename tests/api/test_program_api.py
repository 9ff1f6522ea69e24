"""The programme over HTTP: reading it, replacing it with a new version, when versions take effect,
and the quote (the points calculator) that prices a bill without changing anything."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from dinecard.ledger.models import JournalTransaction
from dinecard.platform.container import Container
from dinecard.program.presets import DEFAULT, HOTPOT, TEA
from dinecard.security.domain import Role
from dinecard.shared.clock import FixedClock
from dinecard.wallet.models import Recharge
from tests.api.helpers import API, assert_problem, balance, checkout, recharge, register, snapshot
from tests.conftest import START, make_token

PROGRAM = f"{API}/program"


def _put(client: TestClient, document: dict[str, Any], **change: Any) -> Any:
    return client.put(PROGRAM, json={"program": document, **change})


def _saved(client: TestClient, document: dict[str, Any], **change: Any) -> dict[str, Any]:
    response = _put(client, document, **change)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _versions_priced(container: Container, order_no: str) -> tuple[int, int | None]:
    """The programme version on a recharge's row and on its journal transaction."""
    with container.database.read() as session:
        row = session.execute(select(Recharge).where(Recharge.order_no == order_no)).scalar_one()
        journal = session.get(JournalTransaction, row.journal_transaction_id)
        assert journal is not None
        return row.program_version, journal.program_version


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# ---------------------------------------------------------------- reading and saving


def test_the_built_in_default_is_version_0_until_hq_saves_one(client: TestClient) -> None:
    response = client.get(PROGRAM)

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["version"], body["effective_at"]) == (0, None)
    assert body["program"]["name"] == "default"
    assert [tier["amount"] for tier in body["program"]["recharge"]["tiers"]] == [
        "200.00",
        "500.00",
        "1000.00",
        "2000.00",
    ]
    assert client.get(f"{PROGRAM}/versions").json() == []
    assert client.get(f"{PROGRAM}/presets").json() == ["default", "hotpot", "tea"]


def test_a_saved_programme_becomes_version_1_and_prices_the_next_recharge(
    client: TestClient, container: Container, store_id: str
) -> None:
    # given a recharge priced by the built-in default (500 → +80)
    member_id = register(client)["id"]
    before = recharge(client, member_id, store_id, "500")
    assert before["bonus"] == "80.00"

    # when HQ saves the hotpot programme
    saved = _saved(client, HOTPOT, note="锅底英雄")

    # then it is version 1, in force from now, and the next 500 gets hotpot's +100 and no points
    assert saved["version"] == 1 and saved["program"]["name"] == "hotpot"
    assert _moment(saved["effective_at"]) == START
    shown = client.get(PROGRAM).json()
    assert (shown["version"], shown["program"]["name"]) == (1, "hotpot")
    assert _moment(shown["effective_at"]) == START
    after = recharge(client, member_id, store_id, "500")
    assert (after["bonus"], after["points_awarded"]) == ("100.00", 0)
    assert after["balance"] == balance("1000.00", "180.00")
    # and each operation records the version that priced it
    assert _versions_priced(container, before["order_no"]) == (0, 0)
    assert _versions_priced(container, after["order_no"]) == (1, 1)


def _tiers_not_increasing() -> dict[str, Any]:
    document = copy.deepcopy(DEFAULT)
    document["recharge"]["tiers"][1]["amount"] = "200"
    return document


def _half_multiplier() -> dict[str, Any]:
    document = copy.deepcopy(DEFAULT)
    document["points"]["multipliers"][0]["multiplier"] = "0.5"
    return document


def _overlapping_campaigns() -> dict[str, Any]:
    document = copy.deepcopy(DEFAULT)
    campaign = {"name": "充500送50", "min_amount": "500", "extra_bonus": "50"}
    document["recharge"]["campaigns"] = [
        {**campaign, "code": "march", "starts_at": "2026-03-01T00:00:00+08:00", "ends_at": "2026-04-01T00:00:00+08:00"},
        {
            **campaign,
            "code": "spring",
            "starts_at": "2026-03-15T00:00:00+08:00",
            "ends_at": "2026-05-01T00:00:00+08:00",
        },
    ]
    return document


@pytest.mark.parametrize(
    ("document", "loc", "message"),
    [
        (_tiers_not_increasing(), ["body", "program", "recharge", "tiers"], "tier amounts must strictly increase"),
        (
            _half_multiplier(),
            ["body", "program", "points", "multipliers", 0, "multiplier"],
            "greater than or equal to 1",
        ),
        (_overlapping_campaigns(), ["body", "program", "recharge"], "'march' and 'spring' overlap in time and stores"),
    ],
    ids=["tiers_not_increasing", "multiplier_below_1", "overlapping_campaigns"],
)
def test_an_invalid_programme_is_refused_saying_where_and_why(
    client: TestClient, document: dict[str, Any], loc: list[Any], message: str
) -> None:
    response = _put(client, document)

    problem = assert_problem(response, 422, "validation_failed")
    assert [error["loc"] for error in problem["errors"]] == [loc], problem["errors"]
    assert message in problem["errors"][0]["message"], problem["errors"]
    assert client.get(f"{PROGRAM}/versions").json() == []
    assert client.get(PROGRAM).json()["version"] == 0


def test_a_rule_limited_to_a_store_that_does_not_exist_is_refused_there_and_nothing_is_saved(
    client: TestClient, store_id: str
) -> None:
    # given a campaign limited to a real store and to a typo
    document = copy.deepcopy(DEFAULT)
    campaign = {
        "code": "autumn",
        "name": "秋季加赠",
        "starts_at": "2026-10-01T00:00:00+08:00",
        "ends_at": "2026-11-01T00:00:00+08:00",
        "min_amount": "500",
        "extra_bonus": "50",
        "stores": [store_id, "NO-SUCH-STORE"],
    }
    document["recharge"]["campaigns"] = [campaign]

    # when HQ saves it, then it is refused at that field, naming the store, and no version is made
    problem = assert_problem(_put(client, document), 422, "validation_failed")
    assert [(error["loc"], error["message"]) for error in problem["errors"]] == [
        (["body", "program", "recharge", "campaigns", 0, "stores"], "unknown store NO-SUCH-STORE")
    ]
    assert client.get(f"{PROGRAM}/versions").json() == []

    # and the same campaign limited to the real store alone is saved
    campaign["stores"] = [store_id]
    saved = _saved(client, document)
    assert saved["program"]["recharge"]["campaigns"][0]["stores"] == [store_id]


def test_a_cashier_may_read_the_programme_but_not_change_it(
    client: TestClient, container: Container, store_id: str
) -> None:
    cashier = {"Authorization": f"Bearer {make_token(container, Role.CASHIER, store_id)}"}

    assert client.get(PROGRAM, headers=cashier).status_code == 200
    assert_problem(client.put(PROGRAM, json={"program": HOTPOT}, headers=cashier), 403, "forbidden")
    assert client.get(f"{PROGRAM}/versions").json() == []


def test_a_change_dated_in_the_future_leaves_prices_alone_until_then(
    client: TestClient, container: Container, clock: FixedClock, store_id: str
) -> None:
    # given hotpot saved today to start on 3 March at midnight (+08:00)
    member_id = register(client)["id"]
    saved = _saved(client, HOTPOT, effective_at="2026-03-03T00:00:00+08:00")
    assert saved["version"] == 1
    assert _moment(saved["effective_at"]) == datetime(2026, 3, 2, 16, 0, tzinfo=UTC)

    # when a member recharges 500 before then, then the default still prices it (+80, 300 pts)
    assert client.get(PROGRAM).json()["version"] == 0
    clock.set(datetime(2026, 3, 2, 15, 59, 59, tzinfo=UTC))
    early = recharge(client, member_id, store_id, "500")
    assert (early["bonus"], early["points_awarded"]) == ("80.00", 300)

    # when the clock reaches the effective time, then hotpot prices the next 500 (+100, no points)
    clock.set(datetime(2026, 3, 2, 16, 0, tzinfo=UTC))
    assert client.get(PROGRAM).json()["version"] == 1
    late = recharge(client, member_id, store_id, "500")
    assert (late["bonus"], late["points_awarded"]) == ("100.00", 0)
    assert _versions_priced(container, early["order_no"]) == (0, 0)
    assert _versions_priced(container, late["order_no"]) == (1, 1)


def test_a_change_dated_in_the_past_takes_effect_now_never_before(
    client: TestClient, container: Container, store_id: str
) -> None:
    # given a recharge priced by the default this morning
    member_id = register(client)["id"]
    earlier = recharge(client, member_id, store_id, "500")

    # when HQ saves hotpot "effective" from New Year
    saved = _saved(client, HOTPOT, effective_at="2026-01-01T00:00:00+08:00")

    # then it takes effect now: the earlier recharge keeps its price and its version
    assert _moment(saved["effective_at"]) == START
    [listed] = client.get(f"{PROGRAM}/versions").json()
    assert _moment(listed["effective_at"]) == START
    assert _versions_priced(container, earlier["order_no"]) == (0, 0)
    with container.database.read() as session:
        row = session.execute(select(Recharge).where(Recharge.order_no == earlier["order_no"])).scalar_one()
        assert row.bonus_fen == 8000


def test_an_effective_time_without_an_offset_is_refused_like_any_other_invalid_field(client: TestClient) -> None:
    response = _put(client, HOTPOT, effective_at="2026-03-03T00:00:00")

    problem = assert_problem(response, 422, "validation_failed")
    assert problem["errors"][0]["loc"] == ["body", "effective_at"]


def test_versions_are_listed_newest_first(client: TestClient, clock: FixedClock) -> None:
    for document, note in ((DEFAULT, "article"), (HOTPOT, "case 7.1"), (TEA, "case 7.2")):
        _saved(client, document, note=note)
        clock.advance(timedelta(minutes=1))

    versions = client.get(f"{PROGRAM}/versions").json()

    assert [(v["version"], v["name"], v["note"]) for v in versions] == [
        (3, "tea", "case 7.2"),
        (2, "hotpot", "case 7.1"),
        (1, "default", "article"),
    ]
    assert [_moment(v["effective_at"]) for v in versions] == [START + timedelta(minutes=m) for m in (2, 1, 0)]
    assert {v["created_by"] for v in versions} == {"test hq_admin"}
    assert client.get(PROGRAM).json()["program"]["name"] == "tea"


# ---------------------------------------------------------------- the quote


def _quote(client: TestClient, member_id: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"{API}/members/{member_id}/quote", json=body)
    assert response.status_code == 200, response.text
    quoted: dict[str, Any] = response.json()
    return quoted


def test_a_quote_gives_the_numbers_of_the_checkout_that_follows_and_changes_nothing(
    client: TestClient, store_id: str
) -> None:
    # given a silver member with 500 + 80 and 300 points
    member_id = register(client)["id"]
    recharge(client, member_id, store_id, "500")
    bill = {"store_id": store_id, "bill_total": "200", "use_points": 100}
    before = snapshot(client, member_id)

    # when the bill is quoted
    quoted = _quote(client, member_id, bill)

    # then: 95 % → 190.00, less 100 pts (1.00) → 189.00; from 500:80 → 162.93 + 26.07 (largest remainder);
    # 189 × 1.2 = 226.8 → 226 pts; 300 − 100 + 226 = 426 after
    assert (quoted["discount"], quoted["points_deduction"], quoted["payable"]) == ("10.00", "1.00", "189.00")
    assert quoted["paid_from_balance"] == balance("162.93", "26.07")
    assert (quoted["points_earned"], quoted["points_multiplier"]) == (226, "1.2")
    assert quoted["balance_after"] == balance("337.07", "53.93")
    assert (quoted["points_usable_now"], quoted["points_after"], quoted["max_points_usable"]) == (300, 426, 300)
    assert snapshot(client, member_id) == before

    # and the checkout that follows says the same
    done = checkout(client, member_id, store_id, **{k: v for k, v in bill.items() if k != "store_id"})
    for field in (
        "bill_total",
        "discount",
        "discounts",
        "points_used",
        "points_deduction",
        "payable",
        "paid_from_balance",
        "due_other_tender",
        "points_earned",
        "points_multiplier",
        "level",
    ):
        assert done[field] == quoted[field], field
    assert done["balance"] == quoted["balance_after"]
    assert done["points"]["usable"] == quoted["points_after"]


def test_max_points_usable_is_bounded_by_the_bill_the_share_and_the_minimum(client: TestClient, store_id: str) -> None:
    # given a silver member with 300 points
    member_id = register(client)["id"]
    recharge(client, member_id, store_id, "500")

    # under the default (no minimum, the whole bill): 2.00 at 95 % → 1.90 → 190 pts; 200 → all 300
    assert _quote(client, member_id, {"store_id": store_id, "bill_total": "2"})["max_points_usable"] == 190
    assert _quote(client, member_id, {"store_id": store_id, "bill_total": "200"})["max_points_usable"] == 300

    # when at most half the bill may be paid with points, and at least 200 at a time
    document = copy.deepcopy(DEFAULT)
    document["points"] = {**document["points"], "redemption": {"min_points": 200, "max_share": "0.5"}}
    _saved(client, document)

    # then 10.00 → 9.50 × 0.5 = 4.75 → 475, capped by the 300 held; 4.00 → 3.80 × 0.5 → 190 < 200 → none
    assert _quote(client, member_id, {"store_id": store_id, "bill_total": "10"})["max_points_usable"] == 300
    assert _quote(client, member_id, {"store_id": store_id, "bill_total": "4"})["max_points_usable"] == 0
    assert _quote(client, member_id, {"store_id": store_id, "bill_total": "4.00"})["points_usable_now"] == 300


def test_a_quote_for_an_unknown_member_is_not_found(client: TestClient, store_id: str) -> None:
    response = client.post(
        f"{API}/members/01HZZZZZZZZZZZZZZZZZZZZZZZ/quote", json={"store_id": store_id, "bill_total": "1"}
    )
    assert_problem(response, 404, "member_not_found")


def test_a_programme_without_a_level_members_hold_is_refused_or_leaves_them_usable(
    client: TestClient, store_id: str
) -> None:
    # given a diamond member under the default programme
    member_id = register(client)["id"]
    recharge(client, member_id, store_id, "2000")

    # when HQ saves the tea programme, which has no diamond level
    response = _put(client, TEA)

    # then either the change is refused, or the member can still be read and served
    if response.status_code == 201:
        assert client.get(f"{API}/members/{member_id}").status_code == 200
        assert checkout(client, member_id, store_id, "10")["payable"]
    else:
        assert response.status_code in (409, 422), response.text
