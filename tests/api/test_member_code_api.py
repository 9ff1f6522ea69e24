"""The rotating member code (R-MEM-2, R-MEM-5): the till accepts it only while it is fresh."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from dinecard.shared.clock import FixedClock


def _member(client: TestClient) -> str:
    response = client.post("/api/v1/members", json={"phone": "13900001111"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_a_fresh_member_code_finds_the_member(client: TestClient) -> None:
    # given a member's current code
    member_id = _member(client)
    code = client.get(f"/api/v1/members/{member_id}/member-code").json()
    assert len(code["member_code"]) == 18 and code["member_code"].isdigit()

    # when the till scans it
    found = client.get("/api/v1/members", params={"member_code": code["member_code"]})

    # then it is that member
    assert found.status_code == 200, found.text
    assert found.json()["id"] == member_id


def test_a_code_is_still_accepted_in_the_next_minute_and_refused_after(client: TestClient, clock: FixedClock) -> None:
    member_id = _member(client)
    clock.set(clock.now().replace(second=5))
    code = client.get(f"/api/v1/members/{member_id}/member-code").json()["member_code"]

    clock.advance(timedelta(seconds=60))
    assert client.get("/api/v1/members", params={"member_code": code}).status_code == 200

    clock.advance(timedelta(seconds=60))
    stale = client.get("/api/v1/members", params={"member_code": code})
    assert stale.status_code == 409
    assert stale.json()["code"] == "member_code_expired"


def test_the_code_changes_every_minute(client: TestClient, clock: FixedClock) -> None:
    member_id = _member(client)
    first = client.get(f"/api/v1/members/{member_id}/member-code").json()["member_code"]
    clock.advance(timedelta(seconds=60))
    second = client.get(f"/api/v1/members/{member_id}/member-code").json()["member_code"]
    assert first[:12] == second[:12]  # the card number part stays
    assert first != second


def test_a_forged_one_time_part_is_refused(client: TestClient) -> None:
    member_id = _member(client)
    code = client.get(f"/api/v1/members/{member_id}/member-code").json()["member_code"]
    forged = code[:12] + f"{(int(code[12:]) + 1) % 1_000_000:06d}"
    response = client.get("/api/v1/members", params={"member_code": forged})
    assert response.status_code == 409
    assert response.json()["code"] == "member_code_expired"


def test_a_code_of_the_wrong_shape_finds_nobody(client: TestClient) -> None:
    response = client.get("/api/v1/members", params={"member_code": "12345"})
    assert response.status_code == 404
    assert response.json()["code"] == "member_not_found"
