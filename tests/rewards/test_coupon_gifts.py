"""Coupons given by rules (R-CPN-2, R-LVL-2, R-LVL-3): each level passed on the way up gives its
upgrade coupons, the birthday job gives the level's birthday coupons once per celebrated year, a
gift that cannot be given never fails the operation (the history says `coupon_gift_skipped`),
and a programme may only name templates that exist.

The programme is the default with explicit gift lists: silver gives SILVER10 (10 off) and 50
points, gold gives GOLD30 (30 off 100) and GOLD_DUCK (a duck voucher), diamond nothing; on
birthdays normal members get BDAY_N, silver members BDAY_S and 200 points.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from dinecard.platform.container import Container
from dinecard.platform.jobs import RunStatus, run_due
from dinecard.platform.outbox import OutboxMessage
from dinecard.program.presets import DEFAULT
from dinecard.shared.clock import FixedClock
from tests.api.helpers import API, assert_problem, member, recharge, register

VALID_UNTIL = "2026-03-31T16:00:00Z"  # 30 business days from 2026-03-02 (Shanghai), exclusive


# ---------------------------------------------------------------- helpers


def add_template(client: TestClient, code: str, **rules: Any) -> None:
    body = {"code": code, "name": f"券 {code}", "validity": {"days": 30}, **rules}
    response = client.post(f"{API}/coupon-templates", json=body)
    assert response.status_code == 201, response.text


def gifts_document(**per_level: dict[str, Any]) -> dict[str, Any]:
    """The default programme with every level's gift lists set (empty unless given)."""
    document: dict[str, Any] = copy.deepcopy(DEFAULT)
    for level in document["levels"]:
        level["upgrade_gift_coupons"] = []
        level["birthday_gift_coupons"] = []
        level.update(per_level.get(level["code"], {}))
    return document


def put_program(client: TestClient, document: dict[str, Any], note: str = "gift coupons") -> Any:
    return client.put(f"{API}/program", json={"program": document, "note": note})


@pytest.fixture
def gifts(client: TestClient) -> None:
    client.post(f"{API}/dishes", json={"id": "DUCK", "name": "烤鸭", "category": "热菜", "price": "88.00"})
    add_template(client, "SILVER10", kind="cash", value="10")
    add_template(client, "GOLD30", kind="threshold_cash", value="30", threshold="100")
    add_template(client, "GOLD_DUCK", kind="dish", dish_ids=["DUCK"])
    add_template(client, "BDAY_N", kind="cash", value="5")
    add_template(client, "BDAY_S", kind="cash", value="20")
    document = gifts_document(
        normal={"birthday_gift_coupons": ["BDAY_N"]},
        silver={"upgrade_gift_coupons": ["SILVER10"], "upgrade_gift_points": 50, "birthday_gift_coupons": ["BDAY_S"]},
        gold={"upgrade_gift_coupons": ["GOLD30", "GOLD_DUCK"], "birthday_gift_coupons": []},
    )
    response = put_program(client, document)
    assert response.status_code == 201, response.text


def coupons_of(client: TestClient, member_id: str, status: str = "all") -> list[dict[str, Any]]:
    response = client.get(f"{API}/members/{member_id}/coupons", params={"status": status})
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()
    return result


def given(client: TestClient, member_id: str) -> list[tuple[str, str, str | None]]:
    """(template, source, source ref) of the member's coupons, by template."""
    return sorted((c["template_code"], c["source"], c["source_ref"]) for c in coupons_of(client, member_id))


def rewards(client: TestClient, member_id: str) -> list[dict[str, Any]]:
    response = client.get(f"{API}/members/{member_id}/rewards-history", params={"limit": 200})
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["items"]
    return events


def template(client: TestClient, code: str) -> dict[str, Any]:
    response = client.get(f"{API}/coupon-templates/{code}")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def run_jobs(container: Container, rerun: bool = False) -> dict[str, int]:
    """Every daily job for today; what the birthday job did."""
    outcomes = run_due(container, rerun=rerun)
    failed = [(outcome.job, outcome.error) for outcome in outcomes if outcome.status is RunStatus.FAILED]
    assert not failed, failed
    birthday = [outcome for outcome in outcomes if outcome.job == "birthday_gifts"]
    assert len(birthday) == 1
    return birthday[0].counts if birthday[0].status is RunStatus.RAN else {}


