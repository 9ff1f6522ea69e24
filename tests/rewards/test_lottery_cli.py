"""`dinecard lottery show` and `dinecard lottery verify` on a real database (SQLite and PostgreSQL):
the table with its odds and cost, and a draw replayed from its seed (exit 0), a tampered draw
(exit 1) and an unknown one (exit 2)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from dinecard.platform.container import Container
from tests.rewards.conftest import Invoke
from tests.rewards.test_lottery_api import NOTHING, create_lottery, draw, lottery, member_with_points, points_prize


@pytest.fixture
def invoke(dinecard: Invoke) -> Invoke:
    """`dinecard lottery ...` in-process against the test database."""
    return lambda *args: dinecard("lottery", *args)


def _flat(output: str) -> str:
    return " ".join(output.split())


def test_show_prints_the_table_its_odds_and_cost(client: TestClient, invoke: Invoke) -> None:
    created = create_lottery(client, [points_prize(200, weight=1), {**NOTHING, "weight": 3}])

    shown = invoke("show", "L1")
    assert shown.exit_code == 0, shown.output
    flat = _flat(shown.output)
    assert "25.00%" in flat and "75.00%" in flat and "200 points" in flat
    assert "50.00 points back" in flat and "margin 50.00 of 100 points" in flat

    as_json = invoke("show", "L1", "--json")
    assert as_json.exit_code == 0, as_json.output
    document = json.loads(as_json.output)
    assert document["prizes"] == created["prizes"] and document["expected_cost"] == created["expected_cost"]

    missing = invoke("show", "NOPE")
    assert missing.exit_code == 2 and "lottery_not_found" in missing.output


def test_verify_replays_a_draw_and_catches_a_tampered_one(
    client: TestClient, container: Container, store_id: str, invoke: Invoke
) -> None:
    create_lottery(client, [points_prize(10, weight=1), NOTHING])
    member_id = member_with_points(client, store_id, "13800000020")
    result = draw(client, member_id, store_id)
    assert lottery(client)["prizes"][0]["code"] == "P"

    verified = invoke("verify", result["draw_no"])
    assert verified.exit_code == 0, verified.output
    assert "replays exactly" in verified.output

    # when someone changes the recorded prize, the replay no longer agrees
    other = "N" if result["prize"]["code"] == "P" else "P"
    with container.database.write() as uow:
        uow.session.execute(
            text("UPDATE lottery_draws SET prize_code = :code WHERE draw_no = :no"),
            {"code": other, "no": result["draw_no"]},
        )
    tampered = invoke("verify", result["draw_no"])
    assert tampered.exit_code == 1, tampered.output
    assert "MISMATCH" in tampered.output

    missing = invoke("verify", "LNOPE")
    assert missing.exit_code == 2 and "draw_not_found" in missing.output
