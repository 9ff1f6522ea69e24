"""HQ reviews risk events and alerts over HTTP; no other role may (R-SEC-1, R-SEC-4)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from dinecard.platform.container import Container
from dinecard.security.domain import Role
from dinecard.security.risk_events import Category, Finding, Severity, raise_all
from dinecard.security.service import create_api_key
from tests.api.helpers import API, assert_problem, checkout, register
from tests.conftest import make_token
from tests.ops.conftest import risk_events, scan

EVENTS = f"{API}/risk-events"


def _seed(container: Container) -> None:
    """A risk, an alert, then another risk (ids ascending in that order)."""
    raise_all(container, [Finding("small_recharges", Severity.WARNING, "test:1", {"recharges": 5})])
    raise_all(
        container,
        [Finding("reconciliation_failed", Severity.CRITICAL, "test:2", {"failed_checks": {}}, Category.ALERT)],
    )
    raise_all(container, [Finding("odd_hours", Severity.INFO, "test:3", {"operations": 1})])


def test_hq_lists_events_newest_first_filtered_and_paged(client: TestClient, container: Container) -> None:
    _seed(container)
    everything = client.get(EVENTS).json()
    assert [event["kind"] for event in everything["items"]] == ["odd_hours", "reconciliation_failed", "small_recharges"]
    assert everything["next_before"] is None
    alerts = client.get(EVENTS, params={"status": "open", "category": "alert"}).json()["items"]
    assert [(event["kind"], event["severity"]) for event in alerts] == [("reconciliation_failed", "critical")]
    first_page = client.get(EVENTS, params={"limit": 2}).json()
    second_page = client.get(EVENTS, params={"limit": 2, "before": first_page["next_before"]}).json()
    assert [event["kind"] for event in first_page["items"] + second_page["items"]] == [
        event["kind"] for event in everything["items"]
    ]
    assert second_page["next_before"] is None


def test_hq_resolves_an_open_event_with_a_note(client: TestClient, container: Container) -> None:
    _seed(container)
    [event] = client.get(EVENTS, params={"category": "alert"}).json()["items"]
    response = client.post(f"{EVENTS}/{event['id']}/resolve", json={"note": "balance corrected by a reversal"})
    assert response.status_code == 200, response.text
    resolved = response.json()
    assert (resolved["status"], resolved["resolution_note"]) == ("resolved", "balance corrected by a reversal")
    assert resolved["resolved_by"] and resolved["resolved_at"]
    assert [e["id"] for e in client.get(EVENTS, params={"status": "resolved"}).json()["items"]] == [event["id"]]
    assert len(client.get(EVENTS, params={"status": "open"}).json()["items"]) == 2


def test_resolving_twice_is_a_conflict_and_an_unknown_event_is_not_found(
    client: TestClient, container: Container
) -> None:
    _seed(container)
    event_id = client.get(EVENTS).json()["items"][0]["id"]
    assert client.post(f"{EVENTS}/{event_id}/resolve", json={"note": "ok"}).status_code == 200
    assert_problem(
        client.post(f"{EVENTS}/{event_id}/resolve", json={"note": "again"}), 409, "risk_event_already_resolved"
    )
    assert_problem(client.post(f"{EVENTS}/999999/resolve", json={"note": "x"}), 404, "risk_event_not_found")


def test_a_retried_resolve_with_the_same_key_is_answered_the_same(client: TestClient, container: Container) -> None:
    _seed(container)
    event_id = client.get(EVENTS).json()["items"][0]["id"]
    headers = {"Idempotency-Key": "resolve-once-1"}
    first = client.post(f"{EVENTS}/{event_id}/resolve", json={"note": "ok"}, headers=headers)
    second = client.post(f"{EVENTS}/{event_id}/resolve", json={"note": "ok"}, headers=headers)
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json() == second.json()


def test_bad_filters_and_empty_notes_are_refused(client: TestClient, container: Container) -> None:
    _seed(container)
    event_id = client.get(EVENTS).json()["items"][0]["id"]
    assert client.get(EVENTS, params={"status": "closed"}).status_code == 422
    assert client.get(EVENTS, params={"category": "fraud"}).status_code == 422
    assert client.get(EVENTS, params={"limit": 0}).status_code == 422
    assert client.post(f"{EVENTS}/{event_id}/resolve", json={"note": "   "}).status_code == 422
    assert client.post(f"{EVENTS}/{event_id}/resolve", json={}).status_code == 422
    assert client.post(f"{EVENTS}/{2**63}/resolve", json={"note": "x"}).status_code == 422


def test_only_hq_may_list_or_resolve(client: TestClient, container: Container, store_id: str) -> None:
    _seed(container)
    event_id = client.get(EVENTS).json()["items"][0]["id"]
    for role in (Role.CASHIER, Role.STORE_MANAGER):
        headers = {"Authorization": f"Bearer {make_token(container, role, store_id)}"}
        assert_problem(client.get(EVENTS, headers=headers), 403, "forbidden")
        assert_problem(
            client.post(f"{EVENTS}/{event_id}/resolve", json={"note": "x"}, headers=headers), 403, "forbidden"
        )
    del client.headers["Authorization"]
    assert client.get(EVENTS).status_code == 401
    assert [event.status for event in risk_events(container)] == ["open"] * 3


def test_refunds_by_one_cashier_key_over_the_api_raise_one_event_naming_the_key(
    client: TestClient, container: Container, store_id: str
) -> None:
    # given a cashier's key at the store
    with container.database.write() as uow:
        key_id, token = create_api_key(uow, "till 3", Role.CASHIER, store_id, container.clock.now())
    cashier = {"Authorization": f"Bearer {token}"}
    orders = []
    for index in range(6):
        member_id = register(client, f"1390000090{index}", store_id=store_id)["id"]
        orders.append(checkout(client, member_id, store_id, "10.00", pay_with_balance=False)["order_no"])
    # when the cashier refunds six of them within the hour
    for order_no in orders:
        response = client.post(f"{API}/orders/{order_no}/refunds", json={}, headers=cashier)
        assert response.status_code == 201, response.text
    # then
    assert scan(container) == {"refunds_by_actor": 1}
    [event] = client.get(EVENTS, params={"category": "risk"}).json()["items"]
    assert (event["kind"], event["actor_id"], event["store_id"]) == ("refunds_by_actor", key_id, store_id)
