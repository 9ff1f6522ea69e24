"""HQ edits the recharge tiers in a form: a new programme version is in force; a bad tier saves nothing.

The helpers here (a store, a member, the API with the page's login) serve the other programme
screens' tests too (test_console_program_*.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from dinecard.coupons.models import CouponTemplate
from dinecard.members.service import RegisterMember, register_member
from dinecard.menu.models import Dish
from dinecard.platform.container import Container
from dinecard.program import service as program_service
from dinecard.security.domain import Role
from dinecard.shared.ids import new_ulid
from dinecard.shared.money import Money
from dinecard.stores.service import create_store
from tests.web.conftest import log_in, screenshot, staff_login


def a_store(container: Container, code: str = "P001", name: str = "南京路店") -> str:
    with container.database.write() as uow:
        return create_store(uow, code, name, container.clock.now()).id


def a_member(container: Container, phone: str = "13800138000") -> str:
    with container.database.write() as uow:
        return register_member(
            uow, container.cipher, container.program, RegisterMember(phone=phone, name="李雷"), container.clock.now()
        )


def api_post(page: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """The API, called with the page's login cookie (HQ may act at every store)."""
    answer = page.request.post(f"/api/v1{path}", data=body, headers={"Idempotency-Key": new_ulid()})
    assert answer.status == 201, answer.text()
    found: dict[str, Any] = answer.json()
    return found


def version_count(container: Container) -> int:
    return len(program_service.list_versions(container.database))


def message_by(page: Any, path: str) -> Any:
    """The message shown next to the input of a field (by its path in the programme document)."""
    return page.locator(f'.alert.field[data-field="{path}"]')


def open_program_part(page: Any, username: str, part: str) -> None:
    """Log in as HQ and open a part of the programme from the console's menu and the parts' tabs."""
    log_in(page, username)
    page.get_by_role("navigation", name="总部后台").get_by_role("link", name="会员方案").click()
    page.get_by_role("navigation", name="方案各部分").get_by_role("link", name=part).click()


def test_hq_gives_the_500_tier_a_bonus_of_100(page: Any, container: Container) -> None:
    store_id = a_store(container)
    member_id = a_member(container)
    staff_login(container, Role.HQ_ADMIN, "hq.zhou")
    versions_before = version_count(container)
    open_program_part(page, "hq.zhou", "充值档位")

    assert page.get_by_label("第 2 档 充值金额（元）").input_value() == "500.00"
    page.get_by_label("第 2 档 赠送金额（元）").fill("100")
    page.get_by_label("赠送金额分批到账").check()
    page.get_by_label("立即到账比例").fill("0.4")
    page.get_by_label("余下分几个月到账").fill("3")
    page.get_by_label("备注").fill("五百档加赠")
    page.get_by_role("button", name="保存为新版本").click()

    assert "已保存" in page.get_by_role("status").inner_text()
    tiers = {tier.amount: tier.bonus for tier in container.program.recharge.tiers}
    assert tiers[Money(50000)] == Money(10000)
    versions = program_service.list_versions(container.database)
    assert len(versions) == versions_before + 1 and versions[0].note == "五百档加赠"
    assert page.get_by_label("第 2 档 赠送金额（元）").input_value() == "100.00"
    page.get_by_role("link", name="方案概览").click()
    assert page.locator("table.versions").get_by_text("五百档加赠").is_visible()
    assert page.locator("table.tiers").get_by_text("¥100.00").is_visible()
    screenshot(page, "console-program")

    answer = page.request.get("/api/v1/program")  # the API, with the same login cookie, sees it too
    assert answer.ok
    document = answer.json()
    assert {"amount": "500.00", "bonus": "100.00", "points": 300} in document["program"]["recharge"]["tiers"]
    assert document["program"]["recharge"]["deferred_bonus"] == {"immediate_share": "0.4", "instalments": 3}

    body = {"amount": "500", "payment_method": "cash", "store_id": store_id}
    recharge = api_post(page, f"/members/{member_id}/recharges", body)
    assert (recharge["bonus"], recharge["bonus_now"], recharge["bonus_pending"]) == ("100.00", "40.00", "60.00")


