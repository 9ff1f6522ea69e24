"""HQ edits the member levels in a form: a lower silver threshold and a deeper discount take effect
at the next recharge and checkout; a threshold below the level under it, or a discount of 1.5,
is refused next to its field and saves nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from dinecard.platform.container import Container
from dinecard.security.domain import Role
from dinecard.shared.money import Money
from tests.web.conftest import screenshot, staff_login
from tests.web.test_console_program import a_member, a_store, api_post, message_by, open_program_part, version_count


def test_hq_lowers_the_silver_threshold_and_a_300_recharge_upgrades(page: Any, container: Container) -> None:
    store_id = a_store(container)
    member_id = a_member(container)
    staff_login(container, Role.HQ_ADMIN, "hq.levels")
    versions_before = version_count(container)
    open_program_part(page, "hq.levels", "会员等级")

    silver = page.get_by_role("group", name="第 2 级 · 银卡会员")
    assert silver.get_by_label("累计充值门槛（元）").input_value() == "500.00"
    silver.get_by_label("累计充值门槛（元）").fill("300")
    silver.get_by_label("折扣（应付比例）").fill("0.88")
    silver.get_by_label("积分购买价").fill("5000")
    silver.get_by_label("权益标识").fill("birthday_gift, priority_queue, free_parking")
    page.get_by_label("无消费几个月后降级").fill("6")
    page.get_by_label("备注").fill("银卡门槛降到 300")
    page.get_by_role("button", name="保存为新版本").click()

    assert page.get_by_role("status").inner_text().startswith("已保存")
    assert version_count(container) == versions_before + 1
    level = container.program.level("silver")
    assert (level.min_recharge, level.discount, level.points_price) == (Money(30000), Decimal("0.88"), 5000)
    assert level.benefits == ("birthday_gift", "priority_queue", "free_parking")
    assert container.program.level_policy.downgrade_after_months == 6
    assert container.program.level("gold").min_recharge == Money(100000)  # the other levels are kept
    assert page.get_by_role("group", name="第 2 级 · 银卡会员").get_by_label("折扣（应付比例）").input_value() == "0.88"
    screenshot(page, "console-levels")

    recharge = api_post(
        page, f"/members/{member_id}/recharges", {"amount": "300", "payment_method": "wechat", "store_id": store_id}
    )
    assert recharge["level"]["code"] == "silver"  # 300 reaches silver now (500 before)
    checkout = api_post(page, f"/members/{member_id}/checkouts", {"store_id": store_id, "bill_total": "100.00"})
    assert checkout["payable"] == "88.00"  # silver's new discount


def test_a_gold_threshold_below_silver_and_a_discount_of_1_5_are_refused(page: Any, container: Container) -> None:
    staff_login(container, Role.HQ_ADMIN, "hq.levels2")
    versions_before = version_count(container)
    levels_before = container.program.levels
    open_program_part(page, "hq.levels2", "会员等级")

    page.get_by_role("group", name="第 3 级 · 金卡会员").get_by_label("累计充值门槛（元）").fill("400")
    page.get_by_role("button", name="保存为新版本").click()

    gold_threshold = message_by(page, "program.levels.2.min_recharge")
    assert gold_threshold.inner_text() == "等级 gold 的累计充值门槛必须高于前一个等级"
    gold = page.get_by_role("group", name="第 3 级 · 金卡会员")
    assert gold.get_by_role("alert").inner_text() == gold_threshold.inner_text()  # next to the field, in its level
    assert gold.get_by_label("累计充值门槛（元）").input_value() == "400"  # the form is kept
    assert gold.get_by_label("累计充值门槛（元）").get_attribute("aria-invalid") == "true"

    gold.get_by_label("累计充值门槛（元）").fill("1000")
    page.get_by_role("group", name="第 2 级 · 银卡会员").get_by_label("折扣（应付比例）").fill("1.5")
    page.get_by_role("group", name="第 1 级 · 普通会员").get_by_label("积分购买价").fill("100")
    page.get_by_role("button", name="保存为新版本").click()

    assert message_by(page, "program.levels.1.discount").inner_text() == "不能大于 1"
    assert page.get_by_role("alert").first.inner_text().startswith("操作未完成")
    screenshot(page, "console-levels-refused")

    page.get_by_role("group", name="第 2 级 · 银卡会员").get_by_label("折扣（应付比例）").fill("0.95")
    page.get_by_role("button", name="保存为新版本").click()
    assert message_by(page, "program.levels.0.points_price").inner_text() == (
        "入门等级不能用积分购买：请在更高的等级设置所需积分"
    )
    assert version_count(container) == versions_before
    container.programs.invalidate()
    assert container.program.levels == levels_before
