"""HQ in the console (总部后台): today's figures, a member's record and adjustment, the programme's
tiers, coupon templates and dishes — each through the same services as the API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from dinecard.members.service import RegisterMember, member_view, register_member
from dinecard.platform.container import Container
from dinecard.security.domain import Role
from dinecard.security.models import AuditEntry
from dinecard.shared.clock import FixedClock
from dinecard.shared.money import Money
from dinecard.stores.service import create_store
from dinecard.wallet import service as wallet
from tests.web.conftest import log_in, screenshot, staff_login

PHONE = "13800138000"


def _store(container: Container) -> str:
    with container.database.write() as uow:
        return create_store(uow, "C001", "南京路店", container.clock.now()).id


def _member(container: Container, phone: str = PHONE, name: str = "李雷") -> str:
    with container.database.write() as uow:
        return register_member(
            uow, container.cipher, container.program, RegisterMember(phone=phone, name=name), container.clock.now()
        )


def _recharge(container: Container, member_id: str, store_id: str, yuan: int) -> None:
    command = wallet.RechargeCommand(member_id, store_id, Money(yuan * 100), wallet.PaymentMethod.WECHAT)
    with container.database.write() as uow:
        wallet.recharge(uow, container.program, command, container.clock.now())


def _checkout(container: Container, member_id: str, store_id: str, yuan: int) -> Money:
    command = wallet.CheckoutCommand(member_id, store_id, Money(yuan * 100))
    with container.database.write() as uow:
        return wallet.checkout(uow, container.program, command, container.clock.now()).payable


def test_hq_sees_todays_figures_on_the_dashboard(page: Any, container: Container, clock: FixedClock) -> None:
    store_id = _store(container)
    clock.advance(timedelta(days=-3))
    earlier = _member(container, "13900139000", "韩梅梅")
    _recharge(container, earlier, store_id, 500)  # three days ago: in the chart, not in today's figures
    clock.advance(timedelta(days=3))
    member_id = _member(container)
    _recharge(container, member_id, store_id, 1000)
    _recharge(container, member_id, store_id, 200)
    payable = _checkout(container, member_id, store_id, 100)
    staff_login(container, Role.HQ_ADMIN, "hq.zhao")

    log_in(page, "hq.zhao")

    assert page.url.endswith("/console")
    assert page.locator('[data-figure="recharged"] .figure').inner_text() == "¥1,200.00"
    assert page.locator('[data-figure="recharged"]').get_by_text("2 笔").is_visible()
    assert page.locator('[data-figure="consumed"] .figure').inner_text() == f"¥{payable.yuan()}"
    assert page.locator('[data-figure="new-members"] .figure').inner_text() == "1"
    recharge_bars = page.locator("#chart-recharge + svg rect")
    assert recharge_bars.count() == 30
    assert recharge_bars.nth(26).locator("title").text_content() == f"{_day(clock, -3)}: ¥500.00"
    assert recharge_bars.nth(29).locator("title").text_content() == f"{_day(clock, 0)}: ¥1,200.00"
    screenshot(page, "console-dashboard")


def _day(clock: FixedClock, offset: int) -> str:
    from dinecard.shared.calendar import local_date

    return (local_date(clock.now(), "Asia/Shanghai") + timedelta(days=offset)).isoformat()


def test_hq_finds_a_member_by_phone_and_adjusts_the_balance(page: Any, container: Container) -> None:
    store_id = _store(container)
    member_id = _member(container)
    _recharge(container, member_id, store_id, 200)
    _checkout(container, member_id, store_id, 50)
    staff_login(container, Role.HQ_ADMIN, "hq.qian")
    log_in(page, "hq.qian")

    page.get_by_role("link", name="会员", exact=True).click()
    page.get_by_label("手机号或卡号").fill(PHONE)
    page.get_by_role("button", name="查询").click()

    assert page.url.endswith(f"/console/members/{member_id}")
    assert page.get_by_role("heading", name="会员详情 · 李雷").is_visible()
    assert page.locator("table.money-history tbody tr").count() == 2  # the recharge and the checkout
    assert page.locator("table.points-history tbody tr").count() >= 1
    before = _balances(container, member_id)
    assert page.locator('[data-field="principal"]').inner_text() == f"¥{before.principal.yuan()}"

    page.get_by_label("本金（元，可为负）").fill("20")
    page.get_by_label("积分（可为负）").fill("50")
    page.get_by_label("调整原因（必填）").fill("顾客投诉补偿")
    page.get_by_role("button", name="确认调整").click()

    assert page.get_by_role("status").inner_text().startswith("调整完成")
    after = _balances(container, member_id)
    assert after.principal == before.principal + Money(2000)
    assert after.points_usable == before.points_usable + 50
    assert page.locator('[data-field="principal"]').inner_text() == f"¥{after.principal.yuan()}"
    assert page.locator("table.money-history tbody tr").count() == 3
    assert page.locator("table.audit-entries").get_by_text("/adjustments").count() == 1
    with container.database.read() as session:
        entry = session.execute(select(AuditEntry).where(AuditEntry.target_id == member_id)).scalars().one()
    assert entry.actor_name == "hq.qian" and "adjustments" in entry.action
    screenshot(page, "console-member")

    page.get_by_label("调整原因（必填）").fill("")
    page.get_by_label("本金（元，可为负）").fill("-99999")
    page.get_by_label("调整原因（必填）").fill("扣错了")
    page.get_by_role("button", name="确认调整").click()
    assert page.get_by_role("alert").inner_text().startswith("操作未完成")
    assert page.get_by_label("调整原因（必填）").input_value() == "扣错了"  # the form is kept
    assert _balances(container, member_id).principal == after.principal


def _balances(container: Container, member_id: str) -> Any:
    with container.database.read() as session:
        return member_view(session, container.cipher, container.program, member_id, container.clock.now())


def test_an_unknown_phone_says_so(page: Any, container: Container) -> None:
    staff_login(container, Role.HQ_ADMIN, "hq.sun")
    log_in(page, "hq.sun")
    page.goto("/console/members?q=13700000000")
    assert page.get_by_role("status").inner_text() == "未找到会员"