def upgrade_messages(container: Container, member_id: str) -> list[dict[str, Any]]:
    with container.database.read() as session:
        rows = session.execute(
            select(OutboxMessage.payload)
            .where(OutboxMessage.member_id == member_id, OutboxMessage.topic == "level_upgraded")
            .order_by(OutboxMessage.id)
        ).scalars()
        return list(rows)


# ---------------------------------------------------------------- upgrade gifts


def test_a_recharge_that_passes_silver_and_gold_gives_both_levels_coupons(
    client: TestClient, container: Container, store_id: str, gifts: None
) -> None:
    member_id = register(client)["id"]

    # when a new member recharges 1000: normal → gold, passing silver
    body = recharge(client, member_id, store_id, "1000")

    # then: gold; silver's 50 points; silver's and gold's coupons, each once
    assert body["level"]["code"] == "gold"
    assert body["upgrade_gift_points"] == 50
    assert body["points_awarded"] == 800
    assert body["points"]["usable"] == 850
    assert given(client, member_id) == [
        ("GOLD30", "upgrade_gift", "gold"),
        ("GOLD_DUCK", "upgrade_gift", "gold"),
        ("SILVER10", "upgrade_gift", "silver"),
    ]
    usable = coupons_of(client, member_id, "usable")
    assert {(c["template_code"], c["status"], c["valid_until"]) for c in usable} == {
        ("GOLD30", "usable", VALID_UNTIL),
        ("GOLD_DUCK", "usable", VALID_UNTIL),
        ("SILVER10", "usable", VALID_UNTIL),
    }
    codes = {c["template_code"]: c["code"] for c in usable}

    # the rewards history shows each coupon issued, with why
    issued = [
        (e["ref"], e["detail"]["template_code"], e["detail"]["source"], e["detail"]["source_ref"])
        for e in rewards(client, member_id)
        if e["kind"] == "coupon_issued"
    ]
    assert sorted(issued) == sorted(
        [
            (codes["SILVER10"], "SILVER10", "upgrade_gift", "silver"),
            (codes["GOLD30"], "GOLD30", "upgrade_gift", "gold"),
            (codes["GOLD_DUCK"], "GOLD_DUCK", "upgrade_gift", "gold"),
        ]
    )
    assert [e["kind"] for e in rewards(client, member_id)] == ["coupon_issued"] * 3

    # the upgrade notification names them
    [message] = upgrade_messages(container, member_id)
    assert (message["from"], message["to"], message["gift_points"]) == ("normal", "gold", 50)
    assert sorted(message["gift_coupons"]) == sorted(codes.values())
    assert [template(client, code)["issued"] for code in ("SILVER10", "GOLD30", "GOLD_DUCK")] == [1, 1, 1]


def test_the_recharge_response_names_the_upgrade_gift_coupons(client: TestClient, store_id: str, gifts: None) -> None:
    member_id = register(client)["id"]

    body = recharge(client, member_id, store_id, "1000")

    codes = sorted(c["code"] for c in coupons_of(client, member_id))
    assert len(codes) == 3
    assert sorted(body["upgrade_gift_coupons"]) == codes


def test_each_level_gives_its_coupons_once_on_the_way_up(client: TestClient, store_id: str, gifts: None) -> None:
    member_id = register(client)["id"]

    # 500: silver
    assert recharge(client, member_id, store_id, "500")["level"]["code"] == "silver"
    assert given(client, member_id) == [("SILVER10", "upgrade_gift", "silver")]

    # 200 more (700): still silver, nothing more
    body = recharge(client, member_id, store_id, "200")
    assert (body["level"]["code"], body["upgrade_gift_points"]) == ("silver", 0)
    assert len(coupons_of(client, member_id)) == 1

    # 300 more (1000): gold gives its two, silver's is not given again
    assert recharge(client, member_id, store_id, "300")["level"]["code"] == "gold"
    assert given(client, member_id) == [
        ("GOLD30", "upgrade_gift", "gold"),
        ("GOLD_DUCK", "upgrade_gift", "gold"),
        ("SILVER10", "upgrade_gift", "silver"),
    ]

    # 1000 more (2000): diamond gives no coupons
    assert recharge(client, member_id, store_id, "1000")["level"]["code"] == "diamond"
    assert len(coupons_of(client, member_id)) == 3


