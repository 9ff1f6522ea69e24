"""Every API write leaves exactly one audit entry: who, from where, which route, before and after (R-SEC-3)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from dinecard.platform.container import Container
from dinecard.security import audit
from tests.api.helpers import API, checkout, open_store, post_checkout, post_recharge, recharge, refund, register
from tests.security.helpers import audit_count, audit_entries, last_entry, money_and_points

PHONE = "13812341234"
CALLER = {"User-Agent": "till-7/2.1", "X-Request-ID": "req-0001"}


def _written_once(container: Container, count_before: int) -> Any:
    """The one entry a write added."""
    assert audit_count(container) == count_before + 1
    return last_entry(container)


def test_each_write_records_who_where_what_and_the_balances_before_and_after(
    client: TestClient, container: Container
) -> None:
    # given a caller identifying itself and its request
    client.headers.update(CALLER)
    count = audit_count(container)

    # when a store opens
    store_id = open_store(client)
    entry = _written_once(container, count)
    # then the entry names the key, the address, the route and the new store
    assert (entry.actor_kind, entry.actor_name, entry.actor_role) == ("api_key", "test hq_admin", "hq_admin")
    assert entry.actor_id is not None
    assert (entry.ip, entry.user_agent, entry.request_id) == ("testclient", "till-7/2.1", "req-0001")
    assert entry.action == "POST /api/v1/stores"
    assert (entry.target_kind, entry.target_id) == ("store", store_id)
    assert entry.before is None and entry.after["code"] == "S001"

    # when a member registers
    member_id = register(client, PHONE, name="王芳", store_id=store_id)["id"]
    entry = _written_once(container, count + 1)
    assert entry.action == "POST /api/v1/members"
    assert (entry.target_kind, entry.target_id, entry.store_id) == ("member", member_id, store_id)
    assert entry.before is None and entry.after["phone_masked"] == "138****1234"

    # when they recharge 500: the entry holds the balances before and after
    recharged = recharge(client, member_id, store_id, "500.00")
    entry = _written_once(container, count + 2)
    assert entry.action == "POST /api/v1/members/{member_id}/recharges"
    assert (entry.target_id, entry.order_no, entry.store_id) == (member_id, recharged["order_no"], store_id)
    assert money_and_points(entry.before) == ("0.00", "normal", 0)
    assert money_and_points(entry.after) == ("580.00", "silver", 300)
    assert entry.before["balance"] == {"principal": "0.00", "bonus": "0.00", "total": "0.00"}
    assert entry.after["balance"] == {"principal": "500.00", "bonus": "80.00", "total": "580.00"}

    # when they check out 100.00 from the balance
    paid = checkout(client, member_id, store_id, "100.00", pay_with_balance=True)
    entry = _written_once(container, count + 3)
    assert entry.action == "POST /api/v1/members/{member_id}/checkouts"
    assert entry.order_no == paid["order_no"]
    assert money_and_points(entry.before) == ("580.00", "silver", 300)
    assert money_and_points(entry.after) == ("485.00", "silver", 414)

    # when the checkout is refunded: the order's member is the target, the refund its order
    refunded = refund(client, paid["order_no"])
    entry = _written_once(container, count + 4)
    assert entry.action == "POST /api/v1/orders/{order_no}/refunds"
    assert (entry.target_kind, entry.target_id) == ("member", member_id)
    assert entry.order_no == refunded["order_no"] and entry.after["original_order_no"] == paid["order_no"]
    assert money_and_points(entry.before) == ("485.00", "silver", 414)
    assert money_and_points(entry.after) == ("580.00", "silver", 300)

    # when the card is frozen
    assert client.post(f"{API}/members/{member_id}/freeze").status_code == 200
    entry = _written_once(container, count + 5)
    assert entry.action == "POST /api/v1/members/{member_id}/freeze"
    assert (entry.before["status"], entry.after["status"]) == ("active", "frozen")
    assert entry.before["balance"] == entry.after["balance"]

    # when the programme changes
    program = client.get(f"{API}/program").json()
    changed = client.put(f"{API}/program", json={"program": program["program"], "note": "same rules, new version"})
    assert changed.status_code == 201, changed.text
    entry = _written_once(container, count + 6)
    assert entry.action == "PUT /api/v1/program"
    assert (entry.target_kind, entry.target_id) == ("program", str(changed.json()["version"]))
    assert entry.after["version"] == changed.json()["version"]

    # and no entry anywhere holds the phone number
    for stored in audit_entries(container):
        assert PHONE not in json.dumps([stored.before, stored.after], ensure_ascii=False)


def test_an_idempotent_replay_records_nothing_new(client: TestClient, container: Container) -> None:
    # given a member and a recharge sent with an idempotency key
    store_id = open_store(client)
    member_id = register(client)["id"]
    headers = {"Idempotency-Key": "till-7-recharge-0001"}
    first = post_recharge(client, member_id, store_id, "200.00", headers=headers)
    count = audit_count(container)

    # when the till retries it twice
    replays = [post_recharge(client, member_id, store_id, "200.00", headers=headers) for _ in range(2)]

    # then the answers are the first one's and the log has no new entry
    assert first.status_code == 201
    assert all(r.headers.get("Idempotent-Replayed") == "true" for r in replays)
    assert audit_count(container) == count
    assert last_entry(container).order_no == first.json()["order_no"]


def test_a_refused_write_records_nothing(client: TestClient, container: Container) -> None:
    # given a member with nothing on the card
    store_id = open_store(client)
    member_id = register(client)["id"]
    count = audit_count(container)

    # when a balance-only checkout is refused
    refused = post_checkout(client, member_id, store_id, "100.00", balance_only=True)

    # then nothing changed, so nothing is logged
    assert refused.status_code == 409
    assert audit_count(container) == count


def test_a_new_api_key_is_logged_without_its_secret(client: TestClient, container: Container) -> None:
    # when an admin creates an API key over the API
    created = client.post(f"{API}/api-keys", json={"name": "POS 3", "role": "hq_admin"})

    # then the entry names the key, and the token shown once is not kept
    assert created.status_code == 201, created.text
    entry = last_entry(container)
    assert (entry.target_kind, entry.target_id) == ("api_key", created.json()["id"])
    assert entry.after["key"] == "[redacted]"
    assert created.json()["key"] not in json.dumps(entry.after)


RACERS = 6


def test_writes_racing_from_several_threads_are_each_logged_once_and_seal_into_one_chain(
    client: TestClient, container: Container
) -> None:
    # given six members at one store
    store_id = open_store(client)
    members = [register(client, f"1390000000{n}")["id"] for n in range(RACERS)]
    count = audit_count(container)

    # when each is recharged and checked out from its own thread, all at once
    def shop(member_id: str) -> None:
        recharge(client, member_id, store_id, "200.00")
        checkout(client, member_id, store_id, "50.00")

    with ThreadPoolExecutor(RACERS) as pool:
        list(pool.map(shop, members))

    # then there is one entry per write, with each member's own balances before and after
    entries = audit_entries(container)[count:]
    assert len(entries) == 2 * RACERS
    for member_id in members:
        mine = [e for e in entries if e.target_id == member_id]
        assert [money_and_points(e.before)[0] for e in mine] == ["0.00", "220.00"]
        assert [money_and_points(e.after)[0] for e in mine] == ["220.00", mine[1].after["balance"]["total"]]
    # and sealing leaves nothing out and verifies
    while audit.seal_pending(container.database, container.clock.now() + timedelta(seconds=10)).sealed:
        pass
    report = audit.verify(container.database)
    assert report.ok, report.problems
    assert report.unsealed == 0 and report.sealed == audit_count(container)
