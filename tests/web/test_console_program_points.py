"""HQ edits the points policy in a form: a higher earn rate earns more at the next checkout; a
redemption share of 1.5 or months in words are refused next to their fields and save nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from dinecard.platform.container import Container
from dinecard.program.domain import ExpiryPolicyKind
from dinecard.security.domain import Role
from tests.web.conftest import screenshot, staff_login
from tests.web.test_console_program import a_member, a_store, api_post, message_by, open_program_part, version_count


def test_hq_doubles_the_earn_rate_and_a_checkout_earns_double(page: Any, container: Container) -> None:
    store_id = a_store(container)
    member_id = a_member(container)
    staff_login(container, Role.HQ_ADMIN, "hq.points")
    versions_before = version_count(container)
    multipliers_before = container.program.points.multipliers
    open_program_part(page, "hq.points", "积分规则")

    assert page.get_by_label("每消费 1 元得积分").input_value() == "1"
    page.get_by_label("每消费 1 元得积分").fill("2")
    page.get_by_label("最多抵账单比例").fill("0.5")
    page.get_by_label("到期方式").select_option(label="获得后按月滚动到期")
    page.get_by_label("月数").fill("6")
    page.get_by_label("到期前几天提醒").fill("14，3")
    page.get_by_role("button", name="保存为新版本").click()

    assert page.get_by_role("status").inner_text().startswith("已保存")
    assert version_count(container) == versions_before + 1
    points = container.program.points
    assert (points.earn_per_yuan, points.redemption.max_share) == (Decimal(2), Decimal("0.5"))
    assert (points.expiry.policy, points.expiry.months, points.reminder_days) == (
        ExpiryPolicyKind.ROLLING_MONTHS,
        6,
        (14, 3),
    )
    assert points.multipliers == multipliers_before  # what the form does not show is kept
    assert page.get_by_label("每消费 1 元得积分").input_value() == "2"
    screenshot(page, "console-points")

    checkout = api_post(page, f"/members/{member_id}/checkouts", {"store_id": store_id, "bill_total": "100.00"})
    assert checkout["points_earned"] == 200  # 2 a yuan now (100 before)


def test_a_redemption_share_above_one_is_refused(page: Any, container: Container) -> None:
    staff_login(container, Role.HQ_ADMIN, "hq.points2")
    versions_before = version_count(container)
    points_before = container.program.points
    open_program_part(page, "hq.points2", "积分规则")

    page.get_by_label("最多抵账单比例").fill("1.5")
    page.get_by_label("月数").fill("十二")
    page.get_by_label("每消费 1 元得积分").fill("")
    page.get_by_role("button", name="保存为新版本").click()

    assert message_by(page, "program.points.redemption.max_share").inner_text() == "不能大于 1"
    assert message_by(page, "program.points.expiry.months").inner_text() == "请填写整数"
    assert message_by(page, "program.points.earn_per_yuan").inner_text() == "必填"  # never a silent default
    assert page.get_by_label("最多抵账单比例").input_value() == "1.5"  # the form is kept
    assert page.get_by_label("月数").get_attribute("aria-invalid") == "true"
    summary = page.locator("ul.field-errors").inner_text()
    assert "最多抵账单比例: 不能大于 1" in summary and "月数: 请填写整数" in summary
    assert version_count(container) == versions_before
    container.programs.invalidate()
    assert container.program.points == points_before


def test_a_form_sent_twice_saves_one_version(page: Any, container: Container) -> None:
    staff_login(container, Role.HQ_ADMIN, "hq.points3")
    versions_before = version_count(container)
    open_program_part(page, "hq.points3", "积分规则")
    page.get_by_label("每消费 1 元得积分").fill("3")
    form = page.evaluate("Object.fromEntries(new FormData(document.querySelector('form.program-form')))")

    first = page.request.post("/console/program/points", form=form | {"action": "save"}, max_redirects=0)
    again = page.request.post("/console/program/points", form=form | {"action": "save"}, max_redirects=0)

    assert first.status == again.status == 303
    assert (
        first.headers["location"] == again.headers["location"] == f"/console/program/points?saved={versions_before + 1}"
    )
    assert version_count(container) == versions_before + 1
    assert container.program.points.earn_per_yuan == Decimal(3)
