"""Retry storm: 100 tills send the same checkout with the same Idempotency-Key at the same moment.

The 64-request storm of tests/integration/test_concurrency.py, at 100 and on both databases (two API processes
on PostgreSQL, the single embedded process on SQLite). Exactly one checkout happens; every answer is that
checkout's answer, or a 409 "in progress" (`…_in_progress`) should the app ever answer a concurrent duplicate
that way instead of waiting for it (DineCard waits: see platform/idempotency.py).
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from pathlib import Path

import httpx
from sqlalchemy import func, select

from dinecard.platform.container import Container
from dinecard.platform.idempotency import IdempotencyRecord
from dinecard.security.models import AuditEntry
from dinecard.wallet.models import Checkout
from tests.conftest import make_token
from tests.integration.test_concurrency import (
    api_server,
    assert_reconciles,
    hammer,
    member_money,
    setup_member,
    unexpected,
)

STORM_REQUESTS = 100


def test_100_identical_checkouts_with_one_key_take_effect_once(container: Container, tmp_path: Path) -> None:
    # given a silver member (500 + 80) and an API key
    store_id, member_id = setup_member(container, "13900000003", 50_000)
    token = make_token(container)
    data_dir = tmp_path / "server"
    data_dir.mkdir()
    key = f"storm-{uuid.uuid4()}"
    body = {"store_id": store_id, "bill_total": "100.00", "balance_only": True}
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
    url_path = f"/api/v1/members/{member_id}/checkouts"
    workers = 2 if container.database.dialect == "postgresql" else 1

    with api_server(container.database.url, data_dir, workers=workers) as base_url:
        # when 100 tills send the same checkout with the same key at the same moment
        def send() -> httpx.Response:
            with httpx.Client(base_url=base_url, timeout=90, trust_env=False) as client:
                return client.post(url_path, json=body, headers=headers)

        responses = hammer([[send] for _ in range(STORM_REQUESTS)], seconds_max=120)

    # then every answer is the one checkout's answer or "in progress", and only one was not a replay
    assert unexpected(responses, set()) == []
    created = [r for r in responses if r.status_code == 201]
    in_progress = [r for r in responses if r.status_code == 409 and r.json().get("code", "").endswith("_in_progress")]
    assert len(created) + len(in_progress) == STORM_REQUESTS, Counter(
        (r.status_code, r.text[:120]) for r in responses if r not in created and r not in in_progress
    )
    assert created, "no request got the checkout's answer"
    assert len({json.dumps(r.json(), sort_keys=True) for r in created}) == 1
    assert Counter(r.headers.get("Idempotent-Replayed") for r in created) == {None: 1, "true": len(created) - 1}
    answer = created[0].json()
    assert answer["payable"] == "95.00" and answer["balance"]["total"] == "485.00"
    print(
        f"\n{container.database.dialect}: {len(created)} x 201 ({len(created) - 1} replays), {len(in_progress)} x 409"
    )

    # and the database holds exactly one checkout, one stored answer and one audit entry; 95.00 left once
    with container.database.read() as session:
        orders = session.execute(select(Checkout.order_no).where(Checkout.member_id == member_id)).scalars().all()
        records = session.execute(
            select(func.count()).select_from(IdempotencyRecord).where(IdempotencyRecord.key == key)
        ).scalar_one()
        audited = session.execute(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.order_no == answer["order_no"])
        ).scalar_one()
    assert orders == [answer["order_no"]]
    assert (records, audited) == (1, 1)
    assert member_money(container, member_id) == (50_000 - 8_190, 8_000 - 1_310)
    assert_reconciles(container)
