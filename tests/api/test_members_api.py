"""Stores and members over HTTP: register, look up, profile, freeze."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from dinecard.members.models import Member
from dinecard.platform.container import Container
from dinecard.security.domain import Role
from dinecard.shared.ids import is_valid_card_no
from tests.api.helpers import API, assert_problem, member, open_store, points_of, register
from tests.conftest import make_token

ZERO_BALANCE = {"principal": "0.00", "bonus": "0.00", "total": "0.00"}


# ---------------------------------------------------------------- stores


def test_hq_admin_opens_a_store_and_sees_it_listed(client: TestClient) -> None:
    # when
    response = client.post(f"{API}/stores", json={"code": "S001", "name": "人民广场店"})

    # then
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"] and body["code"] == "S001" and body["name"] == "人民广场店"
    listed = client.get(f"{API}/stores").json()
    assert [(s["id"], s["code"]) for s in listed] == [(body["id"], "S001")]


def test_a_second_store_with_the_same_code_is_refused(client: TestClient) -> None:
    open_store(client, "S001")

    response = client.post(f"{API}/stores", json={"code": "S001", "name": "另一家店"})

    assert_problem(response, 409, "store_code_taken")
    assert len(client.get(f"{API}/stores").json()) == 1


def test_a_cashier_may_not_open_a_store(client: TestClient, container: Container) -> None:
    cashier = make_token(container, Role.CASHIER)

    response = client.post(
        f"{API}/stores", json={"code": "S009", "name": "徐家汇店"}, headers={"Authorization": f"Bearer {cashier}"}
    )

    assert_problem(response, 403, "forbidden")
    assert "S009" not in [store["code"] for store in client.get(f"{API}/stores").json()]


def test_a_store_code_with_spaces_is_a_validation_error(client: TestClient) -> None:
    response = client.post(f"{API}/stores", json={"code": "S 001", "name": "人民广场店"})

    body = assert_problem(response, 422, "validation_failed")
    assert body["errors"][0]["loc"] == ["body", "code"]


# ---------------------------------------------------------------- registering


def test_registration_issues_a_card_and_starts_at_normal_with_nothing(client: TestClient, store_id: str) -> None:
    # when
    response = client.post(
        f"{API}/members",
        json={
            "phone": "13812341234",
            "name": "王芳",
            "birthday": "1990-05-17",
            "gender": "female",
            "store_id": store_id,
            "profile": {"allergies": ["花生"], "taste_preferences": ["微辣"]},
        },
    )

    # then
    assert response.status_code == 201, response.text
    body = response.json()
    assert re.fullmatch(r"\d{12}", body["card_no"]) and is_valid_card_no(body["card_no"])
    assert body["phone_masked"] == "138****1234"
    assert "13812341234" not in response.text
    assert body["name"] == "王芳" and body["birthday"] == "1990-05-17" and body["gender"] == "female"
    assert body["store_id"] == store_id
    assert body["status"] == "active"
    assert body["level"]["code"] == "normal" and body["level"]["discount_rate"] == "1.0"
    assert body["balance"] == ZERO_BALANCE
    assert body["points"] == points_of(0, 0)
    assert body["cumulative"] == {"recharge": "0.00", "consume": "0.00"}
    assert body["referral_code"]
    assert body["profile"]["allergies"] == ["花生"] and body["profile"]["taste_preferences"] == ["微辣"]
    assert member(client, body["id"]) == body


def test_registration_needs_only_a_phone(client: TestClient) -> None:
    body = register(client, "15900001111")

    assert body["phone_masked"] == "159****1111"
    assert body["name"] is None and body["store_id"] is None
    assert body["profile"] == {"taste_preferences": [], "allergies": [], "favourite_dishes": [], "tags": []}


@pytest.mark.parametrize("same_phone", ["13812341234", "+86 138 1234 1234", "138-1234-1234", "0086 13812341234"])
def test_a_phone_already_registered_is_refused_in_any_formatting(client: TestClient, same_phone: str) -> None:
    register(client, "13812341234")

    response = client.post(f"{API}/members", json={"phone": same_phone})

    assert_problem(response, 409, "phone_taken")


@pytest.mark.parametrize(
    "bad_phone",
    ["12345", "23812341234", "1381234123", "138123412345", "12812341234", "abc", "１３８12341234"],
    ids=ascii,
)
def test_a_phone_that_is_not_a_mainland_mobile_is_refused(client: TestClient, bad_phone: str) -> None:
    response = client.post(f"{API}/members", json={"phone": bad_phone})

    assert_problem(response, 422, "phone_invalid")


def test_registering_at_an_unknown_store_is_refused(client: TestClient) -> None:
    response = client.post(f"{API}/members", json={"phone": "13812341234", "store_id": "no-such-store"})

    assert_problem(response, 404, "store_not_found")


def test_an_unknown_referral_code_is_refused(client: TestClient) -> None:
    response = client.post(f"{API}/members", json={"phone": "13812341234", "referral_code": "ZZZZZZZZ"})

    assert_problem(response, 422, "referral_code_unknown")
    lookup = client.get(f"{API}/members", params={"phone": "13812341234"})
    assert_problem(lookup, 404, "member_not_found")


def test_a_valid_referral_code_links_the_new_member_to_the_referrer(client: TestClient, container: Container) -> None:
    # given
    referrer = register(client, "13812341234")

    # when the code is typed in lower case, as a member might
    invitee = register(client, "13912345678", referral_code=referrer["referral_code"].lower())

    # then
    assert invitee["referral_code"] != referrer["referral_code"]
    with container.database.read() as session:
        stored = session.get(Member, invitee["id"])
        assert stored is not None and stored.referrer_id == referrer["id"]


def test_an_unknown_field_is_a_validation_error(client: TestClient) -> None:
    response = client.post(f"{API}/members", json={"phone": "13812341234", "vip": True})

    body = assert_problem(response, 422, "validation_failed")
    assert body["errors"][0]["loc"] == ["body", "vip"]


# ---------------------------------------------------------------- looking up


def test_a_member_is_found_by_id_phone_and_card_number(client: TestClient) -> None:
    registered = register(client, "13812341234", name="王芳")
    register(client, "13912345678", name="李雷")

    by_id = client.get(f"{API}/members/{registered['id']}")
    by_phone = client.get(f"{API}/members", params={"phone": "13812341234"})
    by_formatted_phone = client.get(f"{API}/members", params={"phone": "+86 138-1234-1234"})
    by_card = client.get(f"{API}/members", params={"card_no": registered["card_no"]})

    for response in (by_id, by_phone, by_formatted_phone, by_card):
        assert response.status_code == 200, response.text
        assert response.json() == registered


def test_an_unknown_member_is_not_found(client: TestClient) -> None:
    register(client, "13812341234")

    assert_problem(client.get(f"{API}/members/01HZZZZZZZZZZZZZZZZZZZZZZZ"), 404, "member_not_found")
    assert_problem(client.get(f"{API}/members", params={"phone": "13900000000"}), 404, "member_not_found")
    assert_problem(client.get(f"{API}/members", params={"card_no": "800000000000"}), 404, "member_not_found")


@pytest.mark.parametrize("params", [{}, {"phone": "13812341234", "card_no": "800000000000"}], ids=["neither", "both"])
def test_a_lookup_needs_exactly_one_key(client: TestClient, params: dict[str, str]) -> None:
    register(client, "13812341234")

    assert_problem(client.get(f"{API}/members", params=params), 422, "lookup_needs_one_key")


def test_a_lookup_by_a_malformed_phone_is_refused(client: TestClient) -> None:
    assert_problem(client.get(f"{API}/members", params={"phone": "12345"}), 422, "phone_invalid")


# ---------------------------------------------------------------- profile


def test_patch_changes_the_name_and_adds_allergies_keeping_other_tastes(client: TestClient) -> None:
    # given
    registered = register(client, "13812341234", name="王芳", profile={"taste_preferences": ["微辣"]})

    # when
    response = client.patch(f"{API}/members/{registered['id']}", json={"name": "王芳芳", "allergies": ["花生", "海鲜"]})

    # then
    assert response.status_code == 200, response.text
    for shown in (response.json(), member(client, registered["id"])):
        assert shown["name"] == "王芳芳"
        assert shown["profile"]["allergies"] == ["花生", "海鲜"]
        assert shown["profile"]["taste_preferences"] == ["微辣"]
        assert shown["phone_masked"] == "138****1234"


def test_patch_of_an_unknown_member_is_not_found(client: TestClient) -> None:
    response = client.patch(f"{API}/members/nobody", json={"name": "王芳"})

    assert_problem(response, 404, "member_not_found")


# ---------------------------------------------------------------- status


def test_freeze_and_unfreeze_a_card(client: TestClient) -> None:
    member_id = register(client)["id"]

    frozen = client.post(f"{API}/members/{member_id}/freeze")
    assert frozen.status_code == 200, frozen.text
    assert frozen.json()["status"] == "frozen"
    assert member(client, member_id)["status"] == "frozen"

    active = client.post(f"{API}/members/{member_id}/unfreeze")
    assert active.status_code == 200, active.text
    assert active.json()["status"] == "active"
    assert member(client, member_id)["status"] == "active"


def test_freezing_twice_or_unfreezing_an_active_card_is_refused(client: TestClient) -> None:
    member_id = register(client)["id"]

    assert_problem(client.post(f"{API}/members/{member_id}/unfreeze"), 409, "member_status_unchanged")
    assert client.post(f"{API}/members/{member_id}/freeze").status_code == 200
    assert_problem(client.post(f"{API}/members/{member_id}/freeze"), 409, "member_status_unchanged")
    assert member(client, member_id)["status"] == "frozen"


def test_freezing_an_unknown_member_is_not_found(client: TestClient) -> None:
    assert_problem(client.post(f"{API}/members/nobody/freeze"), 404, "member_not_found")
