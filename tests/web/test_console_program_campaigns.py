"""HQ sets up a recharge campaign in a form: a recharge at its store in its period gets the extra
bonus; a campaign that ends before it starts, a bad code, or two campaigns overlapping in time
and stores are refused next to their fields and save nothing."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from dinecard.platform.container import Container
from dinecard.security.domain import Role
from dinecard.shared.money import Money
from tests.web.conftest import screenshot, staff_login
from tests.web.test_console_program import a_member, a_store, api_post, message_by, open_program_part, version_count

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_hq_runs_a_spring_campaign_and_a_500_recharge_gets_50_more(page: Any, container: Container) -> None:
    store_id = a_store(container, "P001", "南京路店")
    other_store = a_store(container, "P002", "徐家汇店")
    member_id = a_member(container)
    staff_login(container, Role.HQ_ADMIN, "hq.campaigns")
    versions_before = version_count(container)
    open_program_part(page, "hq.campaigns", "充值活动")

    assert page.get_by_text("暂无充值活动").is_visible()
    page.get_by_role("button", name="增加活动").click()
    campaign = page.get_by_role("group", name="第 1 个活动")
    campaign.get_by_label("活动编码").fill("spring-2026")
    campaign.get_by_label("活动名称").fill("春季充值加赠")
    campaign.get_by_label("开始时间").fill("2026-03-01T00:00")
    campaign.get_by_label("结束时间（不含）").fill("2026-04-01T00:00")
    campaign.get_by_label("充值满（元）").fill("500")
    campaign.get_by_label("额外赠送（元）").fill("50")
    campaign.get_by_label("额外赠送积分").fill("88")
    campaign.get_by_label("赠送总预算（元）").fill("10000")
    campaign.get_by_label("P001 南京路店").check()
    page.get_by_label("备注").fill("春季活动")
    page.get_by_role("button", name="保存为新版本").click()

    assert page.get_by_role("status").inner_text().startswith("已保存")
    assert version_count(container) == versions_before + 1
    (saved,) = container.program.recharge.campaigns
    assert (saved.code, saved.name, saved.min_amount, saved.extra_bonus) == (
        "spring-2026",
        "春季充值加赠",
        Money(50000),
        Money(5000),
    )
    assert saved.starts_at == datetime(2026, 3, 1, tzinfo=SHANGHAI)  # the local time, in the chain's zone
    assert saved.ends_at == datetime(2026, 4, 1, tzinfo=SHANGHAI)
    assert (saved.budget, saved.per_member_limit, saved.stores) == (Money(1000000), None, frozenset({store_id}))
    assert container.program.recharge.tiers  # the tiers are kept
    saved_form = page.get_by_role("group", name="第 1 个活动 · 春季充值加赠")
    assert saved_form.get_by_label("开始时间").input_value() == "2026-03-01T00:00"
    assert saved_form.get_by_label("P001 南京路店").is_checked()
    screenshot(page, "console-campaigns")

    body = {"amount": "500", "payment_method": "wechat"}
    here = api_post(page, f"/members/{member_id}/recharges", body | {"store_id": store_id})
    assert (here["campaign_code"], here["bonus"], here["points_awarded"]) == ("spring-2026", "130.00", 300 + 88)
    elsewhere = api_post(page, f"/members/{member_id}/recharges", body | {"store_id": other_store})
    assert (elsewhere["campaign_code"], elsewhere["bonus"]) == (None, "80.00")  # not a store of the campaign


def test_a_campaign_ending_before_it_starts_is_refused(page: Any, container: Container) -> None:
    staff_login(container, Role.HQ_ADMIN, "hq.campaigns2")
    versions_before = version_count(container)
    open_program_part(page, "hq.campaigns2", "充值活动")

    page.get_by_role("button", name="增加活动").click()
    campaign = page.get_by_role("group", name="第 1 个活动")
    campaign.get_by_label("活动编码").fill("Spring 2026")
    campaign.get_by_label("活动名称").fill("春季")
    campaign.get_by_label("开始时间").fill("2026-03-01T00:00")
    campaign.get_by_label("结束时间（不含）").fill("2026-02-01T00:00")
    campaign.get_by_label("充值满（元）").fill("500.005")
    page.get_by_role("button", name="保存为新版本").click()

    assert message_by(page, "program.recharge.campaigns.0.code").inner_text() == (
        "只能使用小写字母、数字、下划线和连字符"
    )
    assert message_by(page, "program.recharge.campaigns.0.min_amount").inner_text().startswith("金额须为")
    campaign = page.get_by_role("group", name="第 1 个活动 · 春季")
    campaign.get_by_label("活动编码").fill("spring")
    campaign.get_by_label("充值满（元）").fill("500")
    page.get_by_role("button", name="保存为新版本").click()
    assert message_by(page, "program.recharge.campaigns.0").inner_text() == "结束时间必须晚于开始时间"
    assert page.get_by_role("group", name="第 1 个活动 · 春季").get_by_label("结束时间（不含）").input_value() == (
        "2026-02-01T00:00"  # the form is kept
    )

    page.get_by_role("group", name="第 1 个活动 · 春季").get_by_label("结束时间（不含）").fill("2026-04-01T00:00")
    page.get_by_role("button", name="增加活动").click()
    second = page.get_by_role("group", name="第 2 个活动")
    second.get_by_label("活动编码").fill("easter")
    second.get_by_label("活动名称").fill("复活节")
    second.get_by_label("开始时间").fill("2026-03-20T00:00")
    second.get_by_label("结束时间（不含）").fill("2026-04-10T00:00")
    second.get_by_label("充值满（元）").fill("1000")
    page.get_by_role("button", name="保存为新版本").click()
    assert message_by(page, "program.recharge.campaigns.1.starts_at").inner_text() == (
        "活动 spring 与 easter 的时间和门店有重叠：请错开时间或门店"
    )
    screenshot(page, "console-campaigns-refused")
    assert version_count(container) == versions_before
    container.programs.invalidate()
    assert container.program.recharge.campaigns == ()