def test_a_tier_of_nothing_shows_the_message_and_saves_nothing(page: Any, container: Container) -> None:
    staff_login(container, Role.HQ_ADMIN, "hq.wu")
    log_in(page, "hq.wu")
    page.goto("/console/program/tiers")
    versions_before = version_count(container)
    tiers_before = container.program.recharge.tiers

    page.get_by_role("button", name="增加一档").click()
    assert page.locator("table.tiers tbody tr").count() == len(tiers_before) + 1
    page.get_by_label(f"第 {len(tiers_before) + 1} 档 充值金额（元）").fill("5000")
    page.get_by_label("第 1 档 充值金额（元）").fill("0")
    page.get_by_role("button", name="保存为新版本").click()

    assert "充值金额必须大于零" in page.get_by_role("alert").first.inner_text()
    assert page.locator("table.tiers tbody tr").count() == len(tiers_before) + 1
    assert page.get_by_label("第 1 档 充值金额（元）").input_value() == "0"  # the form is kept

    page.get_by_label("第 1 档 充值金额（元）").fill("200")
    page.get_by_label("第 2 档 赠送积分").fill("三百")
    page.get_by_role("button", name="保存为新版本").click()
    assert message_by(page, "program.recharge.tiers.1.points").inner_text() == "请填写整数"
    assert page.get_by_label("第 2 档 赠送积分").get_attribute("aria-invalid") == "true"
    assert version_count(container) == versions_before
    container.programs.invalidate()
    assert container.program.recharge.tiers == tiers_before


def test_hq_creates_a_coupon_template_and_a_dish(page: Any, container: Container) -> None:
    staff_login(container, Role.HQ_ADMIN, "hq.zheng")
    log_in(page, "hq.zheng")

    page.goto("/console/coupons")
    page.get_by_label("模板编码").fill("MJ100-20")
    page.get_by_label("名称").fill("满100减20")
    page.get_by_label("类型").select_option("threshold_cash")
    page.get_by_label("面额（元，无门槛/满减）").fill("20")
    page.get_by_label("使用门槛（元，满减）").fill("10")  # below the value: refused, kept
    page.get_by_role("button", name="创建").click()
    assert "使用门槛不能低于面额" in page.get_by_role("alert").inner_text()  # our validator's words, in Chinese
    page.get_by_label("使用门槛（元，满减）").fill("100")
    page.get_by_role("button", name="创建").click()

    assert page.get_by_role("status").inner_text() == "已创建 MJ100-20"
    assert page.locator("table.coupon-templates").get_by_text("满100减20").is_visible()
    with container.database.read() as session:
        template = session.execute(select(CouponTemplate).where(CouponTemplate.code == "MJ100-20")).scalar_one()
    assert template.kind == "threshold_cash"

    page.get_by_role("link", name="菜品").click()
    page.get_by_label("菜品编号").fill("D001")
    page.get_by_label("菜名").fill("麻辣锅底")
    page.get_by_label("分类").fill("锅底")
    page.get_by_label("价格（元）").fill("58")
    page.get_by_role("button", name="添加").click()

    assert page.get_by_role("status").inner_text() == "已添加 D001"
    assert page.locator("table.dishes").get_by_text("¥58.00").is_visible()
    with container.database.read() as session:
        assert session.get(Dish, "D001") is not None


def test_hq_reads_the_mall_lotteries_and_audit_log(page: Any, container: Container) -> None:
    staff_login(container, Role.HQ_ADMIN, "hq.feng")
    log_in(page, "hq.feng")
    page.goto("/console/rewards")
    assert page.get_by_role("heading", name="积分商城", exact=True).is_visible()
    page.goto("/console/audit")
    assert page.get_by_role("heading", name="审计日志（最近 50 条）").is_visible()


def test_a_cashier_cannot_open_the_console(page: Any, container: Container) -> None:
    staff_login(container, Role.CASHIER, "cashier.qin")
    log_in(page, "cashier.qin")
    for path in ("/console", "/console/members", "/console/program", "/console/coupons"):
        page.goto(path)
        assert f"/login?next={path}" in page.url
