"""Staff accounts and logins: argon2 passwords, signed tokens that expire, logout, throttled guessing."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from dinecard.platform.container import Container
from dinecard.security.domain import Role
from dinecard.security.models import Staff
from dinecard.shared.clock import FixedClock
from tests.api.helpers import API, assert_problem, open_store, post_recharge, register
from tests.security_access.helpers import PASSWORD, bearer, create_staff, key_headers, login

TWELVE_HOURS = timedelta(hours=12)


@pytest.fixture
def store_a(client: TestClient) -> str:
    return open_store(client, "A001", "人民广场店")


@pytest.fixture
def cashier(client: TestClient, store_a: str) -> str:
    """The username of a cashier at store A."""
    return str(create_staff(client, "lili", Role.CASHIER, store_a)["username"])


def _login_response(client: TestClient, username: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return client.post(f"{API}/auth/login", json={"username": username, "password": password})


def _me(client: TestClient, token: str):  # type: ignore[no-untyped-def]
    return client.get(f"{API}/auth/me", headers=bearer(token))


def _claims(token: str) -> dict[str, object]:
    claims: dict[str, object] = jwt.decode(token, options={"verify_signature": False})
    return claims


# ---------------------------------------------------------------- login


def test_a_cashiers_login_token_says_who_they_are_and_recharges_at_their_store(
    client: TestClient, store_a: str, cashier: str
) -> None:
    # given
    member_id = str(register(client)["id"])
    other_store = open_store(client, "B001", "徐家汇店")

    # when
    response = _login_response(client, cashier)

    # then
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["staff"] == {
        "id": body["staff"]["id"],
        "name": "lili",
        "role": "cashier",
        "store_id": store_a,
        "kind": "staff",
    }
    assert body["expires_at"] == "2026-03-02T16:00:00Z"  # 12 hours after the pinned clock
    token = body["token"]
    assert _me(client, token).json()["id"] == body["staff"]["id"]
    assert post_recharge(client, member_id, store_a, "200.00", headers=bearer(token)).status_code == 201
    assert_problem(post_recharge(client, member_id, other_store, "200.00", headers=bearer(token)), 403, "wrong_store")


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(client: TestClient, cashier: str) -> None:
    wrong_password = assert_problem(_login_response(client, cashier, "not the password"), 401, "login_failed")
    unknown_user = assert_problem(_login_response(client, "nobody", PASSWORD), 401, "login_failed")

    # then a guesser cannot tell a real username from an invented one
    assert wrong_password == unknown_user


def test_a_token_expires_12_hours_after_login(client: TestClient, cashier: str, clock: FixedClock) -> None:
    token = login(client, cashier)

    clock.advance(TWELVE_HOURS - timedelta(seconds=1))
    assert _me(client, token).status_code == 200

    clock.advance(timedelta(seconds=1))
    assert_problem(_me(client, token), 401, "unauthenticated")


def test_logout_ends_that_login_at_once_and_no_other(client: TestClient, cashier: str) -> None:
    # given the same cashier logged in at two tills
    first, second = login(client, cashier), login(client, cashier)

    # when
    response = client.post(f"{API}/auth/logout", headers=bearer(first))

    # then
    assert response.status_code == 204, response.text
    assert_problem(_me(client, first), 401, "unauthenticated")
    assert _me(client, second).status_code == 200


def _tampered_tokens(token: str, hq_staff_id: str, container: Container) -> dict[str, str]:
    header, payload, signature = token.split(".")
    claims = _claims(token)
    elevated = base64.urlsafe_b64encode(json.dumps({**claims, "sub": hq_staff_id}).encode()).decode().rstrip("=")
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    return {
        "a changed signature": f"{header}.{payload}.{flipped}",
        "claims changed under the old signature": f"{header}.{elevated}.{signature}",
        "signed with another secret": jwt.encode(claims, b"s" * 32, algorithm="HS256"),
        "unsigned (alg none)": jwt.encode(claims, None, algorithm="none"),
        "signed with the data key's other derivation": jwt.encode(
            claims, container.cipher.derive("something else"), algorithm="HS256"
        ),
        "no signature at all": f"{header}.{payload}.",
    }


def test_a_forged_or_tampered_token_is_refused(
    client: TestClient, container: Container, store_a: str, cashier: str
) -> None:
    # given a genuine token, and an HQ account whose id a forger would like to borrow
    token = login(client, cashier)
    hq_staff_id = str(create_staff(client, "boss", Role.HQ_ADMIN, None)["id"])

    for label, forged in _tampered_tokens(token, hq_staff_id, container).items():
        # when
        response = _me(client, forged)

        # then
        assert response.status_code == 401, (label, response.text)
        assert response.json()["code"] == "unauthenticated", label
    assert _me(client, token).status_code == 200


def test_a_disabled_staff_member_can_neither_log_in_nor_use_a_token_they_hold(
    client: TestClient, container: Container, cashier: str, clock: FixedClock
) -> None:
    # given
    token = login(client, cashier)

    # when HQ disables the account
    with container.database.write() as uow:
        uow.session.execute(update(Staff).where(Staff.username == cashier).values(disabled_at=clock.now()))

    # then
    assert_problem(_me(client, token), 401, "unauthenticated")
    assert_problem(_login_response(client, cashier), 401, "login_failed")


# ---------------------------------------------------------------- throttling


def test_five_failed_logins_lock_the_username_even_against_the_right_password(
    client: TestClient, cashier: str, store_a: str
) -> None:
    # given
    create_staff(client, "wang", Role.CASHIER, store_a)
    for _ in range(5):
        assert_problem(_login_response(client, cashier, "guess"), 401, "login_failed")

    # when
    response = _login_response(client, cashier, PASSWORD)

    # then
    assert_problem(response, 429, "rate_limited")
    assert 0 < int(response.headers["Retry-After"]) <= 15 * 60
    assert _login_response(client, "wang").status_code == 200  # another username is not locked


def test_a_right_password_is_not_counted_as_a_failure(client: TestClient, cashier: str) -> None:
    for _ in range(4):
        assert_problem(_login_response(client, cashier, "guess"), 401, "login_failed")

    for _ in range(3):
        assert _login_response(client, cashier).status_code == 200

    assert_problem(_login_response(client, cashier, "guess"), 401, "login_failed")  # the fifth failure
    assert_problem(_login_response(client, cashier), 429, "rate_limited")


def test_twenty_failures_from_one_address_lock_it_for_every_username(client: TestClient, store_a: str) -> None:
    # given four usernames guessed five times each from the same address
    for number in range(4):
        for _ in range(5):
            assert_problem(_login_response(client, f"guessed{number}", "guess"), 401, "login_failed")
    create_staff(client, "zhao", Role.CASHIER, store_a)

    # when someone at that address logs in with a right password
    response = _login_response(client, "zhao")

    # then
    assert_problem(response, 429, "rate_limited")
    assert int(response.headers["Retry-After"]) > 0


# ---------------------------------------------------------------- staff accounts


def test_hq_creates_staff_accounts_and_a_store_manager_may_not(
    client: TestClient, container: Container, store_a: str
) -> None:
    # when
    created = client.post(
        f"{API}/staff",
        json={
            "username": "chen",
            "password": PASSWORD,
            "display_name": "陈店长",
            "role": "store_manager",
            "store_id": store_a,
        },
    )
    by_manager = client.post(
        f"{API}/staff",
        json={"username": "sneaky", "password": PASSWORD, "display_name": "x", "role": "cashier", "store_id": store_a},
        headers=key_headers(container, Role.STORE_MANAGER, store_a),
    )

    # then
    assert created.status_code == 201, created.text
    assert created.json() == {
        "id": created.json()["id"],
        "username": "chen",
        "display_name": "陈店长",
        "role": "store_manager",
        "store_id": store_a,
        "disabled_at": None,
    }
    assert "password" not in created.text
    assert_problem(by_manager, 403, "forbidden")
    assert [s["username"] for s in client.get(f"{API}/staff").json()] == ["chen"]


@pytest.mark.parametrize("role", ["cashier", "store_manager"])
def test_a_cashier_or_store_manager_without_a_store_is_refused(client: TestClient, role: str) -> None:
    response = client.post(
        f"{API}/staff", json={"username": "nostore", "password": PASSWORD, "display_name": "x", "role": role}
    )

    assert_problem(response, 422, "store_required")


def test_a_username_is_taken_once(client: TestClient, store_a: str, cashier: str) -> None:
    response = client.post(
        f"{API}/staff",
        json={"username": cashier, "password": PASSWORD, "display_name": "x", "role": "cashier", "store_id": store_a},
    )

    assert_problem(response, 409, "username_taken")


def test_passwords_are_stored_only_as_argon2_hashes(client: TestClient, container: Container, cashier: str) -> None:
    with container.database.read() as session:
        stored = session.execute(select(Staff.password_hash).where(Staff.username == cashier)).scalar_one()

    assert stored.startswith("$argon2")
    assert PASSWORD not in stored


def test_the_login_cookie_serves_the_web_pages_until_logout(client: TestClient) -> None:
    # given a cashier who logs in from a browser (no Authorization header afterwards)
    store_id = open_store(client, "S701")
    create_staff(client, "web-cashier", Role.CASHIER, store_id)
    browser = TestClient(client.app)
    response = browser.post(f"{API}/auth/login", json={"username": "web-cashier", "password": PASSWORD})
    assert response.status_code == 200
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie

    # then the cookie alone identifies them
    assert browser.get(f"{API}/auth/me").json()["role"] == "cashier"

    # and after logout it no longer does
    assert browser.post(f"{API}/auth/logout").status_code == 204
    assert_problem(browser.get(f"{API}/auth/me"), 401, "unauthenticated")
