"""The shift handover per cashier (交班, R-CMP-5): two cashiers ring up at one store at the same time,
each handover shows only that cashier's recharges (by tender), checkouts (balance, other tender,
points, coupons), refunds and drawer cash; the store manager sees the store, cashier by cashier."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from dinecard.members.service import RegisterMember, register_member
from dinecard.platform.container import Container
from dinecard.security.domain import Role
from dinecard.shared.clock import FixedClock
from tests.web.conftest import log_in, screenshot, staff_login


@pytest.fixture
def second_till(browser: Any, live_server: str) -> Iterator[Any]:
    """Another till's browser, next to `page`: its own cookies."""
    context = browser.new_context(base_url=live_server, locale="zh-CN", viewport={"width": 1280, "height": 860})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def _member(container: Container, store_id: str, phone: str) -> str:
    with container.database.write() as uow:
        return register_member(
            uow,
            container.cipher,
            container.program,
            RegisterMember(phone=phone, store_id=store_id),
            container.clock.now(),
        )


def _recharge(page: Any, member_id: str, method: str, tier: str) -> None:
    page.goto(f"/till/members/{member_id}")
    page.locator("label.till-method", has_text=method).click()  # the big button a cashier taps
    assert page.get_by_role("radio", name=method).is_checked()
    page.get_by_role("button", name=re.compile(tier)).click()
    page.wait_for_url("**/till/receipts/*")


def _checkout(page: Any, member_id: str, total: str, *, from_balance: bool, payable: str) -> None:
    page.goto(f"/till/members/{member_id}")
    page.get_by_label("账单金额（元）").fill(total)
    page.get_by_label("使用储值余额支付").set_checked(from_balance)
    page.wait_for_function(f"document.getElementById('q-payable').textContent === '{payable}'")
    page.get_by_role("button", name="确认结账").click()
    page.wait_for_url("**/till/receipts/C*")


def _figures(page: Any) -> dict[str, str]:
    names = ["recharge-count", "recharge-amount", "checkout-count", "payable", "from-balance", "other"]
    names += ["refund-count", "refund-amount", "cash"]
    return {name: page.locator(f"#shift-{name}").inner_text() for name in names}


def test_two_cashiers_of_one_store_each_see_their_own_shift(
    page: Any, second_till: Any, container: Container, clock: FixedClock
) -> None:
    store_id = staff_login(container, Role.CASHIER, "cashier.shift.a")
    staff_login(container, Role.CASHIER, "cashier.shift.b", store_id)
    staff_login(container, Role.STORE_MANAGER, "manager.shift", store_id)
    first = _member(container, store_id, "13912340011")
    second = _member(container, store_id, "13912340012")
    log_in(page, "cashier.shift.a")
    page.wait_for_url("**/till")
    log_in(second_till, "cashier.shift.b")
    second_till.wait_for_url("**/till")

    # A: a cash recharge of 200, a checkout of 50 from the balance, and a refund of 20 of it.
    _recharge(page, first, "现金", "充200送20")
    clock.advance(timedelta(minutes=5))
    _checkout(page, first, "50", from_balance=True, payable="¥50.00")
    page.get_by_label("退款金额（元，留空为全部）").fill("20")
    page.get_by_role("button", name="确认退款").click()
    page.wait_for_url("**/till/receipts/F*")
    # B, at the same time: a WeChat recharge of 500 and a checkout of 30 paid in cash.
    _recharge(second_till, second, "微信", "充500送80")
    _checkout(second_till, second, "30", from_balance=False, payable="¥28.50")  # silver now: 9.5折

    page.goto("/till/shift")
    assert page.locator("#shift-cashier").inner_text() == "cashier.shift.a"
    assert _figures(page) == {
        "recharge-count": "1",
        "recharge-amount": "¥200.00",
        "checkout-count": "1",
        "payable": "¥50.00",
        "from-balance": "¥50.00",
        "other": "¥0.00",
        "refund-count": "1",
        "refund-amount": "¥20.00",
        "cash": "¥200.00",
    }
    assert "现金" in page.locator("#shift-recharges").inner_text()
    assert "微信" not in page.locator("#shift-recharges").inner_text()
    screenshot(page, "till-shift-handover")

    second_till.goto("/till/shift")
    assert second_till.locator("#shift-cashier").inner_text() == "cashier.shift.b"
    assert _figures(second_till) == {
        "recharge-count": "1",
        "recharge-amount": "¥500.00",
        "checkout-count": "1",
        "payable": "¥28.50",
        "from-balance": "¥0.00",
        "other": "¥28.50",
        "refund-count": "0",
        "refund-amount": "¥0.00",
        "cash": "¥28.50",  # the WeChat recharge is not in the drawer; the cash bill is
    }

    # A logs in again: "since this login" starts over, "today" still has A's business (and only A's).
    page.get_by_role("button", name="退出登录").click()
    clock.advance(timedelta(minutes=5))
    log_in(page, "cashier.shift.a")
    page.goto("/till/shift")
    assert page.locator("#shift-recharge-count").inner_text() == "0"
    page.get_by_role("link", name="今日营业").click()
    assert page.locator("#shift-recharge-amount").inner_text() == "¥200.00"
    assert page.locator("#shift-checkout-count").inner_text() == "1"
    assert page.get_by_role("link", name="全店今日").count() == 0  # the store view is the manager's

    # The manager sees the whole store today, cashier by cashier.
    page.get_by_role("button", name="退出登录").click()
    log_in(page, "manager.shift")
    page.goto("/till/shift?view=store")
    assert page.locator("#shift-recharge-amount").inner_text() == "¥700.00"
    assert page.locator("#shift-checkout-count").inner_text() == "2"
    rows = page.locator("#shift-by-cashier tbody tr")
    assert rows.count() == 2
    assert re.sub(r"\s+", " ", rows.nth(0).inner_text()).startswith("cashier.shift.a ¥200.00 (1) ¥50.00 (1)")
    assert re.sub(r"\s+", " ", rows.nth(1).inner_text()).startswith("cashier.shift.b ¥500.00 (1) ¥28.50 (1)")
    screenshot(page, "till-shift-store")
