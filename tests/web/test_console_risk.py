"""HQ reviews risk events in the console (风险事件): a burst of small recharges made through the API
by a POS key is found by the worker's risk scan, listed, filtered by store, kind and status, opened
with its member linked, and marked handled with a note; other roles cannot open the screen."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import select

from dinecard.platform.container import Container
from dinecard.security import risk
from dinecard.security.domain import Role
from dinecard.security.models import AuditEntry, RiskEvent, Staff
from dinecard.security.risk_events import Finding, Severity, raise_all
from dinecard.security.service import create_api_key
from dinecard.stores.service import create_store
from tests.web.conftest import log_in, screenshot, staff_login


def _store_with_key(container: Container, code: str, name: str) -> tuple[str, str]:
    """A store and its POS key (a cashier key, as a till system would hold)."""
    with container.database.write() as uow:
        store_id = create_store(uow, code, name, container.clock.now()).id
        _key_id, token = create_api_key(uow, f"{name} POS", Role.CASHIER, store_id, container.clock.now())
    return store_id, token


def _small_recharges_through_the_api(live_server: str, token: str, store_id: str, phone: str) -> str:
    """A member registered at the till, then five recharges of ¥10 (below the ¥50 line) in a row."""
    # A generous timeout: the suite may share the machine with heavier tests.
    with httpx.Client(base_url=live_server, headers={"Authorization": f"Bearer {token}"}, timeout=30) as api:
        registered = api.post("/api/v1/members", json={"phone": phone, "name": "王小明"})
        assert registered.status_code == 201, registered.text
        member_id: str = registered.json()["id"]
        for _ in range(5):
            body = {"amount": "10.00", "payment_method": "cash", "store_id": store_id}
            assert api.post(f"/api/v1/members/{member_id}/recharges", json=body).status_code == 201
    return member_id


def _event(container: Container, event_id: int) -> RiskEvent:
    with container.database.read() as session:
        event = session.get(RiskEvent, event_id)
        assert event is not None
        return event


def test_hq_finds_a_burst_of_small_recharges_and_marks_it_handled(
    page: Any, container: Container, live_server: str
) -> None:
    store_a, token_a = _store_with_key(container, "C001", "南京路店")
    store_b, token_b = _store_with_key(container, "C002", "徐家汇店")
    member_a = _small_recharges_through_the_api(live_server, token_a, store_a, "13800138001")
    _small_recharges_through_the_api(live_server, token_b, store_b, "13800138002")
    assert risk.scan_recent(container) == {"small_recharges": 2}  # the worker's frequent scan
    with container.database.read() as session:
        event_a = session.execute(select(RiskEvent).where(RiskEvent.store_id == store_a)).scalar_one()
    assert (event_a.kind, event_a.member_id, event_a.status) == ("small_recharges", member_a, "open")

    staff_login(container, Role.HQ_ADMIN, "hq.zhou")
    log_in(page, "hq.zhou")
    page.get_by_role("link", name="风险事件").click()
    rows = page.locator("table.risk-events tbody tr")
    assert rows.count() == 2  # open ones by default
    assert rows.first.get_by_text("短时间多笔小额充值").is_visible()

    page.get_by_label("门店").select_option(label="C001 南京路店")
    page.get_by_label("类型").select_option("small_recharges")
    page.get_by_role("button", name="筛选").click()
    assert rows.count() == 1
    row = page.locator(f'tr[data-event="{event_a.id}"]')
    assert row.get_by_text("C001 南京路店").is_visible() and row.get_by_text("待处理").is_visible()
    assert row.get_by_role("link", name="查看会员").get_attribute("href") == f"/console/members/{member_a}"
    screenshot(page, "console-risk")

    row.get_by_role("link", name=f"查看 #{event_a.id}").click()
    assert page.get_by_role("heading", name=f"风险事件 #{event_a.id} · 短时间多笔小额充值").is_visible()
    details = page.locator("dl.risk-details")
    assert details.get_by_text("充值笔数").is_visible()
    assert details.locator("dd").first.inner_text() == "5"
    assert details.get_by_text("¥50.00").is_visible()

    page.get_by_role("button", name="标记为已处理").click()  # no note: refused, nothing changes
    note_error = page.locator("#note-error").inner_text()
    assert re.search(r"[\u4e00-\u9fff]", note_error) and not re.search(r"[A-Za-z]{3,}", note_error), note_error
    assert page.get_by_label("处理说明（必填）").get_attribute("aria-invalid") == "true"
    assert _event(container, event_a.id).status == "open"

    page.get_by_label("处理说明（必填）").fill("已电话核实：会员分次试用小额充值，非套现")
    page.get_by_role("button", name="标记为已处理").click()
    assert page.get_by_role("status").inner_text() == "已标记为已处理"
    assert page.locator('[data-field="status"]').inner_text() == "已处理"
    assert page.locator('[data-field="resolved-by"]').inner_text() == "hq.zhou"
    handled = _event(container, event_a.id)
    with container.database.read() as session:
        hq_id = session.execute(select(Staff.id).where(Staff.username == "hq.zhou")).scalar_one()
        [entry] = session.execute(
            select(AuditEntry).where(AuditEntry.action == "POST /console/risk/{event_id}/resolve")
        ).scalars()
    assert (handled.status, handled.resolved_by) == ("resolved", hq_id)
    assert handled.resolution_note == "已电话核实：会员分次试用小额充值，非套现"
    assert (entry.actor_id, entry.target_id) == (hq_id, str(event_a.id))
    assert page.get_by_role("button", name="标记为已处理").count() == 0  # handled once
    screenshot(page, "console-risk-event")

    page.get_by_role("link", name="查看会员").click()
    assert page.url.endswith(f"/console/members/{member_a}")
    assert page.get_by_role("heading", name="会员详情 · 王小明").is_visible()

    page.goto(f"/console/risk?status=open&store_id={store_a}")
    assert page.get_by_text("没有符合条件的风险事件").is_visible()
    page.goto(f"/console/risk?status=resolved&store_id={store_a}")
    assert page.locator(f'tr[data-event="{event_a.id}"]').get_by_text("已处理").is_visible()
    page.goto("/console/risk")
    assert page.locator("table.risk-events tbody tr").count() == 1  # store B's is still open
    with container.database.read() as session:
        event_b = session.execute(select(RiskEvent).where(RiskEvent.store_id == store_b)).scalar_one()
    assert event_b.status == "open"
    assert page.locator(f'tr[data-event="{event_b.id}"]').get_by_text("C002 徐家汇店").is_visible()


def test_an_unknown_event_is_not_found(page: Any, container: Container) -> None:
    staff_login(container, Role.HQ_ADMIN, "hq.lu")
    log_in(page, "hq.lu")
    answer = page.goto("/console/risk/999")
    assert answer is not None and answer.status == 404
    assert page.get_by_text("风险事件不存在").is_visible()


def test_a_cashier_cannot_open_or_resolve_risk_events(page: Any, container: Container) -> None:
    with container.database.write() as uow:
        store_id = create_store(uow, "C003", "静安寺店", container.clock.now()).id
    finding = Finding("odd_hours", Severity.INFO, "odd_hours:test", {"operations": 1}, store_id=store_id)
    assert raise_all(container, [finding]) == {"odd_hours": 1}
    with container.database.read() as session:
        event_id = session.execute(select(RiskEvent.id)).scalar_one()
    staff_login(container, Role.CASHIER, "cashier.tan", store_id)
    log_in(page, "cashier.tan")
    for path in ("/console/risk", f"/console/risk/{event_id}"):
        page.goto(path)
        assert f"/login?next={path}" in page.url
    answer = page.request.post(f"/console/risk/{event_id}/resolve", form={"note": "我来处理"}, max_redirects=0)
    assert answer.status == 303 and answer.headers["location"].startswith("/login")
    assert _event(container, event_id).status == "open"
