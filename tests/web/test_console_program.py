"""HQ edits the recharge tiers in a form: a new programme version is in force; a bad tier saves nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from dinecard.coupons.models import CouponTemplate
from dinecard.menu.models import Dish
from dinecard.platform.container import Container
from dinecard.program import service as program_service
from dinecard.security.domain import Role
from dinecard.shared.money import Money
from tests.web.conftest import log_in, screenshot, staff_login


def test_hq_gives_the_500_tier_a_bonus_of_100(page: Any, container: Container) -> None:
    staff_login(container, Role.HQ_ADMIN, "hq.zhou")
    log_in(page, "hq.zhou")
    versions_before = len(program_service.list_versions(container.database))

    page.get_by_role("link", name="会员方案").click()
    row = page.locator("table.tiers tbody tr").filter(has=page.locator('input[name="amount"][value="500.00"]'))
    row.locator('input[name="bonus"]').fill("100")
    page.get_by_label("备注").fill("五百档加赠")
    page.get_by_role("button", name="保存为新版本").click()

    assert "已保存" in page.get_by_role("status").inner_text()
    tiers = {tier.amount: tier.bonus for tier in container.program.recharge.tiers}
    assert tiers[Money(50000)] == Money(10000)
    versions = program_service.list_versions(container.database)
    assert len(versions) == versions_before + 1 and versions[0].note == "五百档加赠"
    assert page.locator("table.versions").get_by_text("五百档加赠").is_visible()
    screenshot(page, "console-program")

    answer = page.request.get("/api/v1/program")  # the API, with the same login cookie, sees it too
    assert answer.ok
    document = answer.json()
    assert {"amount": "500.00", "bonus": "100.00", "points": 300} in document["program"]["recharge"]["tiers"]


def test_a_tier_of_nothing_shows_the_message_and_saves_nothing(page: Any, container: Container) -> None:
    staff_login(container, Role.HQ_ADMIN, "hq.wu")
    log_in(page, "hq.wu")
    page.goto("/console/program")
    versions_before = len(program_service.list_versions(container.database))
    tiers_before = container.program.recharge.tiers

    page.get_by_role("button", name="增加一档").click()
    assert page.locator("table.tiers tbody tr").count() == len(tiers_before) + 1
    page.locator('input[name="amount"]').last.fill("5000")
    page.locator('input[name="amount"]').first.fill("0")
    page.get_by_role("button", name="保存为新版本").click()

    assert "tier amounts must be positive" in page.get_by_role("alert").first.inner_text()
    assert page.locator("table.tiers tbody tr").count() == len(tiers_before) + 1
    assert page.locator('input[name="amount"]').first.input_value() == "0"  # the form is kept
    assert len(program_service.list_versions(container.database)) == versions_before
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
    assert "threshold must be at least the value" in page.get_by_role("alert").inner_text()
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
