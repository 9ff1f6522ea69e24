"""HQ runs accounts and keys (R-SEC-1): a revoked key and a disabled account are refused at once;
a new password ends the old logins; a store is renamed; risk events are listed per store."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from dinecard.platform.container import Container
from dinecard.security.domain import Role
from dinecard.security.models import ApiKey
from dinecard.security.risk_events import Finding, Severity, raise_all
from dinecard.security.service import Authenticator
from dinecard.shared.clock import FixedClock
from tests.api.helpers import API, assert_problem, open_store
from tests.conftest import make_token
from tests.security_access.helpers import PASSWORD, bearer, create_staff, login


def test_a_revoked_key_is_refused_at_once_and_listed_as_revoked(client: TestClient, container: Container) -> None:
    store_id = open_store(client, "R001")
    created = client.post(f"{API}/api-keys", json={"name": "POS 1", "role": "cashier", "store_id": store_id}).json()
    pos = bearer(created["key"])
    assert client.get(f"{API}/stores", headers=pos).status_code == 200  # remembered by the authenticator

    listed = {key["id"]: key for key in client.get(f"{API}/api-keys").json()}
    assert listed[created["id"]]["prefix"] == created["key"][3:].split(".")[0]
    assert created["key"] not in str(listed) and listed[created["id"]]["revoked_at"] is None

    revoked = client.post(f"{API}/api-keys/{created['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert_problem(client.get(f"{API}/stores", headers=pos), 401, "unauthenticated")
    again = client.post(f"{API}/api-keys/{created['id']}/revoke")
    assert again.status_code == 200 and again.json()["revoked_at"] == revoked.json()["revoked_at"]
    assert_problem(client.post(f"{API}/api-keys/NOSUCHKEY/revoke"), 404, "api_key_not_found")


def test_hq_sees_when_each_key_was_last_used_written_at_most_every_five_minutes(
    client: TestClient, container: Container, clock: FixedClock
) -> None:
    # given a new till key, never used yet
    store_id = open_store(client, "R003")
    created = client.post(f"{API}/api-keys", json={"name": "POS 3", "role": "cashier", "store_id": store_id}).json()
    pos = bearer(created["key"])

    def last_used() -> Any:
        return {key["id"]: key for key in client.get(f"{API}/api-keys").json()}[created["id"]]["last_used_at"]

    def stored() -> datetime | None:
        with container.database.read() as session:
            key = session.get(ApiKey, created["id"])
            assert key is not None
            return key.last_used_at

    assert last_used() is None

    # when the till uses it, then its last use is now
    first = clock.now()
    assert client.get(f"{API}/stores", headers=pos).status_code == 200
    assert stored() == first and last_used() == first.isoformat().replace("+00:00", "Z")

    # a use four minutes later is not written (one write per key and process per five minutes),
    clock.advance(timedelta(minutes=4))
    assert client.get(f"{API}/stores", headers=pos).status_code == 200
    assert stored() == first
    # nor by another API process whose own memory is empty (the database keeps the five minutes too)
    other_process = Authenticator(container.database, container.token_secret, clock)
    other_process.authenticate(created["key"])
    assert stored() == first

    # and a use six minutes after the first is
    clock.advance(timedelta(minutes=2))
    assert client.get(f"{API}/stores", headers=pos).status_code == 200
    assert stored() == first + timedelta(minutes=6)


def test_a_disabled_account_loses_its_logins_until_enabled(client: TestClient, container: Container) -> None:
    store_id = open_store(client, "R002")
    account = create_staff(client, "cashier.off", Role.CASHIER, store_id)
    token = login(client, "cashier.off")
    assert client.get(f"{API}/auth/me", headers=bearer(token)).status_code == 200

    disabled = client.post(f"{API}/staff/{account['id']}/disable")
    assert disabled.status_code == 200 and disabled.json()["disabled_at"] is not None
    assert_problem(client.get(f"{API}/auth/me", headers=bearer(token)), 401, "unauthenticated")
    refused = client.post(f"{API}/auth/login", json={"username": "cashier.off", "password": PASSWORD})
    assert_problem(refused, 401, "login_failed")
    [listed] = [s for s in client.get(f"{API}/staff").json() if s["id"] == account["id"]]
    assert listed["disabled_at"]

    enabled = client.post(f"{API}/staff/{account['id']}/enable")
    assert enabled.status_code == 200 and enabled.json()["disabled_at"] is None
    assert client.get(f"{API}/auth/me", headers=bearer(login(client, "cashier.off"))).status_code == 200
    assert_problem(client.post(f"{API}/staff/NOSUCHSTAFF/disable"), 404, "staff_not_found")


def test_hq_cannot_disable_its_own_account(client: TestClient, container: Container) -> None:
    account = create_staff(client, "hq.self", Role.HQ_ADMIN, None)
    own = bearer(login(client, "hq.self"))
    assert_problem(client.post(f"{API}/staff/{account['id']}/disable", headers=own), 409, "staff_self_disable")


def test_a_new_password_ends_the_old_logins(client: TestClient, container: Container) -> None:
    store_id = open_store(client, "R003")
    account = create_staff(client, "cashier.pw", Role.CASHIER, store_id)
    token = login(client, "cashier.pw")
    short = client.post(f"{API}/staff/{account['id']}/password", json={"password": "short"})
    assert short.status_code == 422

    assert client.post(f"{API}/staff/{account['id']}/password", json={"password": "a new password"}).status_code == 200
    assert_problem(client.get(f"{API}/auth/me", headers=bearer(token)), 401, "unauthenticated")
    wrong = client.post(f"{API}/auth/login", json={"username": "cashier.pw", "password": PASSWORD})
    assert_problem(wrong, 401, "login_failed")
    assert login(client, "cashier.pw", "a new password")


def test_a_store_is_renamed_and_risk_events_are_listed_by_store(client: TestClient, container: Container) -> None:
    store_a, store_b = open_store(client, "R004"), open_store(client, "R005")
    renamed = client.patch(f"{API}/stores/{store_a}", json={"name": "新名字店"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "新名字店"
    assert_problem(client.patch(f"{API}/stores/NOSUCHSTORE", json={"name": "x"}), 404, "store_not_found")
    cashier = bearer(make_token(container, Role.CASHIER, store_a))
    assert_problem(client.patch(f"{API}/stores/{store_a}", json={"name": "x"}, headers=cashier), 403, "forbidden")

    findings = [Finding("odd_hours", Severity.INFO, f"odd_hours:{s}", store_id=s) for s in (store_a, store_b)]
    assert raise_all(container, findings) == {"odd_hours": 2}
    items = client.get(f"{API}/risk-events", params={"store_id": store_b}).json()["items"]
    assert [item["store_id"] for item in items] == [store_b]