def test_a_gift_template_out_of_stock_does_not_stop_the_recharge(
    client: TestClient, store_id: str, gifts: None
) -> None:
    # GOLD30 has none left; SILVER10 is stopped
    assert client.patch(f"{API}/coupon-templates/GOLD30", json={"stock": 0}).status_code == 200
    assert client.patch(f"{API}/coupon-templates/SILVER10", json={"active": False}).status_code == 200
    member_id = register(client)["id"]

    body = recharge(client, member_id, store_id, "1000")

    # the recharge and the upgrade go through, with the gift points and the one coupon that could be given
    assert (body["amount"], body["bonus"], body["level"]["code"], body["upgrade_gift_points"]) == (
        "1000.00",
        "200.00",
        "gold",
        50,
    )
    assert member(client, member_id)["balance"]["total"] == "1200.00"
    assert given(client, member_id) == [("GOLD_DUCK", "upgrade_gift", "gold")]
    skipped = sorted(
        (e["detail"]["template_code"], e["detail"]["reason"], e["ref"])
        for e in rewards(client, member_id)
        if e["kind"] == "coupon_gift_skipped"
    )
    assert skipped == [("GOLD30", "coupon_out_of_stock", None), ("SILVER10", "coupon_template_inactive", None)]
    assert (template(client, "GOLD30")["issued"], template(client, "SILVER10")["issued"]) == (0, 0)


def test_a_gift_beyond_the_per_member_limit_is_skipped(client: TestClient, store_id: str) -> None:
    add_template(client, "ONCE", kind="cash", value="10", per_member_limit=1)
    document = gifts_document(silver={"upgrade_gift_coupons": ["ONCE"]}, gold={"upgrade_gift_coupons": ["ONCE"]})
    assert put_program(client, document).status_code == 201
    member_id = register(client)["id"]

    assert recharge(client, member_id, store_id, "1000")["level"]["code"] == "gold"

    assert given(client, member_id) == [("ONCE", "upgrade_gift", "silver")]
    assert [(e["kind"], e["detail"].get("reason")) for e in reversed(rewards(client, member_id))] == [
        ("coupon_issued", None),
        ("coupon_gift_skipped", "coupon_member_limit"),
    ]


def test_an_upgrade_by_consumption_gives_the_coupons_too(client: TestClient, store_id: str) -> None:
    add_template(client, "SILVER10", kind="cash", value="10")
    document = gifts_document(silver={"upgrade_gift_coupons": ["SILVER10"], "min_consume": "300"})
    assert put_program(client, document).status_code == 201
    member_id = register(client)["id"]

    body = client.post(f"{API}/members/{member_id}/checkouts", json={"store_id": store_id, "bill_total": "300.00"})

    assert body.status_code == 201, body.text
    assert body.json()["level"]["code"] == "silver"
    [gift] = coupons_of(client, member_id)
    assert (gift["template_code"], gift["source"], gift["source_ref"]) == ("SILVER10", "upgrade_gift", "silver")


# ---------------------------------------------------------------- birthday gifts


def test_the_birthday_job_gives_the_levels_coupons_once_a_year(
    client: TestClient, container: Container, clock: FixedClock, store_id: str, gifts: None
) -> None:
    # today is 2026-03-02 (Shanghai)
    normal_id = register(client, "13800000001", birthday="1990-03-02")["id"]
    silver_id = register(client, "13800000002", birthday="1985-03-02")["id"]
    recharge(client, silver_id, store_id, "500")
    other_id = register(client, "13800000003", birthday="1990-03-03")["id"]
    points_before = member(client, silver_id)["points"]["usable"]

    # when the jobs run twice on the birthday
    first = run_jobs(container)
    again = run_jobs(container, rerun=True)

    # then each member got their level's gift once: BDAY_N; BDAY_S and 200 points
    assert first == {"members": 2, "points": 200, "coupons": 2}
    assert again == {}
    assert given(client, normal_id) == [("BDAY_N", "birthday_gift", "birthday:2026")]
    assert given(client, silver_id) == [
        ("BDAY_S", "birthday_gift", "birthday:2026"),
        ("SILVER10", "upgrade_gift", "silver"),
    ]
    assert member(client, silver_id)["points"]["usable"] == points_before + 200
    assert given(client, other_id) == []
    [bday] = coupons_of(client, normal_id)
    assert (bday["status"], bday["valid_until"]) == ("usable", VALID_UNTIL)
    assert [(e["kind"], e["ref"], e["detail"]["source"]) for e in rewards(client, normal_id)] == [
        ("coupon_issued", bday["code"], "birthday_gift")
    ]

    # a day later (within the catch-up week) nothing more
    clock.set(datetime(2026, 3, 3, 4, 0, tzinfo=UTC))
    assert run_jobs(container) == {"members": 1, "coupons": 1}  # only the member born on 3 March
    assert len(coupons_of(client, normal_id)) == 1

    # the next birthday gives the next year's gift
    clock.set(datetime(2027, 3, 2, 4, 0, tzinfo=UTC))
    assert run_jobs(container)["coupons"] == 2
    assert given(client, normal_id) == [
        ("BDAY_N", "birthday_gift", "birthday:2026"),
        ("BDAY_N", "birthday_gift", "birthday:2027"),
    ]


def test_a_birthday_gift_out_of_stock_is_skipped_and_the_job_still_succeeds(
    client: TestClient, container: Container, store_id: str, gifts: None
) -> None:
    assert client.patch(f"{API}/coupon-templates/BDAY_S", json={"stock": 0}).status_code == 200
    silver_id = register(client, "13800000002", birthday="1985-03-02")["id"]
    recharge(client, silver_id, store_id, "500")
    points_before = member(client, silver_id)["points"]["usable"]

    assert run_jobs(container) == {"members": 1, "points": 200}

    assert member(client, silver_id)["points"]["usable"] == points_before + 200
    assert [c["template_code"] for c in coupons_of(client, silver_id)] == ["SILVER10"]
    skipped = [e for e in rewards(client, silver_id) if e["kind"] == "coupon_gift_skipped"]
    assert [(e["detail"]["template_code"], e["detail"]["reason"]) for e in skipped] == [
        ("BDAY_S", "coupon_out_of_stock")
    ]
    # and a rerun does not try again
    assert run_jobs(container, rerun=True) == {}


# ---------------------------------------------------------------- the programme names templates that exist


@pytest.mark.parametrize("field", ["upgrade_gift_coupons", "birthday_gift_coupons"])
def test_a_programme_naming_an_unknown_template_is_refused_and_nothing_changes(
    client: TestClient, store_id: str, field: str
) -> None:
    add_template(client, "SILVER10", kind="cash", value="10")
    assert put_program(client, gifts_document(silver={"upgrade_gift_coupons": ["SILVER10"]})).status_code == 201
    before = client.get(f"{API}/program").json()
    versions = client.get(f"{API}/program/versions").json()

    document = gifts_document(silver={"upgrade_gift_coupons": ["SILVER10"]}, gold={field: ["NO_SUCH", "SILVER10"]})
    problem = assert_problem(put_program(client, document, "typo"), 404, "coupon_template_not_found")

    assert problem["template_code"] == "NO_SUCH"
    assert problem["templates"] == ["NO_SUCH"]
    assert client.get(f"{API}/program").json() == before
    assert client.get(f"{API}/program/versions").json() == versions
    assert before["version"] == 1
    # and the programme in force still gives silver's coupon, nothing for gold
    member_id = register(client)["id"]
    recharge(client, member_id, store_id, "1000")
    assert given(client, member_id) == [("SILVER10", "upgrade_gift", "silver")]
